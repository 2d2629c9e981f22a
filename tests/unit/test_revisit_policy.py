"""The revisit policy in the sources file (durations, `always` / `never`, per-source fields over the settings
default, clear errors naming the entry) and the due-or-not decision it drives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsflow.config import ConfigError, RevisitPolicy, parse_duration, parse_sources
from newsflow.stages.job import Job
from newsflow.stages.revisit import is_due

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def sources(revisit_settings: str = "", **per_source: str) -> str:
    lines = ["settings:", f"  revisit: {revisit_settings}" if revisit_settings else "  max_tries: 1", "sources:"]
    for name, revisit in per_source.items():
        lines.append(f"  - {{name: {name}, kind: urls, urls: ['http://127.0.0.1:1/{name}'], revisit: {revisit}}}")
    lines.append("  - {name: plain, kind: urls, urls: ['http://127.0.0.1:1/plain']}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15m", timedelta(minutes=15)), ("2h", 2 * H), ("1d", 24 * H), ("1w", 7 * 24 * H), ("1h30m", 90 * 60 * 1.0),
     ("45s", 45.0), ("0", 0.0), (0, 0.0), (" 2H ", 2 * H)],
)
def test_durations(text, expected):
    expected = expected if isinstance(expected, timedelta) else timedelta(seconds=expected)
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["2", 2, "2x", "h", "-1h", "1.5h", "2h-", "", True, None, "forever"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_default_policy_is_24h_window_every_2h():
    config = parse_sources(sources())
    assert config.settings.revisit == RevisitPolicy(while_younger_than=24 * H, every=2 * H)
    assert config.source("plain").revisit == config.settings.revisit


def test_sources_take_the_settings_default_field_by_field():
    config = parse_sources(sources("{while_younger_than: 3d, every: 6h}", fast="{every: 30m}", frozen="never",
                                   eager="always", own="{while_younger_than: 12h, every: 1h}"))
    assert config.source("plain").revisit == RevisitPolicy(while_younger_than=72 * H, every=6 * H)
    assert config.source("fast").revisit == RevisitPolicy(while_younger_than=72 * H, every=H / 2)
    assert config.source("own").revisit == RevisitPolicy(while_younger_than=12 * H, every=H)
    assert config.source("frozen").revisit.while_younger_than == timedelta(0)
    assert config.source("eager").revisit == RevisitPolicy(while_younger_than=None, every=timedelta(0))


def test_the_policy_survives_the_trip_through_xcom(tmp_path):
    config = parse_sources(sources("{while_younger_than: 36h, every: 90m}", fast="{every: 15m}", eager="always"))
    for name in ("fast", "eager", "plain"):
        job = Job(run_id="r", source=config.source(name), settings=config.settings, known_sources=("fast",),
                  sources_file="s.yaml", staging=tmp_path, warehouse=str(tmp_path / "w.duckdb"))
        assert Job.from_xcom(job.to_xcom()).revisit == config.source(name).revisit


@pytest.mark.parametrize(
    ("revisit", "expected"),
    [
        ("sometimes", ["sources[0] (name 'bad')", "field 'revisit'", "'always', 'never'"]),
        ("{every: 2}", ["sources[0] (name 'bad')", "field 'revisit.every'", "not a duration"]),
        ("{while_younger_than: 1 day}", ["field 'revisit.while_younger_than'", "'1 day' is not a duration"]),
        ("{evry: 2h}", ["field 'revisit.evry'", "unknown key 'evry': did you mean 'every'?"]),
    ],
)
def test_bad_policies_name_the_entry_and_field(revisit, expected):
    with pytest.raises(ConfigError) as info:
        parse_sources(sources(bad=revisit), "sources.yaml")
    for part in expected:
        assert part in str(info.value), str(info.value)


def test_bad_settings_policy_names_settings():
    with pytest.raises(ConfigError, match=r"settings\.revisit\.every"):
        parse_sources(sources("{every: soon}"))


@pytest.mark.parametrize(
    ("policy", "age", "since_fetch", "due"),
    [
        (RevisitPolicy(), 1 * H, 3 * H, True),  # young and last fetched long enough ago
        (RevisitPolicy(), 1 * H, 1 * H, False),  # young but fetched within `every`
        (RevisitPolicy(), 1 * H, 2 * H, True),  # exactly `every` later
        (RevisitPolicy(), 25 * H, 20 * H, False),  # older than the window: never again
        (RevisitPolicy(), 24 * H, 20 * H, False),  # the window is open-ended at 24 h
        (RevisitPolicy(), -5 * H, 3 * H, True),  # a date in the future counts as just published
        (RevisitPolicy.model_validate("never"), 0 * H, 100 * H, False),
        (RevisitPolicy.model_validate("never"), -5 * H, 100 * H, False),
        (RevisitPolicy.model_validate("always"), 10_000 * H, timedelta(0), True),
        (RevisitPolicy(while_younger_than=None, every=24 * H), 10_000 * H, 25 * H, True),
    ],
)
def test_is_due(policy, age, since_fetch, due):
    assert is_due(policy, published_at=NOW - age, last_fetched=NOW - since_fetch, now=NOW) is due


def test_a_known_article_without_a_last_fetch_is_due():
    assert is_due(RevisitPolicy(), published_at=NOW - H, last_fetched=None, now=NOW)
