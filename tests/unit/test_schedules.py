"""Schedules in the sources file: each source's own or the file's default, checked when the file is read, and the
groups of sources that one scheduled DAG ingests together."""

from __future__ import annotations

import pytest

from newsflow.config import ConfigError, canonical_schedule, parse_sources, schedule_slug

FILE = """
settings:
  schedule: {default}
sources:
  - {{name: a, kind: feed, url: "http://x/a.xml"}}
  - {{name: b, kind: feed, url: "http://x/b.xml", schedule: "15m"}}
  - {{name: c, kind: feed, url: "http://x/c.xml", schedule: "@hourly"}}
  - {{name: d, kind: feed, url: "http://x/d.xml", schedule: null}}
  - {{name: e, kind: feed, url: "http://x/e.xml", schedule: "0 6 * * 1-5"}}
  - {{name: f, kind: feed, url: "http://x/f.xml", schedule: "1h"}}
"""


def test_sources_sharing_a_schedule_form_one_group():
    config = parse_sources(FILE.format(default='"60m"'))
    assert config.schedule_groups() == {"1h": ["a", "f"], "15m": ["b"], "@hourly": ["c"], "0 6 * * 1-5": ["e"]}
    assert config.schedule_of("d") is None  # an explicit null keeps a source manual


def test_without_a_default_unscheduled_sources_stay_manual():
    config = parse_sources(FILE.format(default="null"))
    assert config.schedule_groups() == {"15m": ["b"], "@hourly": ["c"], "0 6 * * 1-5": ["e"], "1h": ["f"]}


@pytest.mark.parametrize("bad", ["every day", "61 * * * *", "30s", "@often", "* * * *"])
def test_a_bad_schedule_names_the_entry(bad):
    text = f'sources:\n  - {{name: mysource, kind: feed, url: "http://x", schedule: "{bad}"}}\n'
    with pytest.raises(ConfigError) as error:
        parse_sources(text, "s.yaml")
    message = str(error.value)
    assert "s.yaml: sources[0] (name 'mysource'), field 'schedule'" in message
    assert bad in message


def test_a_bad_default_schedule_names_the_setting():
    with pytest.raises(ConfigError, match="field 'settings.schedule'"):
        parse_sources('settings: {schedule: "2x"}\nsources:\n  - {name: a, kind: feed, url: "http://x"}\n')


@pytest.mark.parametrize("schedule, canonical, slug", [
    ("@daily", "@daily", "daily"), ("90m", "90m", "every_90m"), ("120m", "2h", "every_2h"), ("1d", "1d", "every_1d"),
    ("*/5 *  * * *", "*/5 * * * *", "cron_x_5_x_x_x_x"), ("* * * * *", "* * * * *", "every_minute"),
])
def test_canonical_spelling_and_dag_id_part(schedule, canonical, slug):
    assert canonical_schedule(schedule) == canonical
    assert schedule_slug(schedule) == slug
