"""Sources files a fuzzing review found mishandled: schedules whose DAG ids collided, YAML merge keys refused, values
that raised a traceback instead of a ConfigError, and settings accepted that would break every fetch or be ignored."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from newsflow.config import ConfigError, parse_sources, schedule_slug, scheduled_dag_id, zoned_schedule

ROOT = Path(__file__).resolve().parents[2]
FEED = "{name: a, kind: feed, url: 'https://x.example/feed'}"


def with_settings(settings: str) -> str:
    return f"settings: {{{settings}}}\nsources:\n  - {FEED}\n"


def with_source(fields: str) -> str:
    return f"sources:\n  - {{name: a, {fields}}}\n"


def refused(text: str, *parts: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "sources.yaml")
    message = str(info.value)
    assert "sources.yaml" in message, message
    for part in parts:
        assert part in message, message
    return message


# -- 1. one DAG id per schedule --------------------------------------------------------------------------------------

TWO_WEEKDAY_SCHEDULES = """
sources:
  - {name: weekdays, kind: feed, url: "http://x/a.xml", schedule: "0 6 * * 1-5"}
  - {name: mon_fri, kind: feed, url: "http://x/b.xml", schedule: "0 6 * * 1,5"}
"""


def test_a_range_and_a_list_of_the_same_numbers_are_two_dags(tmp_path):
    """`1-5` and `1,5` both spelled news_ingest_cron_0_6_x_x_1_5; news_scheduled.py kept the last DAG and the
    other group was never scheduled."""
    from newsflow.ingest_dag import build_scheduled_dags

    path = tmp_path / "sources.yaml"
    path.write_text(TWO_WEEKDAY_SCHEDULES, encoding="utf-8")
    dags = build_scheduled_dags(str(path))
    assert len(dags) == 2
    assert sorted(dag.params["sources"] for dag in dags.values()) == [["mon_fri"], ["weekdays"]]
    assert "news_ingest_cron_0_6_x_x_1_5" in dags  # the range keeps the id it always had


@pytest.mark.parametrize(("schedule", "dag_id"), [
    ("0 6 * * 1-5", "news_ingest_cron_0_6_x_x_1_5"), ("*/5 * * * *", "news_ingest_cron_x_5_x_x_x_x"),
    ("0 6 * * *", "news_ingest_cron_0_6_x_x_x"), ("0 */2 * * *", "news_ingest_cron_0_x_2_x_x_x"),
    ("0 9-17 * * 1-5", "news_ingest_cron_0_9_17_x_x_1_5"), ("0 6 * * MON-FRI", "news_ingest_cron_0_6_x_x_MON_FRI"),
    ("* * * * *", "news_ingest_every_minute"), ("@hourly", "news_ingest_hourly"), ("90m", "news_ingest_every_90m"),
    ("CRON_TZ=Asia/Tokyo 0 6 * * 1-5", "news_ingest_cron_0_6_x_x_1_5_asia_tokyo"),
])
def test_deployed_dag_ids_do_not_change(schedule, dag_id):
    """Deployed services keep their run history under these ids."""
    assert scheduled_dag_id(schedule) == dag_id


def test_distinct_cron_expressions_never_share_a_dag_id():
    rng = random.Random(7)
    atoms = ["*", "0", "1", "5", "6", "15", "MON", "FRI", "JAN"]
    expressions = set()
    for _ in range(20000):
        fields = []
        for _ in range(5):
            field = rng.choice(atoms)
            for _ in range(rng.choice([0, 0, 1, 2])):
                field += rng.choice("-,/") + rng.choice(atoms)
            fields.append(field)
        expressions.add(" ".join(fields))
    ids: dict[str, str] = {}
    for expression in sorted(expressions):
        dag_id = scheduled_dag_id(expression)
        assert ids.setdefault(dag_id, expression) == expression, (dag_id, expression)
    zoned = [zoned_schedule(e, zone) for e in sorted(expressions)[:500] for zone in ("UTC", "Asia/Tokyo")]
    assert len({scheduled_dag_id(key) for key in zoned}) == len(zoned)


def test_a_long_cron_expression_still_makes_a_dag_id_airflow_takes():
    schedule = ",".join(str(m) for m in range(60)) + " " + ",".join(str(h) for h in range(24)) + " * * *"
    dag_id = scheduled_dag_id(zoned_schedule(schedule, "America/Argentina/ComodRivadavia"))
    assert len(dag_id) <= 250 and dag_id.startswith("news_ingest_cron_0_1_2_3")


def test_two_schedules_with_one_dag_id_are_refused_not_overwritten(tmp_path, monkeypatch):
    """Should ids ever collide again, building the DAGs fails with the file named instead of dropping a group."""
    from newsflow import config
    from newsflow.ingest_dag import build_scheduled_dags

    monkeypatch.setattr(config, "schedule_slug", lambda schedule: "same")
    refused(TWO_WEEKDAY_SCHEDULES, "'0 6 * * 1-5' and '0 6 * * 1,5' would be one DAG, news_ingest_same")
    path = tmp_path / "sources.yaml"
    path.write_text(TWO_WEEKDAY_SCHEDULES, encoding="utf-8")
    with pytest.raises(ConfigError, match="would be one DAG"):
        build_scheduled_dags(str(path))


# -- 2. YAML merge keys ----------------------------------------------------------------------------------------------

def test_merge_keys_share_fields_between_sources():
    """`<<: *anchor` was refused: "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'"."""
    import yaml

    text = ("sources:\n"
            "  - &arabic {name: a, kind: feed, url: 'https://x.example/a', language: ar, timezone: Asia/Beirut}\n"
            "  - {<<: *arabic, name: b, url: 'https://x.example/b'}\n"
            "  - &sitemap {name: c, kind: sitemap, url: 'https://x.example/s', max_articles: 7}\n"
            "  - {<<: [*arabic, *sitemap], name: d}\n")
    config = parse_sources(text)
    b = config.source("b")
    assert (b.kind, b.url, b.language, b.timezone) == ("feed", "https://x.example/b", "ar", "Asia/Beirut")
    d = config.source("d")
    assert d.model_dump(include={"kind", "url", "language", "max_articles"}) == {  # as PyYAML's own loader merges
        key: yaml.safe_load(text)["sources"][3].get(key) for key in ("kind", "url", "language", "max_articles")}


def test_a_key_written_twice_next_to_a_merge_is_still_refused():
    refused("sources:\n  - &a {name: a, kind: feed, url: 'https://x.example/a'}\n"
            "  - {<<: *a, name: b, name: c}\n", "the key 'name' is given twice", "line 3")


def test_a_merged_mapping_read_through_another_merge_first_is_no_duplicate():
    # PyYAML builds nested mappings level by level: the policy anchored three levels down is flattened through the
    # merge two levels down before it is built itself, its merged `every` mixed in with its own
    config = parse_sources("sources:\n"
                           "  - {name: a, kind: feed, url: 'https://x.example/a', "
                           "revisit: &policy {<<: {every: 1h}, every: 2h}}\n"
                           "settings:\n"
                           "  revisit: {<<: *policy}\n")
    assert config.source("a").revisit.every.total_seconds() == 7200


# -- 3. clear errors instead of tracebacks ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parts"), [
    # OverflowError from timedelta
    (with_source("kind: feed, url: 'https://x.example/f', revisit: {every: 99999999999w}"),
     ["sources[0] (name 'a')", "field 'revisit.every'", "longer than 3650d"]),
    # RecursionError from PyYAML's composer
    ("sources: " + "[" * 3000 + "]" * 3000 + "\n", ["nested too deeply"]),
    ("sources:\n  - {name: a, kind: urls, urls: " + "{a: " * 3000 + "1" + "}" * 3000 + "}\n", ["nested too deeply"]),
    # ValueError: Python reads at most 4,300 digits as an integer
    (with_settings("max_articles: " + "1" * 5000), ["a number of 5000 digits", "line 1"]),
    # hexadecimal and sexagesimal integers are not limited: 6,000 digits, unprintable in a log line or XCom
    (with_settings("max_articles: 0x" + "f" * 5000), ["field 'settings.max_articles'", "larger than any setting"]),
    (with_settings("max_bytes: " + ":".join(["59"] * 3000)), ["field 'settings.max_bytes'", "larger than any"]),
    (with_source("kind: feed, url: 'https://x.example/f', schedule: " + "9" * 5000 + "d"),
     ["field 'schedule'", "(5003 characters) is longer than 366d"]),
    # ValueError from datetime: YAML types the name as a date by its shape
    ("sources:\n  - {name: 2024-13-45, kind: feed, url: 'https://x.example/f'}\n",
     ["'2024-13-45' is no date", "line 2"]),
])
def test_values_that_raised_a_traceback_are_config_errors(text, parts):
    refused(text, *parts)


def test_merge_keys_that_copy_millions_of_keys_are_refused():
    """`<<: [*d, *d, ...]`: a 10,000-key mapping merged 500,000 times, a 2 MB file, took PyYAML minutes of CPU (in
    `check`, `ingest` and the DAG processor at every parse). Past a million copied keys the file is refused; here 2,000
    keys merged 600 times, which PyYAML read, and the run then failed on 2,000 unknown keys."""
    text = ("x: &d {" + ", ".join(f"k{i}: 1" for i in range(2_000)) + "}\n"
            "sources:\n  - {name: a, kind: feed, url: 'https://x.example/f', <<: [" + ", ".join(["*d"] * 600) + "]}\n")
    refused(text, "not valid YAML", "merge keys (<<) copy more than 1,000,000 keys", "line 3")


def test_the_cli_exits_2_with_one_line_for_a_file_nested_too_deeply(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("sources: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "newsflow.cli", "check", "--sources", str(path)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")})
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "deep.yaml: not valid YAML: nested too deeply" in result.stderr


# -- 4. durations within sane bounds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["999999999999d", "367d", "366d1s", "8784h1m"])
def test_a_schedule_longer_than_a_leap_year_is_refused(schedule):
    refused(with_source(f"kind: feed, url: 'https://x.example/f', schedule: {schedule}"),
            "field 'schedule'", "longer than 366d, the longest schedule")


@pytest.mark.parametrize("revisit", ["{while_younger_than: 3651d}", "{every: 522w}", "{while_younger_than: 88000h}"])
def test_a_revisit_duration_past_ten_years_is_refused(revisit):
    refused(with_source(f"kind: feed, url: 'https://x.example/f', revisit: {revisit}"),
            "field 'revisit.", "longer than 3650d (ten years)")


def test_the_longest_durations_are_taken(tmp_path):
    from newsflow.ingest_dag import build_scheduled_dags

    text = with_source("kind: feed, url: 'https://x.example/f', schedule: 366d, "
                       "revisit: {while_younger_than: 3650d, every: 521w}")
    assert parse_sources(text).source("a").revisit.while_younger_than.days == 3650
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    assert list(build_scheduled_dags(str(path))) == ["news_ingest_every_366d"]


@pytest.mark.parametrize("schedule", ["0 0 31 2 *", "0 0 30 2 *", "0 6 31 4,6,9,11 *"])
def test_a_cron_that_never_fires_is_refused(schedule):
    # valid cron syntax, but no date matches: the DAG would be listed with no next run, for ever
    refused(with_source(f"kind: feed, url: 'https://x.example/f', schedule: '{schedule}'"),
            "field 'schedule'", "never fires")


@pytest.mark.parametrize("schedule", ["0 0 29 2 *", "0 0 31 */2 *", "0 0 31 2,3 *"])
def test_a_cron_that_fires_rarely_is_taken(schedule):
    assert parse_sources(with_source(f"kind: feed, url: 'https://x.example/f', schedule: '{schedule}'")
                         ).source("a").schedule == schedule


@pytest.mark.parametrize(("zone", "hint"), [("posix/Asia/Tokyo", "'Asia/Tokyo'"), ("right/UTC", "'UTC'"),
                                            ("localtime", "'Asia/Beirut'"), ("Factory", "'Asia/Beirut'")])
@pytest.mark.parametrize("field", ["timezone", "schedule_timezone"])
def test_a_tz_folder_path_that_is_no_zone_name_is_refused(zone, hint, field):
    # posix/Asia/Tokyo is Asia/Tokyo under a second name (another DAG id for the same clock); right/UTC counts leap
    # seconds; localtime is whatever the machine says
    refused(with_settings(f"{field}: {zone}"), f"field 'settings.{field}'", "not a time zone name", hint)
    refused(with_source(f"kind: feed, url: 'https://x.example/f', {field}: {zone}"), f"field '{field}'",
            "not a time zone name")


# -- 5. settings no request could be made with -----------------------------------------------------------------------

@pytest.mark.parametrize(("user_agent", "why"), [
    ('"bot\\nX-Evil: 1"', "holds a control character"), ('"bot\\r"', "control character"),
    ('"bot\\tx"', "control character"), ('"bot\\x00"', "control character"), ('"bot\\x85"', "control character"),
    ('""', "is empty"), ('"   "', "is empty"),
])
def test_a_user_agent_no_header_can_carry_is_refused(user_agent, why):
    refused(with_settings(f"user_agent: {user_agent}"), "field 'settings.user_agent'", why)


@pytest.mark.parametrize("field", ["min_host_interval_s", "connect_timeout_s", "read_timeout_s", "total_timeout_s",
                                   "backoff_base_s", "backoff_max_s", "extract_time_limit_s"])
@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf"])
def test_float_settings_must_be_finite(field, value):
    refused(with_settings(f"{field}: {value}"), f"field 'settings.{field}'", "finite number")


@pytest.mark.parametrize("field", ["connect_timeout_s", "read_timeout_s", "total_timeout_s", "extract_time_limit_s"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_timeouts_must_be_positive(field, value):
    refused(with_settings(f"{field}: {value}"), f"field 'settings.{field}'", "greater than 0")


@pytest.mark.parametrize("field", ["min_host_interval_s", "connect_timeout_s", "read_timeout_s", "total_timeout_s",
                                   "backoff_base_s", "backoff_max_s", "extract_time_limit_s"])
@pytest.mark.parametrize("value", ["1e300", "3601", "86400"])
def test_a_wait_longer_than_an_hour_is_refused(field, value):
    # 1e300 s loaded and every request with it waited for ever: aiohttp takes any finite number
    refused(with_settings(f"{field}: {value}"), f"field 'settings.{field}'", "less than or equal to 3600")


def test_an_hour_is_the_longest_wait():
    settings = parse_sources(with_settings("min_host_interval_s: 3600, total_timeout_s: 3600, backoff_max_s: 3600, "
                                           "backoff_base_s: 3600.0")).settings
    assert (settings.min_host_interval_s, settings.total_timeout_s, settings.backoff_max_s) == (3600, 3600, 3600)


def test_a_sources_file_too_large_to_parse_at_every_dag_parse_is_refused_unread(tmp_path):
    from newsflow.config import MAX_SOURCES_FILE_BYTES, load_sources

    path = tmp_path / "sources.yaml"
    header = "sources:\n  - {name: big, kind: urls, urls: [\n"
    line = "    'https://news.example/2024/05/a-long-slug-for-one-of-many-stories',\n"
    count = MAX_SOURCES_FILE_BYTES // len(line) + 1
    path.write_text(header + line * count + "]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.yaml: over 8 MB, .*'urls_file'"):
        load_sources(path)
    path.write_text(header + line * (count // 40) + "]}\n", encoding="utf-8")  # ~200 KB: read as before
    assert len(load_sources(path).sources[0].urls) == count // 40


def test_a_plain_user_agent_and_timeouts_load():
    settings = parse_sources(with_settings("user_agent: 'bot/1 (+https://x.example; ops@x.example) é', "
                                           "connect_timeout_s: 2.5, read_timeout_s: 3, total_timeout_s: 1e2")).settings
    assert (settings.connect_timeout_s, settings.read_timeout_s, settings.total_timeout_s) == (2.5, 3.0, 100.0)


# -- 6. booleans are no numbers --------------------------------------------------------------------------------------

INT_SETTINGS = ["min_body_chars", "max_body_chars", "host_concurrency", "global_concurrency", "max_bytes",
                "max_redirects", "max_tries", "host_failure_limit", "extract_workers", "max_articles"]
FLOAT_SETTINGS = ["min_host_interval_s", "connect_timeout_s", "read_timeout_s", "total_timeout_s", "backoff_base_s",
                  "backoff_max_s", "extract_time_limit_s"]


def test_every_number_setting_is_covered():
    from newsflow.config import Settings

    numbers = {name for name, field in Settings.model_fields.items() if "int" in str(field.annotation)
               or "float" in str(field.annotation)}
    assert numbers == set(INT_SETTINGS) | set(FLOAT_SETTINGS)


@pytest.mark.parametrize("field", INT_SETTINGS + FLOAT_SETTINGS)
@pytest.mark.parametrize("value", ["yes", "no", "true", "off"])
def test_a_yes_or_no_is_no_number(field, value):
    refused(with_settings(f"{field}: {value}"), f"field 'settings.{field}'", "is not a number: YAML reads yes, no")


def test_a_sources_max_articles_is_no_yes_or_no():
    refused(with_source("kind: feed, url: 'https://x.example/f', max_articles: yes"),
            "sources[0] (name 'a'), field 'max_articles'", "is not a number: YAML reads yes, no")


def test_plain_yaml_integers_still_load():
    config = parse_sources("settings: {max_articles: 10, max_redirects: 0, host_concurrency: 1, max_bytes: 0x1000, "
                           "min_host_interval_s: 0}\n"
                           "sources:\n  - {name: a, kind: feed, url: 'https://x.example/f', max_articles: 3}\n")
    settings = config.settings
    assert (settings.max_articles, settings.max_redirects, settings.host_concurrency, settings.max_bytes) == \
        (10, 0, 1, 4096)
    assert config.source("a").max_articles == 3


# -- 7. urls_file: a path or an http(s) URL, and not next to urls ----------------------------------------------------

@pytest.mark.parametrize("urls_file", ["ftp://host/list.txt", "file:///x", "s3://bucket/list.txt", "c:/lists/a.txt"])
def test_a_urls_file_with_another_scheme_is_refused(urls_file):
    refused(with_source(f"kind: urls, urls_file: '{urls_file}'"), "field 'urls_file'",
            "neither a path nor an http:// or https:// URL")


def test_a_urls_file_url_without_a_host_is_refused():
    refused(with_source("kind: urls, urls_file: 'https:///list.txt'"), "field 'urls_file'", "with a host")


@pytest.mark.parametrize("urls_file", ["urls/picks.txt", "/srv/lists/picks.txt", "./a:b.txt",
                                       "https://x.example/list.txt", "HTTP://x.example/list.txt"])
def test_a_path_or_an_http_url_loads(urls_file):
    assert parse_sources(with_source(f"kind: urls, urls_file: '{urls_file}'")).source("a").urls_file == urls_file


@pytest.mark.parametrize("urls", ["['https://x.example/a']", "[]"])
def test_urls_and_urls_file_together_are_refused(urls):
    refused(with_source(f"kind: urls, urls: {urls}, urls_file: picks.txt"), "sources[0] (name 'a')",
            "give 'urls' or 'urls_file', not both")


# -- 8. settings that contradict each other or cannot apply ----------------------------------------------------------

def test_a_backoff_base_above_its_cap_is_refused():
    refused(with_settings("backoff_base_s: 100, backoff_max_s: 10"), "backoff_base_s is larger than backoff_max_s")
    assert parse_sources(with_settings("backoff_base_s: 10, backoff_max_s: 10")).settings.backoff_max_s == 10


def test_a_revisit_policy_on_a_warc_source_is_refused():
    refused(with_source("kind: warc, path: crawl.warc.gz, revisit: never"), "sources[0] (name 'a'), field 'revisit'",
            "reads its pages from the archive, never the network")


@pytest.mark.parametrize("path", ["''", "'   '"])
def test_a_warc_source_with_a_blank_path_is_refused(path):
    # it passed, and every run logged `failed: warc_not_found` for the project folder
    refused(with_source(f"kind: warc, path: {path}"), "sources[0] (name 'a'), field 'path'", "a warc source needs 'path'")


def test_a_warc_source_takes_the_files_policy_a_schedule_and_survives_xcom(tmp_path):
    """The file's default policy is filled in for a warc source too (it does nothing there), and the job carries it
    through XCom; a schedule reads the archive's glob again, new files included."""
    from newsflow.stages.job import Job

    config = parse_sources("settings: {revisit: always}\n"
                           "sources:\n  - {name: a, kind: warc, path: 'crawls/*.warc.gz', schedule: 1h}\n")
    assert config.schedule_groups() == {"1h": ["a"]}
    job = Job(run_id="r", source=config.source("a"), settings=config.settings, known_sources=("a",),
              sources_file="s.yaml", staging=tmp_path, warehouse=str(tmp_path / "w"))
    assert Job.from_xcom(job.to_xcom()).source == config.source("a")


@pytest.mark.parametrize("host", ["127.0.0.1:99999", "127.0.0.1:0", "[::1]:70000"])
def test_a_private_host_with_no_real_port_is_refused(host):
    refused(with_settings(f"allow_private_hosts: ['{host}']"), "field 'settings.allow_private_hosts'",
            f"'{host}' names no port: a port is 1 to 65535")


def test_private_hosts_on_real_ports_load():
    hosts = ["127.0.0.1:1", "[::1]:65535", "demo.local:8765"]
    assert parse_sources(with_settings(f"allow_private_hosts: {hosts}")).settings.allow_private_hosts == hosts


def test_schedule_slug_of_a_zone_is_unchanged():
    assert schedule_slug("CRON_TZ=Etc/GMT+3 @daily") == "daily_etc_gmt_plus_3"
