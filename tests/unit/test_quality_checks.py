"""Warehouse quality checks on small hand-made warehouses: each check, the silent-source alarm, the idempotent
write, and the Great Expectations validation with its Data Docs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow import quality_checks as qc
from newsflow.warehouse import connect, open_for_write
from tests.support.lakes import copy_of

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def add_article(con, i: int, source: str, published: datetime, *, title="Election results", language="en",
                body="Body text about the election results.", duplicate_of=None, date_disagreement=False,
                fetched: datetime | None = None, body_chars: int | None = None):
    con.execute(
        """insert into articles (article_id, url, canonical_url, source, title, published_at, published_date,
           date_disagreement, language, body, body_chars, body_hash, fetched_at, duplicate_of, first_run_id,
           last_run_id, changed_run_id, extractor_version, inserted_at, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'h', ?, ?, 'r1', 'r1', 'r1', 'test', ?, ?)""",
        [f"{source}-{i}", f"http://{source}.test/{i}", f"http://{source}.test/{i}", source, title, published,
         published.date(), date_disagreement, language, body, len(body) if body_chars is None else body_chars,
         fetched or published + timedelta(hours=1), duplicate_of, NOW, NOW],
    )


def add_fetch(con, run_id: str, source: str, outcomes: list[str], fetched: datetime, kind: str = "article"):
    start = con.execute("select count(*) from fetch_log where run_id = ? and source = ?", [run_id, source]).fetchall()
    for seq, outcome in enumerate(outcomes, start=start[0][0]):
        con.execute(
            "insert into fetch_log (run_id, source, url_kind, seq, url, outcome, fetched_at, logged_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, source, kind, seq, f"http://{source}.test/u{seq}", outcome, fetched, fetched],
        )


def add_run(con, run_id: str, loaded_at: datetime):
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status) values (?, 'news_ingest', ?, ?, "
                "'succeeded')", [run_id, loaded_at - timedelta(minutes=10), loaded_at])


def make_warehouse(path: Path, *, silent_days: int = 5, days: int = 40, per_day: int = 5) -> Path:
    """alpha publishes `per_day` articles every day; beta the same until it goes silent for `silent_days` days.
    One ingest run an hour ago fetched both (beta's site answered, with nothing new). Built once per test process
    for each set of arguments, then copied (tests/support/lakes.py)."""
    return copy_of(("make_warehouse", silent_days, days, per_day),
                   lambda made: build_warehouse(made, silent_days=silent_days, days=days, per_day=per_day), path)


def build_warehouse(path: Path, *, silent_days: int, days: int, per_day: int) -> Path:
    con = open_for_write(path)
    con.execute("begin transaction")  # one lake commit for the whole fixture
    for name in ("alpha", "beta"):
        con.execute("insert into sources values (?, 'feed', 'http://x', 'en', 'UTC', 'r1', 'r2', ?)", [name, NOW])
    i = 0
    for d in range(days, 0, -1):
        day = NOW - timedelta(days=d)
        for name in ("alpha", "beta"):
            if name == "beta" and d <= silent_days:
                continue
            for _ in range(per_day):
                i += 1
                add_article(con, i, name, day + timedelta(minutes=i % 50))
    add_run(con, "r2", NOW - timedelta(hours=1))
    add_fetch(con, "r2", "alpha", ["loaded"] * 8 + ["rejected", "failed"], NOW - timedelta(hours=1))
    add_fetch(con, "r2", "beta", ["unchanged"] * 4, NOW - timedelta(hours=1))
    add_fetch(con, "r2", "alpha", ["loaded"], NOW - timedelta(hours=1), kind="feed")
    con.execute("commit")
    con.close()
    return path


def by_key(rows):
    return {(r["check_name"], r["source"]): r for r in rows}


@pytest.fixture
def wh(tmp_path):
    return make_warehouse(tmp_path / "w")


@pytest.fixture
def con(wh):
    c = connect(wh)
    yield c
    c.close()


def test_migration_creates_quality_checks(con):
    cols = [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'quality_checks' "
                                      "and database_name = 'lake' order by column_index").fetchall()]
    assert cols == ["run_id", "checked_at", "check_name", "source", "observed", "expected", "status", "details"]
    # a lake has no CHECK constraint: write_checks is what refuses an unknown status
    with pytest.raises(ValueError, match="bad status"):
        qc.write_checks(con, "r", [{"check_name": "c", "source": "*", "observed": 1, "expected": "x",
                                    "status": "maybe", "details": None}])


def test_a_check_written_twice_in_one_run_is_refused_by_name(con):
    """Two rows for one check and source (a new check named as an existing one): the later replaced the earlier
    without a word, so a failing null_rate_title was stored as the other check's pass while the task log listed it
    failing. The run's rows are refused, naming the check, and nothing is written."""
    failing = {"check_name": "null_rate_title", "source": "alpha", "observed": 0.4, "expected": "<= 0.05 (fail > 0.2)",
               "status": "fail", "details": None}
    passing = {**failing, "observed": 0.0, "expected": "<= 0.05 (fail > 0.1)", "status": "pass"}
    other = {**failing, "source": "beta"}
    from newsflow.stages.failures import PermanentError

    with pytest.raises(PermanentError, match=r"null_rate_title\[alpha\] in one quality run"):
        qc.write_checks(con, "q1", [failing, other, passing], checked_at=NOW)
    assert con.execute("select count(*) from quality_checks where run_id = 'q1'").fetchone()[0] == 0
    # the built-in checks give each check and source one row
    rows = qc.sql_checks(con, now=NOW)
    assert qc.write_checks(con, "q2", rows, checked_at=NOW) == len(rows)


def test_duplicate_keys_are_a_failing_check(con):
    assert {r["details"] and json.loads(r["details"])["table"]: r["status"] for r in qc.check_unique_keys(con)} == {
        t: "pass" for t in ("articles", "sources", "runs", "rejected_articles", "fetch_log", "validation_results",
                            "http_cache", "article_aliases", "quality_checks", "alerts_sent", "schema_migrations",
                            "schema_objects")}
    add_article(con, 1, "alpha", NOW)  # alpha-1 exists: a second row with the same article_id
    rows = {json.loads(r["details"])["table"]: r for r in qc.check_unique_keys(con)}
    assert rows["articles"]["status"] == "fail" and rows["articles"]["observed"] == 1


def test_run_keyed_tables_are_checked_over_the_runs_written_lately(con):
    # fetch_log after weeks of a service: the check counts within the runs written in its last week, every row of
    # them; a rerun that left its first rows behind 30 days earlier is caught, a duplicate among runs only written
    # long ago is not counted again (it was when it was written); the full count still sees both
    from newsflow.warehouse import duplicate_keys

    def fetch_status():
        row = {json.loads(r["details"])["table"]: r for r in qc.check_unique_keys(con)}["fetch_log"]
        return row["status"], row["observed"]

    add_fetch(con, "old", "alpha", ["unchanged"] * 3, NOW - timedelta(days=40))
    add_fetch(con, "rerun", "alpha", ["unchanged"] * 3, NOW - timedelta(days=30))
    assert fetch_status() == ("pass", 0)
    con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, logged_at) "
                "values ('old', 'alpha', 'article', 0, 'http://alpha.test/again', 'unchanged', ?)",
                [NOW - timedelta(days=40)])
    assert fetch_status() == ("pass", 0) and duplicate_keys(con)["fetch_log"] == 1
    con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, logged_at) "
                "values ('rerun', 'alpha', 'article', 1, 'http://alpha.test/u1', 'loaded', ?)", [NOW])
    assert fetch_status() == ("fail", 1) and duplicate_keys(con)["fetch_log"] == 2
    expected = {r["check_name"]: r["expected"] for r in qc.check_unique_keys(con)}
    assert expected["duplicate_keys:fetch_log"].endswith("(runs written in the last 7 days)")
    assert expected["duplicate_keys:articles"] == "0 rows sharing a key in articles (article_id)"


def test_silent_source_is_flagged_by_freshness_and_volume(con):
    rows = by_key(qc.check_freshness(con, now=NOW) + qc.check_volume(con, now=NOW))
    beta_fresh = rows[("freshness_published_hours", "beta")]
    assert beta_fresh["status"] == "fail" and beta_fresh["observed"] == pytest.approx(24 * 6 - 0.03, abs=1)
    beta_volume = rows[("volume_latest_day", "beta")]
    assert beta_volume["status"] == "fail" and beta_volume["observed"] == 0
    details = json.loads(beta_volume["details"])
    assert details["median"] == 5 and details["day"] == str((NOW - timedelta(days=1)).date())
    # the site itself still answers: fetch freshness is fine, the silence is in what it publishes
    assert rows[("freshness_fetched_hours", "beta")]["status"] == "pass"
    for check in ("freshness_published_hours", "freshness_fetched_hours", "volume_latest_day"):
        assert rows[(check, "alpha")]["status"] == "pass", check


def test_a_short_silence_fails_volume_before_freshness(tmp_path):
    # two empty days: published freshness ~72h (warn), volume 0 vs median 5 (fail) - volume is the fast alarm
    con = connect(make_warehouse(tmp_path / "w", silent_days=2))
    rows = by_key(qc.check_freshness(con, now=NOW) + qc.check_volume(con, now=NOW))
    assert rows[("freshness_published_hours", "beta")]["status"] == "warn"
    assert rows[("volume_latest_day", "beta")]["status"] == "fail"


def test_volume_needs_history_and_ignores_the_day_in_progress(tmp_path):
    con = connect(make_warehouse(tmp_path / "w", silent_days=0, days=3))
    add_article(con, 999, "alpha", NOW - timedelta(hours=1))  # today: not a complete day, not judged
    rows = by_key(qc.check_volume(con, now=NOW))
    assert rows[("volume_latest_day", "alpha")]["status"] == "pass"
    assert json.loads(rows[("volume_latest_day", "alpha")]["details"])["note"] == "insufficient history"
    assert json.loads(rows[("volume_latest_day", "alpha")]["details"])["day"] == str((NOW - timedelta(days=1)).date())


def test_volume_spike_and_drop(tmp_path):
    con = connect(make_warehouse(tmp_path / "w", silent_days=0, days=30, per_day=10))
    yesterday = NOW - timedelta(days=1)
    con.execute("delete from articles where source = 'alpha' and published_date = ? and article_id not in "
                "(select article_id from articles where source = 'alpha' and published_date = ? order by 1 limit 2)",
                [yesterday.date(), yesterday.date()])
    for k in range(40):
        add_article(con, 5000 + k, "beta", yesterday)
    rows = by_key(qc.check_volume(con, now=NOW))
    assert rows[("volume_latest_day", "alpha")]["status"] == "fail"  # 2 vs median 10
    assert rows[("volume_latest_day", "beta")]["status"] == "warn"  # 50 vs median 10: a spike is suspicious


def test_a_quiet_source_gone_silent_is_flagged(tmp_path):
    """A source that publishes about one article a day and none on its latest day is at least a warning: its robust
    z is only -1 (the scale is at least 1), so the rule for a silent source with a median of 1 or more flags it."""
    con = connect(make_warehouse(tmp_path / "w", silent_days=1, days=30, per_day=1))
    rows = by_key(qc.check_volume(con, now=NOW))
    beta = rows[("volume_latest_day", "beta")]
    details = json.loads(beta["details"])
    assert (beta["status"], beta["observed"], details["median"], details["robust_z"]) == ("warn", 0, 1, -1)
    assert rows[("volume_latest_day", "alpha")]["status"] == "pass"


def test_stale_fetch_is_flagged(con):
    con.execute("update fetch_log set fetched_at = ? where source = 'beta'", [NOW - timedelta(days=4)])
    rows = by_key(qc.check_freshness(con, now=NOW))
    assert rows[("freshness_fetched_hours", "beta")]["status"] == "fail"
    assert rows[("freshness_fetched_hours", "beta")]["observed"] == pytest.approx(96)


def test_never_fetched_source_fails(con):
    con.execute("insert into sources values ('gamma', 'feed', 'http://g', 'en', 'UTC', null, null, ?)", [NOW])
    rows = by_key(qc.check_freshness(con, now=NOW))
    assert rows[("freshness_fetched_hours", "gamma")]["status"] == "fail"
    assert rows[("freshness_published_hours", "gamma")]["observed"] is None


def test_null_and_empty_rates(con):
    # blank is white space of any kind (a title of a line break and a tab, a no-break space), never a letter of any
    # script: "Т" and "ت" are titles
    blank = ["  ", "\n\t", "\u00a0"]
    for k in range(10):
        add_article(con, 9000 + k, "alpha", NOW - timedelta(days=2),
                    title=blank[k] if k < 3 else ["T", "Т", "ت", "题"][k % 4], language=None if k < 1 else "en")
    rows = by_key(qc.check_null_rates(con))
    alpha_n = con.execute("select count(*) from articles where source = 'alpha'").fetchall()[0][0]
    title = rows[("null_rate_title", "alpha")]
    assert title["observed"] == pytest.approx(3 / alpha_n, abs=1e-6)
    assert json.loads(title["details"])["missing"] == 3
    assert rows[("null_rate_language", "alpha")]["observed"] == pytest.approx(1 / alpha_n, abs=1e-6)
    assert rows[("null_rate_title", "beta")]["observed"] == 0
    assert rows[("null_rate_title", "*")]["status"] == "pass"
    # an empty body is a hard failure even when rare
    con.execute("update articles set body = '' where article_id in (select article_id from articles "
                "where source = 'alpha' limit 5)")
    assert by_key(qc.check_null_rates(con))[("null_rate_body", "alpha")]["status"] == "fail"


def test_duplicate_and_date_disagreement_rates(con):
    con.execute("update articles set duplicate_of = 'x' where source = 'alpha' and article_id in "
                "(select article_id from articles where source = 'alpha' order by 1 limit 120)")
    con.execute("update articles set date_disagreement = true where source = 'beta' and article_id in "
                "(select article_id from articles where source = 'beta' order by 1 limit 30)")
    dup = by_key(qc.check_duplicate_rate(con))
    assert dup[("duplicate_rate", "alpha")]["observed"] == pytest.approx(0.6) and dup[("duplicate_rate", "alpha")][
        "status"] == "fail"
    assert dup[("duplicate_rate", "beta")]["status"] == "pass"
    dis = by_key(qc.check_date_disagreement_rate(con))
    assert dis[("date_disagreement_rate", "beta")]["observed"] == pytest.approx(30 / 175, abs=1e-6)
    assert dis[("date_disagreement_rate", "beta")]["status"] == "warn"
    assert dis[("date_disagreement_rate", "alpha")]["status"] == "pass"


def test_rejection_and_fetch_failure_rates_use_each_sources_latest_run(con):
    # an older run full of failures must not count
    add_run(con, "r0", NOW - timedelta(days=3))
    add_fetch(con, "r0", "beta", ["failed"] * 20, NOW - timedelta(days=3))
    rows = by_key(qc.check_run_rates(con))
    assert rows[("rejection_rate", "alpha")]["observed"] == pytest.approx(1 / 9, abs=1e-6)
    assert rows[("fetch_failure_rate", "alpha")]["observed"] == pytest.approx(1 / 11, abs=1e-6)  # the feed counts too
    assert rows[("fetch_failure_rate", "beta")]["status"] == "pass"
    assert json.loads(rows[("rejection_rate", "alpha")]["details"])["ingest_run_id"] == "r2"
    add_run(con, "r3", NOW)
    add_fetch(con, "r3", "beta", ["failed"] * 3 + ["loaded"], NOW)
    rows = by_key(qc.check_run_rates(con))
    assert rows[("fetch_failure_rate", "beta")]["status"] == "fail"
    # alpha was not part of r3: its rates are still those of its own latest run (these runs list no sources, as
    # runs loaded before runs.sources was kept: their fetch_log says which sources they read)
    assert json.loads(rows[("fetch_failure_rate", "alpha")]["details"])["ingest_run_id"] == "r2"
    assert json.loads(rows[("fetch_failure_rate", "beta")]["details"])["ingest_run_id"] == "r3"


def test_sources_on_schedules_of_their_own_keep_their_rates_between_their_runs(tmp_path):
    """Two schedules: `hourly` loads alpha, `quarter` loads beta four times an hour. Each quality run follows a load;
    alpha's failing fetches stay judged (and alerted once) through beta's runs, not dropped and raised again."""
    from newsflow.alerts import quality_changes

    path = tmp_path / "lake"
    con = open_for_write(path)
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                "('hourly-1', 'news_ingest_hourly', ?, ?, 'loaded', ['alpha'])", [NOW, NOW])
    add_fetch(con, "hourly-1", "alpha", ["failed"] * 4 + ["loaded"], NOW)
    qc.write_checks(con, "q0", qc.check_run_rates(con), checked_at=NOW)
    for k in range(1, 4):
        at = NOW + timedelta(minutes=15 * k)
        con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                    "(?, 'news_ingest_quarter', ?, ?, 'loaded', ['beta'])", [f"quarter-{k}", at, at])
        add_fetch(con, f"quarter-{k}", "beta", ["loaded"] * 5, at)
        rows = by_key(qc.check_run_rates(con))
        assert rows[("fetch_failure_rate", "alpha")]["status"] == "fail"
        assert json.loads(rows[("fetch_failure_rate", "alpha")]["details"])["ingest_run_id"] == "hourly-1"
        assert json.loads(rows[("fetch_failure_rate", "beta")]["details"])["ingest_run_id"] == f"quarter-{k}"
        qc.write_checks(con, f"q{k}", list(rows.values()), checked_at=at)
        changes = quality_changes(con, f"q{k}")
        assert changes["cleared"] == [] and changes["raised"] == []  # beta's new rows pass; alpha's stay failing
    con.close()


def test_rates_count_the_urls_asked_for_not_those_listed_and_not_due(con):
    """A feed of 50 items: 48 known and not due (no request), two new pages, both failing. The fetch-failure rate is
    2 of the 3 requests (the feed's included), not 2 of 51 rows; one new page rejected of two fetched is half."""
    add_run(con, "r3", NOW)
    add_fetch(con, "r3", "beta", ["loaded"], NOW, kind="feed")
    add_fetch(con, "r3", "beta", ["unchanged"] * 48 + ["failed"] * 2, NOW)
    add_fetch(con, "r3", "gamma", ["unchanged"] * 48 + ["rejected", "loaded"], NOW)
    add_fetch(con, "r3", "delta", ["unchanged"] * 3 + ["skipped"], NOW)
    con.execute("update fetch_log set reason = 'not_due' where run_id = 'r3' and outcome = 'unchanged'")
    con.execute("update fetch_log set reason = 'not_modified' where run_id = 'r3' and source = 'delta' and seq = 0")
    rows = by_key(qc.check_run_rates(con))
    beta = rows[("fetch_failure_rate", "beta")]
    assert (beta["observed"], beta["status"], json.loads(beta["details"])["of"]) == \
        (pytest.approx(2 / 3, abs=1e-6), "fail", 3)
    gamma = rows[("rejection_rate", "gamma")]
    assert (gamma["observed"], gamma["status"]) == (0.5, "warn")
    # a 304 is a request answered; a source that asked for nothing has no rate to judge
    delta = rows[("fetch_failure_rate", "delta")]
    assert (delta["observed"], json.loads(delta["details"])["of"]) == (0, 1)
    con.execute("delete from fetch_log where source = 'delta' and seq = 0")
    assert ("fetch_failure_rate", "delta") not in by_key(qc.check_run_rates(con))


def test_a_source_behind_a_bot_wall_is_flagged(con):
    add_run(con, "r3", NOW)
    add_fetch(con, "r3", "beta", ["failed"] * 3 + ["loaded"] * 2, NOW)
    add_fetch(con, "r3", "gamma", ["loaded"] * 9 + ["failed"], NOW)
    con.execute("update fetch_log set reason = 'blocked:cloudflare' where run_id = 'r3' and outcome = 'failed'")
    con.execute("update fetch_log set reason = 'http_404' where run_id = 'r3' and source = 'beta' and seq = 0")
    rows = by_key(qc.check_run_rates(con))
    assert (rows[("blocked_rate", "beta")]["observed"], rows[("blocked_rate", "beta")]["status"]) == (0.4, "warn")
    assert rows[("blocked_rate", "gamma")]["status"] == "warn"
    add_fetch(con, "r3", "beta", ["failed"] * 2, NOW)
    con.execute("update fetch_log set reason = 'blocked:datadome' where run_id = 'r3' and reason is null "
                "and outcome = 'failed'")
    assert by_key(qc.check_run_rates(con))[("blocked_rate", "beta")]["status"] == "fail"  # 4 of 7


def test_a_feed_that_turned_over_since_its_last_run_is_flagged(con):
    """Every item new on a re-read: the feed listed more since the last run than it shows, and those are lost."""
    assert by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]["status"] == "pass"  # one run only
    add_fetch(con, "r3", "alpha", ["loaded"] * 6 + ["skipped"], NOW)
    con.execute("update fetch_log set reason = 'new' where run_id = 'r3' and outcome = 'loaded'")
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]
    assert (row["status"], row["observed"], json.loads(row["details"])["listed"]) == ("warn", 0, 6)
    add_fetch(con, "r4", "alpha", ["loaded"] * 5 + ["unchanged"], NOW + timedelta(hours=1))
    con.execute("update fetch_log set reason = 'new' where run_id = 'r4' and outcome = 'loaded'")
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]
    assert (row["status"], row["observed"], json.loads(row["details"])["ingest_run_id"]) == ("pass", 1, "r4")
    # a run whose fetches failed (the site down) tells nothing, nor does a listing of a few items; a source that is
    # no feed is not checked
    add_fetch(con, "r4b", "alpha", ["failed"] * 8, NOW + timedelta(hours=1, minutes=30))
    assert by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]["status"] == "pass"
    add_fetch(con, "r5", "beta", ["loaded"] * 3, NOW + timedelta(hours=2))
    con.execute("update fetch_log set reason = 'new' where run_id = 'r5'")
    assert by_key(qc.check_listing_turnover(con))[("listing_turnover", "beta")]["status"] == "pass"
    con.execute("update sources set kind = 'sitemap' where name = 'alpha'")
    assert ("listing_turnover", "alpha") not in by_key(qc.check_listing_turnover(con))


def test_pages_rejected_by_the_run_before_are_known_to_the_turnover(con):
    """A feed whose pages were all rejected one day (the outlet served a paywall shell) lists them again the next:
    fetched and judged by the run before, they were known, and the feed did not turn over. Counted as new, a second
    day of the shell and the day the pages passed again each warned "read it more often"."""
    add_fetch(con, "r3", "beta", ["rejected"] * 6, NOW)
    add_fetch(con, "r4", "beta", ["rejected"] * 12, NOW + timedelta(days=1))
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "beta")]
    assert (row["status"], row["observed"], json.loads(row["details"])["listed"]) == ("pass", 6, 12)
    add_fetch(con, "r5", "beta", ["loaded"] * 12, NOW + timedelta(days=2))
    con.execute("update fetch_log set reason = 'new' where run_id = 'r5'")
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "beta")]
    assert (row["status"], row["observed"], json.loads(row["details"])["ingest_run_id"]) == ("pass", 12, "r5")


def test_a_reprocess_judging_the_latest_runs_rejections_again_leaves_them_new_to_the_turnover(con):
    """A feed that turned over completely, its new pages all rejected (a template the extractor misreads), then a
    news_reprocess after an extractor upgrade that rejects them again: a run after the latest rejected them, not one
    before, so they were still new to that run. Counted as known, the reprocess silenced the warning."""
    add_fetch(con, "r3", "beta", ["loaded"] * 6, NOW)
    add_fetch(con, "r4", "beta", ["rejected"] * 6, NOW + timedelta(days=1))
    con.execute("update fetch_log set reason = 'new' where run_id = 'r3'")
    con.execute("update fetch_log set url = replace(url, '/u', '/fresh') where run_id = 'r4'")
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "beta")]
    assert (row["status"], row["observed"], json.loads(row["details"])["ingest_run_id"]) == ("warn", 0, "r4")
    add_fetch(con, "rp", "beta", ["rejected"] * 6, NOW + timedelta(days=1, hours=1))
    con.execute("update fetch_log set url = replace(url, '/u', '/fresh') where run_id = 'rp'")
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status) values "
                "('rp', 'news_reprocess', ?, ?, 'succeeded')", [NOW + timedelta(days=1), NOW + timedelta(days=1)])
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "beta")]
    assert (row["status"], row["observed"], json.loads(row["details"])["ingest_run_id"]) == ("warn", 0, "r4")


def test_write_checks_is_idempotent(con):
    rows = qc.sql_checks(con, now=NOW)
    assert qc.write_checks(con, "q1", rows, checked_at=NOW) == len(rows)
    assert qc.write_checks(con, "q1", rows, checked_at=NOW) == len(rows)
    assert con.execute("select count(*) from quality_checks").fetchall()[0][0] == len(rows)
    qc.write_checks(con, "q2", rows[:3], checked_at=NOW)
    assert con.execute("select count(*) from quality_checks").fetchall()[0][0] == len(rows) + 3
    with pytest.raises(ValueError):
        qc.write_checks(con, "q1", [{**rows[0], "status": "bad"}])
    assert con.execute("select count(*) from quality_checks where run_id = 'q1'").fetchall()[0][0] == len(rows)


def test_gx_validation_rows_and_data_docs(tmp_path):
    path = make_warehouse(tmp_path / "w", days=10)
    con = connect(path)
    add_article(con, 7001, "alpha", NOW + timedelta(days=30), language="english")  # future date, bad code
    add_article(con, 7002, "alpha", datetime(1980, 1, 1, tzinfo=UTC), body_chars=0)
    con.close()
    data = tmp_path / "data"
    summary = qc.run_quality_checks("q1", warehouse=path, data_dir=data, now=NOW)
    assert summary["fail"] >= 2 and "freshness_published_hours[beta]" in summary["failing"]
    con = connect(path, read_only=True)
    gx_rows = dict(con.execute("select check_name, status from quality_checks where check_name like 'gx:%'").fetchall())
    assert gx_rows["gx:expect_column_values_to_be_between(published_at)"] == "fail"
    assert gx_rows["gx:expect_column_values_to_match_regex(language)"] == "fail"
    assert gx_rows["gx:expect_column_values_to_be_between(body_chars)"] == "fail"
    assert gx_rows["gx:expect_column_values_to_be_unique(article_id)"] == "pass"
    con.close()
    index = qc.build_data_docs(data)
    assert index == data / "data_docs" / "index.html"
    assert qc.GX_SUITE in index.read_text(encoding="utf-8")
    assert list((data / "data_docs" / "validations").rglob("*.html"))
    # rerunning the same run id replaces its rows
    again = qc.run_quality_checks("q1", warehouse=path, data_dir=data, now=NOW)
    con = connect(path, read_only=True)
    assert con.execute("select count(*) from quality_checks").fetchall()[0][0] == again["rows"] == summary["rows"]


def test_an_expectation_that_cannot_run_says_why(tmp_path):
    """An expectation GX cannot compute (its column is not in the snapshot: one added to the warehouse suite on a
    column articles_snapshot does not read) fails with GX's reason in its details and no measured value. GX 1.x
    files the error under the metric that raised, and the row read `0 (expected 0 unexpected)` with no reason."""
    import pandas as pd

    frame = pd.DataFrame({"article_id": ["a", "b"], "published_at": pd.to_datetime(["2026-11-01"] * 2, utc=True),
                          "body_chars": [900, 700]})  # no language column
    rows = by_key(qc.gx_validate(frame, data_dir=tmp_path / "data", now=NOW, run_name="q1"))
    row = rows[("gx:expect_column_values_to_match_regex(language)", "*")]
    assert row["status"] == "fail" and row["observed"] is None, row
    assert "language" in (json.loads(row["details"])["exception"] or ""), row["details"]
    passed = rows[("gx:expect_column_values_to_be_unique(article_id)", "*")]
    assert passed["status"] == "pass" and json.loads(passed["details"])["exception"] is None


def test_data_docs_keep_the_newest_validations_only(tmp_path, monkeypatch):
    # an always-on service runs news_quality after every ingest: GX would store and render every validation ever
    # made, each build slower and the folder larger than the one before
    import pandas as pd

    monkeypatch.setattr(qc, "DATA_DOCS_VALIDATIONS", 3)
    data = tmp_path / "data"
    frame = pd.DataFrame({"article_id": ["a", "b"], "published_at": pd.to_datetime(["2026-11-01"] * 2, utc=True),
                          "language": ["ar", "zh"], "body_chars": [900, 700]})
    for n in range(1, 6):
        qc.gx_validate(frame, data_dir=data, now=NOW + timedelta(minutes=15 * n), run_name=f"quality_run_{n}")
        index = qc.build_data_docs(data)
    pages = sorted(p.relative_to(data / "data_docs" / "validations").parts[1]
                   for p in (data / "data_docs" / "validations").rglob("*.html"))
    assert pages == ["quality_run_3", "quality_run_4", "quality_run_5"]
    stored = sorted(p.parent.parent.name for p in (qc.gx_project_dir(data)).rglob("uncommitted/validations/**/*.json"))
    assert stored == ["quality_run_3", "quality_run_4", "quality_run_5"]
    text = index.read_text(encoding="utf-8")
    assert "quality_run_5" in text and "quality_run_2" not in text and "quality_run_1" not in text


def test_data_docs_tell_the_warehouses_of_one_data_dir_apart(tmp_path):
    # two lakes checked into one data dir's GX project: the index listed every validation as asset `articles`
    # (one batch id), no page named a lake, and the two of one quality run (one run name and time) were one stored
    # result, the second replacing the first
    data = tmp_path / "data"
    lakes = [make_warehouse(tmp_path / "main-lake", days=5), make_warehouse(tmp_path / "other-lake", days=5)]
    for lake in lakes:
        qc.run_quality_checks("q1", warehouse=lake, data_dir=data, now=NOW)
    index = qc.build_data_docs(data).read_text(encoding="utf-8")
    pages = sorted((data / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2, pages
    assert all(f"articles of {lake}" in index for lake in lakes)
    said = [[str(lake) for lake in lakes if f"articles of {lake}" in page.read_text(encoding="utf-8")] for page in pages]
    assert sorted(said) == [[str(lakes[0])], [str(lakes[1])]]
    # a rerun of the run replaces its results, one per warehouse still
    qc.run_quality_checks("q1", warehouse=lakes[0], data_dir=data, now=NOW)
    qc.build_data_docs(data)
    assert len(list((data / "data_docs" / "validations").rglob("*.html"))) == 2
    assert len(list(qc.gx_project_dir(data).rglob("uncommitted/validations/**/*.json"))) == 2


def test_a_catalog_password_is_not_shown():
    assert qc.shown_warehouse("/srv/lake") == "/srv/lake"
    assert qc.shown_warehouse("postgres:dbname=lake host=db password=s3cret user=nf") == \
        "postgres:dbname=lake host=db password=*** user=nf"
    assert qc.shown_warehouse("postgres:dbname=lake password='a b' host=db") == "postgres:dbname=lake password=*** host=db"
    assert qc.shown_warehouse("postgres:postgresql://nf:s3cret@db/lake") == "postgres:postgresql://nf:***@db/lake"


def test_empty_and_missing_warehouse(tmp_path):
    path = tmp_path / "new" / "w"  # does not exist yet: created and migrated
    summary = qc.run_quality_checks("q1", warehouse=path, data_dir=tmp_path / "data", now=NOW)
    assert summary["fail"] == 0 and summary["rows"] >= 1
    assert qc.build_data_docs(tmp_path / "data").exists()


def listed_runs(con, runs: list[tuple[str, datetime, list[str] | None]]) -> None:
    for run_id, loaded_at, sources in runs:
        con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) "
                    "values (?, 'news_ingest', ?, ?, 'succeeded', ?)", [run_id, loaded_at, loaded_at, sources])


@pytest.fixture
def retiring(tmp_path):
    """alpha and beta as in make_warehouse (beta silent for five days), and gamma, taken out of the sources file
    20 days ago: its last run listed it then, every run since lists alpha and beta only."""
    path = make_warehouse(tmp_path / "w")
    con = open_for_write(path)
    con.execute("insert into sources values ('gamma', 'feed', 'http://x', 'en', 'UTC', 'g0', 'g0', ?)", [NOW])
    for d in range(40, 20, -1):
        for k in range(5):
            add_article(con, 1000 + d * 10 + k, "gamma", NOW - timedelta(days=d, minutes=k))
    con.execute("update runs set sources = ['alpha', 'beta']")  # r2, an hour ago
    listed_runs(con, [("g0", NOW - timedelta(days=20), ["alpha", "beta", "gamma"]),
                      *[(f"d{d}", NOW - timedelta(days=d), ["alpha", "beta"]) for d in range(19, 0, -1)]])
    add_fetch(con, "g0", "gamma", ["failed"] * 3, NOW - timedelta(days=20))  # its last run went badly
    con.close()
    return path


def test_a_source_no_run_lists_any_more_is_retired_not_failed_for_ever(retiring):
    con = connect(retiring, read_only=True)
    assert qc.retired_sources(con) == {"gamma": NOW - timedelta(days=20)}
    rows = by_key(qc.sql_checks(con, now=NOW))
    con.close()
    retired = rows[("source_retired", "gamma")]
    assert retired["status"] == "pass" and json.loads(retired["details"])["last_listed"] == \
        (NOW - timedelta(days=20)).isoformat()
    # gamma's freshness (20 days) and its silent volume are not judged; beta, silent five days but still listed, is
    assert not [key for key in rows if key[1] == "gamma" and key[0] != "source_retired"
                and key[0].startswith(("freshness", "volume"))]
    # nor are the rates of its last run (g0's failed fetches), which no later run of it will ever replace
    assert not [key for key in rows if key[1] == "gamma"
                and key[0] in ("rejection_rate", "fetch_failure_rate", "blocked_rate", "listing_turnover")]
    assert ("fetch_failure_rate", "alpha") in rows and ("listing_turnover", "alpha") in rows
    assert rows[("freshness_published_hours", "beta")]["status"] == "fail"
    assert rows[("volume_latest_day", "beta")]["status"] == "fail"


def test_a_source_back_from_retirement_starts_its_volume_baseline_afresh(retiring):
    """gamma, five articles a day, was out of the sources file for three weeks (retired), then put back: its days
    out, which no run read, counted as silent days, so its baseline median was 0 and its usual five a day a "spike"
    (warn) at every quality run of its first two weeks back. A warehouse nobody loaded for as long retires no one,
    and keeps its baselines."""
    con = open_for_write(retiring)
    # back half an hour ago, its feed listing its last two days
    listed_runs(con, [("back", NOW - timedelta(minutes=30), ["alpha", "beta", "gamma"])])
    for d in (2, 1):
        for k in range(5):
            add_article(con, 2000 + d * 10 + k, "gamma", NOW - timedelta(days=d, minutes=k))
    row = by_key(qc.check_volume(con, now=NOW))[("volume_latest_day", "gamma")]
    details = json.loads(row["details"])
    assert (row["status"], row["observed"], details.get("note"), details.get("back_since")) == \
        ("pass", 5, "insufficient history", (NOW - timedelta(minutes=30)).date().isoformat()), row
    assert qc.returned_sources(con, NOW) == {"gamma": NOW - timedelta(minutes=30)}
    # a week and more back, judged on its days since
    for d in range(0, 9):
        at = NOW + timedelta(days=d)
        listed_runs(con, [(f"b{d}", at, ["alpha", "beta", "gamma"])])
        for k in range(5):
            add_article(con, 3000 + d * 10 + k, "gamma", at - timedelta(hours=1, minutes=k))
    row = by_key(qc.check_volume(con, now=NOW + timedelta(days=9)))[("volume_latest_day", "gamma")]
    details = json.loads(row["details"])
    assert (row["status"], details["median"], details.get("note")) == ("pass", 5, None), row
    assert details["history_days"] >= 7
    con.close()
    # alpha, listed by every run, never came back from anywhere: nor does a source of a warehouse idle for weeks
    con = open_for_write(retiring)
    listed_runs(con, [("idle", NOW + timedelta(days=30), ["alpha", "beta", "gamma"])])
    assert qc.returned_sources(con, NOW + timedelta(days=30)) == {"gamma": NOW - timedelta(minutes=30)}
    con.close()


def test_retirement_is_measured_from_the_latest_run_and_needs_every_run_to_list_its_sources(retiring):
    # a warehouse nobody loads any more: forty days on, gamma is still retired (measured from the latest run) and
    # alpha and beta are judged, and fail
    con = connect(retiring, read_only=True)
    rows = by_key(qc.sql_checks(con, now=NOW + timedelta(days=40)))
    con.close()
    assert ("source_retired", "gamma") in rows and ("source_retired", "alpha") not in rows
    assert rows[("freshness_fetched_hours", "alpha")]["status"] == "fail"
    # a run of the last two weeks that did not record its sources (written before runs.sources was kept): no one
    # can be told retired
    con = open_for_write(retiring)
    listed_runs(con, [("legacy", NOW - timedelta(days=3), None)])
    con.close()
    con = connect(retiring, read_only=True)
    assert qc.retired_sources(con) == {}
    assert ("freshness_published_hours", "gamma") in by_key(qc.sql_checks(con, now=NOW))
    con.close()


def test_a_reprocess_run_is_no_sources_latest_ingest_run(con):
    """A news_reprocess run records its sources and logs every archived article of them as known: taken for their
    latest run, the feed looked as if nothing had turned over, and the rates were those of the archive."""
    add_fetch(con, "r3", "alpha", ["loaded"] * 6, NOW)
    con.execute("update fetch_log set reason = 'new' where run_id = 'r3'")
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                "('r3', 'news_ingest', ?, ?, 'succeeded', ['alpha'])", [NOW, NOW])
    assert by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]["status"] == "warn"
    later = NOW + timedelta(hours=1)
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                "('rp', 'news_reprocess', ?, ?, 'succeeded', ['alpha'])", [later, later])
    add_fetch(con, "rp", "alpha", ["unchanged"] * 40 + ["rejected"] * 30, later)
    row = by_key(qc.check_listing_turnover(con))[("listing_turnover", "alpha")]
    assert (row["status"], json.loads(row["details"])["ingest_run_id"]) == ("warn", "r3")
    assert qc.latest_runs_by_source(con)["alpha"] == "r3"
    assert qc.latest_ingest_run(con) != "rp"
    rates = by_key(qc.check_run_rates(con))
    assert json.loads(rates[("rejection_rate", "alpha")]["details"])["ingest_run_id"] == "r3"
    assert rates[("rejection_rate", "alpha")]["status"] == "pass"


def test_a_run_that_judged_no_page_keeps_the_rate_of_the_run_that_did(tmp_path):
    """A quarter-hourly re-read that finds every page known and not due asks for no article page: the rejection
    rate had no denominator and vanished, so the alert said "recovered: no longer checked" and then "started
    failing" at the next new page, for a source that never stopped rejecting pages."""
    from newsflow.alerts import alert_changes, record_sent

    con = open_for_write(tmp_path / "lake")

    def run(run_id: str, at: datetime, outcomes: list[str]) -> None:
        con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                    "(?, 'news_ingest_every_15m', ?, ?, 'succeeded', ['alpha'])", [run_id, at, at])
        add_fetch(con, run_id, "alpha", ["loaded"], at, kind="feed")
        add_fetch(con, run_id, "alpha", outcomes, at)

    def quality(run_id: str, at: datetime) -> dict:
        rows = by_key(qc.check_run_rates(con))
        qc.write_checks(con, run_id, list(rows.values()), checked_at=at)
        changes = alert_changes(con, run_id)
        record_sent(con, run_id, changes, "fail", sent_at=at)
        return rows

    run("r1", NOW, ["loaded"] + ["rejected"] * 3 + ["loaded"])
    rows = quality("q1", NOW)
    assert rows[("rejection_rate", "alpha")]["status"] == "fail"
    for k in range(1, 4):  # re-reads: the feed, then every listed page known and not due
        at = NOW + timedelta(minutes=15 * k)
        run(f"quiet{k}", at, ["unchanged", "unchanged"])
        con.execute("update fetch_log set reason = 'not_due' where run_id = ? and outcome = 'unchanged'", [f"quiet{k}"])
        rows = quality(f"q{k + 1}", at)
        row = rows[("rejection_rate", "alpha")]
        assert (row["status"], json.loads(row["details"])["ingest_run_id"]) == ("fail", "r1"), row
        assert json.loads(row["details"])["latest_run_id"] == f"quiet{k}"
        assert rows[("fetch_failure_rate", "alpha")]["observed"] == 0  # the feed was asked for: judged now
    said = con.execute("select check_name, change from alerts_sent order by sent_at").fetchall()
    assert said == [("rejection_rate", "raised")]  # once: never "recovered" in between


def test_a_page_still_rejected_that_answers_304_is_not_a_page_that_passed(tmp_path):
    """A source whose every page is rejected: at its next run the pages answer 304 (`unchanged: not_modified`),
    still rejected and not stored. Counted as judged pages that passed, the rate fell from 3 of 3 to 0 of 3 and the
    alert said "recovered"; the site, which answered every request, was "never" fetched."""
    from newsflow.alerts import alert_changes, record_sent

    con = open_for_write(tmp_path / "lake")
    add_article(con, 1, "picks", NOW - timedelta(days=1))  # one page of the source that did pass, long ago

    def run(run_id: str, at: datetime, outcomes: list[str], reason: str | None = None) -> None:
        con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                    "(?, 'news_ingest', ?, ?, 'succeeded', ['picks'])", [run_id, at, at])
        add_fetch(con, run_id, "picks", outcomes, at)
        # the three rejected pages are picks-11..13, the stored one picks-1
        con.execute("update fetch_log set article_id = 'picks-' || (seq + 11)::varchar, reason = ? "
                    "where run_id = ?", [reason, run_id])

    def quality(run_id: str, at: datetime) -> dict:
        rows = by_key(qc.check_run_rates(con) + qc.check_freshness(con, now=at))
        qc.write_checks(con, run_id, list(rows.values()), checked_at=at)
        record_sent(con, run_id, alert_changes(con, run_id), "fail", sent_at=at)
        return rows

    run("r1", NOW, ["rejected"] * 3)
    rows = quality("q1", NOW)
    assert (rows[("rejection_rate", "picks")]["status"], rows[("rejection_rate", "picks")]["observed"]) == ("fail", 1)
    fetched = rows[("freshness_fetched_hours", "picks")]
    assert (fetched["status"], fetched["observed"]) == ("pass", 0), fetched  # answered, if with pages rejected
    at = NOW + timedelta(hours=1)
    run("r2", at, ["unchanged"] * 3, reason="not_modified")
    rows = quality("q2", at)
    row = rows[("rejection_rate", "picks")]
    assert (row["status"], json.loads(row["details"])["ingest_run_id"]) == ("fail", "r1"), row
    assert con.execute("select check_name, change from alerts_sent").fetchall() == [("rejection_rate", "raised")]
    # a stored article answering 304 is a page that passed
    at += timedelta(hours=1)
    run("r3", at, ["unchanged"] * 3 + ["rejected"], reason="not_modified")
    con.execute("update fetch_log set article_id = 'picks-1' where run_id = 'r3' and seq = 0")
    row = quality("q3", at)[("rejection_rate", "picks")]
    assert (row["observed"], json.loads(row["details"])["of"], json.loads(row["details"])["ingest_run_id"]) == \
        (0.5, 2, "r3"), row
    con.close()


def test_volume_judges_each_sources_own_complete_day(tmp_path):
    """At 00:30 UTC it is 16:30 of the day before in Los Angeles: judged as complete, a steady outlet's day with a
    third of it to come failed every evening (and was alerted, and cleared by morning)."""
    from zoneinfo import ZoneInfo

    now = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
    # la_src and unzoned publish on Los Angeles time; unzoned's sources file gives no zone (UTC, the default)
    zones = {"la_src": "America/Los_Angeles", "tokyo_src": "Asia/Tokyo", "unzoned": "UTC"}
    publishes_in = {**zones, "unzoned": "America/Los_Angeles"}
    con = open_for_write(tmp_path / "lake")
    con.execute("begin transaction")
    for source, zone in zones.items():
        con.execute("insert into sources (name, kind, locator, timezone, updated_at) values (?, 'feed', 'x', ?, ?)",
                    [source, zone, NOW])
    i, at = 0, now - timedelta(days=12)
    while at < now:  # one article every 30 minutes, dated on the publisher's clock
        for source in zones:
            i += 1
            add_article(con, i, source, at.astimezone(ZoneInfo(publishes_in[source])))
        at += timedelta(minutes=30)
    con.execute("commit")
    rows = by_key(qc.check_volume(con, now=now))
    judged = {source: (rows[("volume_latest_day", source)]["status"], rows[("volume_latest_day", source)]["observed"],
                       json.loads(rows[("volume_latest_day", source)]["details"])["day"]) for source in zones}
    assert judged == {"la_src": ("pass", 48, "2026-12-03"), "tokyo_src": ("pass", 48, "2026-12-04"),
                      "unzoned": ("pass", 48, "2026-12-03")}


def test_article_rates_judge_each_sources_recent_articles_not_its_whole_history(tmp_path):
    """Three days of a broken title extractor were 23 of 198 articles over 40 days: a warning, where every recent
    article had no title. Each source's articles stored in the RECENT_DAYS up to its newest are judged."""
    con = open_for_write(tmp_path / "lake")
    i = 0
    for d in range(40, 0, -1):
        for _ in range(5):
            i += 1
            broken = d <= 3
            add_article(con, i, "alpha", NOW - timedelta(days=d), title=None if broken else "Election results")
            con.execute("update articles set inserted_at = ? where article_id = ?",
                        [NOW - timedelta(days=d), f"alpha-{i}"])
    rows = by_key(qc.check_null_rates(con))
    row = rows[("null_rate_title", "alpha")]
    # the 7 days up to the newest (its first instant included): 40 articles, 15 of them without a title
    assert (row["status"], json.loads(row["details"])["missing"], json.loads(row["details"])["articles"]) == \
        ("fail", 15, 40)


def test_a_warehouse_named_with_markup_runs_no_script_in_data_docs(tmp_path):
    # the warehouse param of a manual run names the lake: GX's index hands the asset name to its table as markup
    # (bootstrap-table, unescaped), so `<img onerror=...>` in it ran in the Airflow UI's origin
    data = tmp_path / "data"
    lake = make_warehouse(tmp_path / "lake<img src=x onerror=alert(1)>", days=5)
    qc.run_quality_checks("q1", warehouse=lake, data_dir=data, now=NOW)
    index = qc.build_data_docs(data).read_text(encoding="utf-8")
    assert "<img src=x" not in index
    assert "lake%3Cimg src=x onerror=alert(1)%3E" in index
    assert qc.shown_warehouse("/srv/a&b's \"lake\"") == "/srv/a%26b%27s %22lake%22"


def test_a_retired_sources_last_articles_are_not_judged_for_ever(retiring):
    # gamma's extractor lost every title in its last week before it was taken out of the sources file: its articles
    # never change again, so a null rate judged on them failed (and its alert stood) for ever
    con = open_for_write(retiring)
    con.execute("update articles set title = null where source = 'gamma' and published_at >= ?",
                [NOW - timedelta(days=27)])
    con.close()
    con = connect(retiring, read_only=True)
    rows = by_key(qc.sql_checks(con, now=NOW))
    con.close()
    assert ("source_retired", "gamma") in rows
    assert not [key for key in rows if key[1] == "gamma" and key[0] != "source_retired"
                and not key[0].startswith("extraction_")]
    assert rows[("null_rate_title", "*")]["status"] == "pass"
    assert rows[("null_rate_title", "alpha")]["status"] == "pass"


def test_a_quality_run_dated_ahead_of_the_clock_judges_the_warehouse_as_of_now(tmp_path):
    """`newsflow ingest --logical-date <tomorrow in UTC> --quality` is accepted while that day is today at UTC+14
    (README), and the quality run is for that date: its checks were dated up to 14 hours ahead, aged a fetch of a
    minute ago by those hours, judged the day in progress as complete (volume_latest_day), and stayed the dashboard's
    latest quality run until the clock caught up. No check is measured later than it is made."""
    clock = datetime.now(UTC)
    today = clock.date()
    lake = tmp_path / "w"
    con = open_for_write(lake)
    con.execute("insert into sources values ('london', 'feed', 'http://x', 'en', 'Europe/London', 'r1', 'r1', ?)",
                [NOW])
    start = datetime.combine(today - timedelta(days=30), datetime.min.time(), UTC)
    for i in range(int((clock - start).total_seconds() // 3600)):  # one an hour, up to the last hour
        published = start + timedelta(hours=i)
        add_article(con, i, "london", published, fetched=min(published + timedelta(hours=1), clock))
    con.close()
    ahead = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)  # "--logical-date <tomorrow>"
    qc.run_quality_checks("q-ahead", warehouse=lake, data_dir=tmp_path / "data", now=ahead, gx=False)
    con = connect(lake, read_only=True)
    (checked_at,) = con.execute("select max(checked_at) from quality_checks").fetchone()
    (details,) = con.execute("select details from quality_checks where check_name = 'volume_latest_day'").fetchone()
    con.close()
    assert checked_at <= datetime.now(UTC)
    assert json.loads(details)["day"] < today.isoformat()  # today is not over, in London or in UTC
