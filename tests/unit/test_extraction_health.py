"""Extraction health per source on a real DuckDB with hand-made articles and fetch_log rows: a steady source
passes, a template change (dates fall back to guesses, bodies collapse, pages rejected) is flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from newsflow.extraction_health import (
    check_date_sources,
    check_lengths,
    check_rejection_reasons,
    date_source_shares,
    extraction_health_checks,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""
        create table articles (article_id varchar, source varchar, title varchar, published_at timestamptz,
                               date_source varchar, body_chars integer, fetched_at timestamptz)""")
    con.execute("""
        create table fetch_log (run_id varchar, source varchar, url_kind varchar, seq integer, url varchar,
                                outcome varchar, reason varchar, fetched_at timestamptz, logged_at timestamptz)""")
    con.execute("create table rejected_articles (run_id varchar, source varchar, reasons varchar[])")
    yield con
    con.close()


def add_day(con, source: str, day: datetime, n: int, *, date_source="jsonld", body=3000, title="A headline of a "
            "usual length for this site", rejected: dict[str, int] | None = None, logged_at: datetime | None = None,
            ) -> None:
    """n loaded articles fetched on `day`, and rejected pages by reason; logged when fetched, or at `logged_at` (a
    WARC source: its pages were fetched at their WARC-Date, loaded when the run ran)."""
    for i in range(n):
        at = day + timedelta(minutes=i)
        con.execute("insert into articles values (?, ?, ?, ?, ?, ?, ?)",
                    [f"{source}-{day:%m%d}-{i}", source, title, at, date_source, body + i, at])
        con.execute("insert into fetch_log values (?, ?, 'article', ?, ?, 'loaded', null, ?, ?)",
                    [f"run-{day:%m%d}", source, i, f"https://{source}.example/{day:%m%d}/{i}", at, logged_at or at])
    for j, (reason, count) in enumerate((rejected or {}).items()):
        for k in range(count):
            at = day + timedelta(minutes=k)
            con.execute("insert into fetch_log values (?, ?, 'article', ?, ?, 'rejected', ?, ?, ?)",
                        [f"run-{day:%m%d}", source, 1000 + 100 * j + k, f"https://{source}.example/r/{j}/{k}",
                         reason, at, logged_at or at])


def history(con, source: str, **kwargs) -> None:
    """28 steady days before the current one."""
    for d in range(2, 30):
        add_day(con, source, NOW - timedelta(days=d), 5, **kwargs)


def by_check(rows: list[dict], source: str) -> dict[str, dict]:
    return {r["check_name"]: r for r in rows if r["source"] == source}


def test_a_steady_source_passes(con):
    history(con, "steady", rejected={"body_too_short": 1})
    add_day(con, "steady", NOW - timedelta(hours=6), 6, rejected={"body_too_short": 1})
    rows = by_check(extraction_health_checks(con, now=NOW), "steady")
    assert {r["status"] for r in rows.values()} == {"pass"}
    assert rows["extraction_date_sources"]["observed"] == 0.0
    assert 0.9 < rows["extraction_body_chars"]["observed"] < 1.1
    assert rows["extraction_rejection_body_too_short"]["observed"] == pytest.approx(1 / 7, abs=1e-3)


def test_a_template_change_is_flagged(con):
    history(con, "herald")
    # the site's new template: no JSON-LD any more, so dates come from htmldate; trafilatura finds the teaser only;
    # the headline is the site name; and half the pages fail on a missing date
    add_day(con, "herald", NOW - timedelta(hours=3), 8, date_source="htmldate", body=400, title="Herald",
            rejected={"missing_date;body_too_short": 8})
    rows = by_check(extraction_health_checks(con, now=NOW), "herald")
    assert rows["extraction_date_sources"]["status"] == "fail"
    assert rows["extraction_date_sources"]["observed"] == 1.0
    details = json.loads(rows["extraction_date_sources"]["details"])
    assert details["current"] == {"htmldate": 1.0} and details["baseline"] == {"jsonld": 1.0}
    assert rows["extraction_body_chars"]["status"] == "fail" and rows["extraction_body_chars"]["observed"] < 0.2
    assert rows["extraction_title_chars"]["status"] == "fail"
    assert rows["extraction_rejection_missing_date"]["status"] == "fail"
    assert rows["extraction_rejection_missing_date"]["observed"] == 0.5
    assert rows["extraction_rejection_body_too_short"]["status"] == "fail"


def test_a_drift_between_warn_and_fail_warns(con):
    history(con, "drift")
    add_day(con, "drift", NOW - timedelta(hours=3), 6, date_source="jsonld")
    add_day(con, "drift", NOW - timedelta(hours=2), 4, date_source="url", body=1500)
    rows = by_check(extraction_health_checks(con, now=NOW), "drift")
    assert rows["extraction_date_sources"]["status"] == "warn"  # 40 % of the dates moved to the URL
    assert rows["extraction_body_chars"]["status"] == "pass"  # the median is still a full body


def test_too_little_history_is_not_graded(con):
    add_day(con, "newcomer", NOW - timedelta(days=3), 3, date_source="jsonld")
    add_day(con, "newcomer", NOW - timedelta(hours=2), 6, date_source="url", body=200)
    rows = by_check([*check_date_sources(con, now=NOW), *check_lengths(con, now=NOW)], "newcomer")
    assert all(r["status"] == "pass" and r["observed"] is None for r in rows.values())
    assert "not enough" in json.loads(rows["extraction_date_sources"]["details"])["note"]


def test_a_new_source_that_rejects_most_pages_is_flagged(con):
    add_day(con, "fresh", NOW - timedelta(hours=2), 2, rejected={"navigation_page": 8})
    rows = by_check(check_rejection_reasons(con, now=NOW), "fresh")
    assert rows["extraction_rejection_navigation_page"]["status"] == "fail"


def test_rows_have_the_quality_checks_shape(con):
    history(con, "steady")
    add_day(con, "steady", NOW - timedelta(hours=6), 6)
    from newsflow.quality_checks import STATUSES

    for row in extraction_health_checks(con, now=NOW):
        assert set(row) == {"check_name", "source", "observed", "expected", "status", "details"}
        assert row["status"] in STATUSES and row["check_name"].startswith("extraction_")
    shares = date_source_shares(con, now=NOW)
    assert shares == [("steady", "jsonld", 28 * 5 + 6, 1.0)]


def test_the_dashboard_shows_the_mix_and_the_flag(con):
    from newsflow import report

    history(con, "herald")
    add_day(con, "herald", NOW - timedelta(hours=3), 8, date_source="htmldate", body=400)
    checks = [("run", NOW, r["check_name"], r["source"], r["observed"], r["expected"], r["status"], r["details"])
              for r in extraction_health_checks(con, now=NOW)]
    html = report._extraction_health({"date_sources": date_source_shares(con, now=NOW), "checks": checks})
    assert "jsonld 95% (140)" in html and "htmldate 5% (8)" in html
    assert "extraction_date_sources" in html and 'status-fail">fail' in html
    assert report._extraction_health({"date_sources": [], "checks": []}) == report.NO_DATA


@pytest.mark.parametrize("rejected", [1, 2])
def test_a_first_run_with_a_page_or_two_rejected_is_not_graded_by_reason(con, rejected):
    # the demo's first run: 1 of xinwen's 5 pages missing a date warned, 2 would have failed and been alerted
    add_day(con, "first", NOW - timedelta(hours=2), 5 - rejected, rejected={"missing_date": rejected})
    row = by_check(check_rejection_reasons(con, now=NOW), "first")["extraction_rejection_missing_date"]
    assert row["status"] == "pass" and json.loads(row["details"])["note"].startswith("too few rejections")


def test_a_page_a_reprocess_judges_again_is_one_page(con):
    # the demo's xinwen after two `newsflow reprocess` runs: its one page missing a date, judged again from the same
    # archived bytes by each, was counted 3 times (3 rejected of 7 judged: a failure and an alert for one page)
    add_day(con, "first", NOW - timedelta(hours=3), 4, rejected={"missing_date": 1})
    for run in ("reprocess-1", "reprocess-2"):
        # a reprocess keeps the page's fetch time (its archived response's)
        con.execute("insert into fetch_log select ?, source, url_kind, seq, url, outcome, reason, fetched_at, ? "
                    "from fetch_log where source = 'first' and outcome = 'rejected' and run_id like 'run-%'",
                    [run, NOW - timedelta(hours=1 if run.endswith("2") else 2)])
    row = by_check(check_rejection_reasons(con, now=NOW), "first")["extraction_rejection_missing_date"]
    details = json.loads(row["details"])
    assert (row["status"], details["rejected"], details["judged"]) == ("pass", 1, 5)
    assert details["note"].startswith("too few rejections")


def test_a_quality_run_dated_before_later_fetches_judges_its_own_day(con):
    # `newsflow ingest --quality --logical-date` (a backfill) dates its quality run then: the outlet's template broke
    # that day and was mended the next two, and the pages fetched since are no part of that day's last 24 hours
    history(con, "herald")
    add_day(con, "herald", NOW - timedelta(hours=3), 8, date_source="htmldate", body=400,
            rejected={"missing_date": 8})
    add_day(con, "herald", NOW + timedelta(days=1), 8)
    add_day(con, "herald", NOW + timedelta(days=2), 8)
    rows = by_check(extraction_health_checks(con, now=NOW), "herald")
    assert rows["extraction_date_sources"]["status"] == "fail"
    assert json.loads(rows["extraction_date_sources"]["details"])["current"] == {"htmldate": 1.0}
    assert rows["extraction_body_chars"]["status"] == "fail"
    assert rows["extraction_rejection_missing_date"]["observed"] == 0.5
    assert date_source_shares(con, now=NOW) == [("herald", "jsonld", 28 * 5, 0.946), ("herald", "htmldate", 8, 0.054)]


def test_a_backfill_judges_the_rejections_of_its_own_day(con):
    # `newsflow ingest --quality --logical-date` on a 2018 WARC crawl: the pages were fetched (WARC-Date) that day and
    # logged by a load years later. The articles of the day were graded and the pages rejected that day were not:
    # windowed on the load's clock, the backfill's quality run saw no judged page at all
    loaded = NOW + timedelta(days=3 * 365)
    history(con, "herald")
    for d in range(2, 30):
        con.execute("update fetch_log set logged_at = ? where run_id = ?", [loaded, f"run-{NOW - timedelta(days=d):%m%d}"])
    add_day(con, "herald", NOW - timedelta(hours=3), 8, date_source="htmldate", body=400,
            rejected={"missing_date": 8}, logged_at=loaded)
    rows = by_check(extraction_health_checks(con, now=NOW), "herald")
    assert rows["extraction_date_sources"]["status"] == "fail"
    row = rows["extraction_rejection_missing_date"]
    assert (row["status"], row["observed"]) == ("fail", 0.5)
    details = json.loads(row["details"])
    assert (details["rejected"], details["judged"], details["baseline_judged"]) == (8, 16, 28 * 5)


def test_a_live_run_does_not_judge_an_old_crawl_loaded_today_as_todays_rejections(con):
    # the same crawl, loaded just now, seen by the live quality run: its pages were fetched years ago, so they are no
    # part of the source's last day, as its articles are not
    add_day(con, "crawl_2018", NOW - timedelta(days=3 * 365), 4, rejected={"body_too_short": 4},
            logged_at=NOW - timedelta(hours=1))
    rows = by_check(extraction_health_checks(con, now=NOW), "crawl_2018")
    assert rows == {}


def test_a_page_reprocessed_after_its_day_is_judged_once_by_its_latest_verdict(con):
    # a page rejected yesterday and passed by a news_reprocess today (a new extractor, the same archived bytes): one
    # page, in yesterday's window, loaded, not a rejection in the baseline and a pass in the current window
    add_day(con, "first", NOW - timedelta(hours=30), 5, rejected={"missing_date": 3})
    con.execute("insert into fetch_log select 'reprocess', source, url_kind, seq, url, 'loaded', 'new', fetched_at, ? "
                "from fetch_log where source = 'first' and outcome = 'rejected'", [NOW - timedelta(hours=2)])
    rows = by_check(check_rejection_reasons(con, now=NOW), "first")
    assert rows == {}
    con.execute("insert into fetch_log select 'reprocess-2', source, url_kind, seq, url, 'rejected', 'missing_date', "
                "fetched_at, ? from fetch_log where run_id = 'reprocess'", [NOW - timedelta(hours=1)])
    row = by_check(check_rejection_reasons(con, now=NOW + timedelta(hours=24)), "first")[
        "extraction_rejection_missing_date"]
    details = json.loads(row["details"])
    assert (details["rejected"], details["judged"]) == (0, 0) and details["baseline_rate"] == round(3 / 8, 4)
