"""Schedules in the sources file: each source's own or the file's default, checked when the file is read, and the
groups of sources that one scheduled DAG ingests together."""

from __future__ import annotations

import pytest

from newsflow.config import ConfigError, canonical_schedule, parse_sources, schedule_slug, scheduled_dag_id

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


@pytest.mark.parametrize("bad", ["every day", "61 * * * *", "30s", "59s", "@often", "* * * *"])
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
    # a preset's own cron expression is the preset: one DAG, not two firing at the same moment
    ("0 * * * *", "@hourly", "hourly"), ("0  0 * * *", "@daily", "daily"), ("0 0 1 */3 *", "@quarterly", "quarterly"),
    ("0 0 * * 1", "0 0 * * 1", "cron_0_0_x_x_1"),
])
def test_canonical_spelling_and_dag_id_part(schedule, canonical, slug):
    assert canonical_schedule(schedule) == canonical
    assert schedule_slug(schedule) == slug


ZONED = """
settings:
  schedule: "0 6 * * *"
  schedule_timezone: Europe/Paris
sources:
  - {name: paris, kind: feed, url: "http://x/p.xml"}
  - {name: tokyo, kind: feed, url: "http://x/t.xml", schedule: "0 6 * * 1-5", schedule_timezone: Asia/Tokyo}
  - {name: beirut, kind: feed, url: "http://x/b.xml", schedule: "@daily", schedule_timezone: Asia/Beirut}
  - {name: wire, kind: feed, url: "http://x/w.xml", schedule: "15m"}
  - {name: utc, kind: feed, url: "http://x/u.xml", schedule_timezone: UTC}
  - {name: paris2, kind: feed, url: "http://x/p2.xml", schedule: "0  6 * * *"}
"""


def test_cron_schedules_are_read_in_their_zone_and_durations_keep_none():
    config = parse_sources(ZONED)
    assert config.schedule_groups() == {
        "CRON_TZ=Europe/Paris 0 6 * * *": ["paris", "paris2"],
        "CRON_TZ=Asia/Tokyo 0 6 * * 1-5": ["tokyo"],
        "CRON_TZ=Asia/Beirut @daily": ["beirut"],
        "15m": ["wire"],  # every 15 minutes is the same in every zone
        "0 6 * * *": ["utc"],
    }
    assert [scheduled_dag_id(key) for key in config.schedule_groups()] == [
        "news_ingest_cron_0_6_x_x_x_europe_paris", "news_ingest_cron_0_6_x_x_1_5_asia_tokyo",
        "news_ingest_daily_asia_beirut", "news_ingest_every_15m", "news_ingest_cron_0_6_x_x_x"]
    assert schedule_slug("CRON_TZ=Etc/GMT+3 @daily") != schedule_slug("CRON_TZ=Etc/GMT-3 @daily")


@pytest.mark.parametrize("where, text", [
    ("settings.schedule_timezone", 'settings: {schedule_timezone: "Asia/Tokio"}\nsources:\n'
                                   '  - {name: a, kind: feed, url: "http://x"}\n'),
    ("sources[0] (name 'a'), field 'schedule_timezone'", 'sources:\n  - {name: a, kind: feed, url: "http://x", '
                                                         'schedule_timezone: "Europe"}\n'),
])
def test_an_unknown_schedule_zone_names_the_entry(where, text):
    with pytest.raises(ConfigError) as error:
        parse_sources(text, "s.yaml")
    assert where in str(error.value) and "unknown time zone" in str(error.value)


def next_run_after(dag, earliest: str) -> str:
    """When Airflow's scheduler would run the DAG next after `earliest`: the DAG as the scheduler reads it back
    from its serialized form, its timetable asked the scheduler's question."""
    import pendulum
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=TimeRestriction(
        earliest=pendulum.parse(earliest), latest=None, catchup=True))
    return info.run_after.in_timezone("UTC").isoformat()


def test_a_zoned_schedule_runs_at_the_newsrooms_clock_time_through_daylight_saving(tmp_path):
    # 06:00 in Paris is 05:00 UTC in winter and 04:00 UTC in summer; 06:00 on a Tokyo weekday is 21:00 UTC the
    # evening before, Sunday evening for Monday; midnight in Beirut is 22:00 UTC in winter
    from newsflow.ingest_dag import build_scheduled_dags

    sources = tmp_path / "sources.yaml"
    sources.write_text(ZONED, encoding="utf-8")
    dags = build_scheduled_dags(str(sources))
    paris = dags["news_ingest_cron_0_6_x_x_x_europe_paris"]
    assert paris.params["sources"] == ["paris", "paris2"]
    assert next_run_after(paris, "2027-01-12T10:00:00+00:00") == "2027-01-13T05:00:00+00:00"
    assert next_run_after(paris, "2027-07-12T10:00:00+00:00") == "2027-07-13T04:00:00+00:00"
    tokyo = dags["news_ingest_cron_0_6_x_x_1_5_asia_tokyo"]
    assert next_run_after(tokyo, "2027-01-15T22:00:00+00:00") == "2027-01-17T21:00:00+00:00"  # Fri 22:00 UTC
    assert next_run_after(dags["news_ingest_daily_asia_beirut"], "2027-01-12T10:00:00+00:00") == \
        "2027-01-12T22:00:00+00:00"
    assert next_run_after(dags["news_ingest_cron_0_6_x_x_x"], "2027-07-12T10:00:00+00:00") == \
        "2027-07-13T06:00:00+00:00"
    assert next_run_after(dags["news_ingest_every_15m"], "2027-07-12T10:07:00+00:00") == \
        "2027-07-12T10:07:00+00:00"  # a duration's first run is at once


def test_a_minute_is_the_shortest_schedule_and_a_schedule_of_one_is_taken():
    config = parse_sources('sources:\n  - {name: a, kind: feed, url: "http://x", schedule: "60s"}\n')
    assert config.schedule_of("a") == "60s"


def test_one_schedule_written_two_ways_is_one_dag():
    """`@hourly` beside `0 * * * *`, or a zone named `Etc/UTC` beside `UTC`, made two DAGs that fired at the same
    moment and ran two loads where one would do."""
    config = parse_sources(
        "settings: {schedule: '@hourly'}\nsources:\n"
        "  - {name: alhadath, kind: feed, url: 'https://alhadath.example/rss'}\n"
        "  - {name: novosti, kind: feed, url: 'https://novosti.example/rss', schedule: '0 * * * *'}\n"
        "  - {name: khabar, kind: feed, url: 'https://khabar.example/rss', schedule_timezone: Etc/UTC}\n"
        "  - {name: zulu, kind: feed, url: 'https://zulu.example/rss', schedule: '0 6 * * *', schedule_timezone: Zulu}\n"
        "  - {name: tokyo, kind: feed, url: 'https://tokyo.example/rss', schedule: '0 6 * * *',"
        " schedule_timezone: Asia/Tokyo}\n")
    assert config.schedule_groups() == {"@hourly": ["alhadath", "novosti", "khabar"], "0 6 * * *": ["zulu"],
                                        "CRON_TZ=Asia/Tokyo 0 6 * * *": ["tokyo"]}
