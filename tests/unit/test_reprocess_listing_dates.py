"""news_reprocess judges the pages last rejected again from their archived response: what the listing said of a page
(the feed's pubDate, when the page states no date of its own) must count as it did when the page was fetched, or a
page that passes now is rejected `missing_date` instead of stored."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from newsflow.stages.account import check_accounting
from newsflow.stages.fetch_extract import extract_source
from newsflow.stages.load import load_run
from newsflow.stages.reprocess import plan_reprocess
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support import stage_run
from tests.support.rawserver import RawServer

# a brief with no date of its own anywhere (no meta, no <time>, none in its URL or text): only the feed dates it
BRIEF = (b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Ferry line delayed</title></head><body>"
         b"<article><h1>Ferry line delayed</h1><p>The harbour authority said the new ferry line would start in "
         b"spring, after a year of delays.</p></article></body></html>")


def http(body: bytes, content_type: str) -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


# the reprocess in a process of its own whose clock is Tokyo's: DuckDB's session zone is the machine's, and a listing
# date written out in it, labelled Z, was 9 hours late (the zone is read once per process: hence the child)
REPROCESS = """
import sys
from newsflow.stages.account import check_accounting
from newsflow.stages.fetch_extract import extract_source
from newsflow.stages.load import load_run
from newsflow.stages.reprocess import plan_reprocess
from newsflow.stages.validate import validate_source
jobs = [validate_source(extract_source(job)) for job in plan_reprocess(sys.argv[1], None, None, None, "rp")]
load_run(jobs, run_id="rp", dag_id="news_reprocess")
check_accounting(jobs, run_id="rp")
"""


@pytest.mark.parametrize("machine_zone", [None, "Asia/Tokyo"])
def test_a_reprocess_reads_a_rejected_page_with_the_date_its_feed_gave(tmp_path, data_env, machine_zone):
    with RawServer({}) as server:
        feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title><item>'
                f"<title>Ferry line delayed</title><link>{server.url('/brief')}</link>"
                "<pubDate>Tue, 20 Feb 2024 09:30:00 GMT</pubDate></item></channel></rss>").encode()
        server.responses.update({"/feed.xml": http(feed, "application/rss+xml"),
                                 "/brief": http(BRIEF, "text/html; charset=utf-8")})
        stage_run.run(tmp_path, server, "r1", f"  - {{name: harbour, kind: feed, url: '{server.url('/feed.xml')}'}}\n")
        con = connect(tmp_path / "data" / "warehouse", read_only=True)
        assert con.execute("select reasons, date_source from rejected_articles").fetchall() == [
            (["body_too_short"], "feed")]
        con.close()

    # the rule the page failed is relaxed; the server is gone: a reprocess reads the archive only
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources.read_text().replace("settings:\n", "settings:\n  min_body_chars: 20\n"))
    if machine_zone is None:
        jobs = [validate_source(extract_source(job)) for job in plan_reprocess(str(sources), None, None, None, "rp")]
        load_run(jobs, run_id="rp", dag_id="news_reprocess")
        check_accounting(jobs, run_id="rp")
    else:
        done = subprocess.run([sys.executable, "-c", REPROCESS, str(sources)], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "TZ": machine_zone}, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    con = connect(tmp_path / "data" / "warehouse", read_only=True)
    try:
        assert con.execute("select outcome, reason from fetch_log where run_id = 'rp'").fetchall() == [
            ("loaded", "new")]
        assert con.execute("select published_at, date_source from articles").fetchall() == [
            (datetime(2024, 2, 20, 9, 30, tzinfo=UTC), "feed")]
    finally:
        con.close()


def page(head: str, text: str) -> bytes:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body><article><p>{text}</p>"
            "</article></body></html>").encode()


# what the feed says beyond a date a page states: the time of a page that gives only its day, a date that
# disagrees with the page's, and a title where the page shows none
LISTED = {
    "/ferry": ("Tue, 20 Feb 2024 09:30:00 GMT", "Ferry line delayed again",
               page("<meta property='article:published_time' content='2024-02-20'>",
                    "The harbour authority said the new ferry line would start in spring, after a year of delays. " * 4)),
    "/fares": ("Sun, 25 Feb 2024 07:00:00 GMT", "Ferry fares to rise",
               page("<title>Ferry fares to rise</title>"
                    "<meta property='article:published_time' content='2024-02-20T08:00:00Z'>",
                    "Fares on every ferry route will rise by a tenth from April, the operator said on Tuesday. " * 4)),
}


def test_a_reprocess_by_a_new_extractor_weighs_what_the_feed_said_as_the_ingest_did(tmp_path, data_env):
    """An article that an extractor upgrade reads again (news_reprocess) is judged on its archived page and on what
    its feed said when it was fetched (migration 017 keeps it): before, the feed's time of a date-only page, its
    date that disagreed and its title were lost, and the reprocess stored another date, no disagreement and no
    title for the same bytes."""
    with RawServer({}) as server:
        items = "".join(f"<item><title>{title}</title><link>{server.url(path)}</link><pubDate>{date}</pubDate></item>"
                        for path, (date, title, _) in LISTED.items())
        server.responses.update({path: http(body, "text/html; charset=utf-8") for path, (_, _, body) in LISTED.items()})
        server.responses["/feed.xml"] = http(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'.encode(),
            "application/rss+xml")
        stage_run.run(tmp_path, server, "r1", f"  - {{name: harbour, kind: feed, url: '{server.url('/feed.xml')}'}}\n")
    query = ("select url, published_at, date_source, date_disagreement, title, listing_date, listing_title from articles "
             "order by url")
    con = connect(tmp_path / "data" / "warehouse")
    try:
        ingested = con.execute(query).fetchall()
        assert [row[1:5] for row in ingested] == [
            (datetime(2024, 2, 20, 8, 0, tzinfo=UTC), "meta", True, "Ferry fares to rise"),
            (datetime(2024, 2, 20, 9, 30, tzinfo=UTC), "meta", False, "Ferry line delayed again"),
        ]
        con.execute("update articles set extractor_version = 'newsflow-0.0.1'")  # stored by an older extractor
    finally:
        con.close()

    sources = str(tmp_path / "sources.yaml")
    jobs = [validate_source(extract_source(job)) for job in plan_reprocess(sources, None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="news_reprocess")
    check_accounting(jobs, run_id="rp")
    con = connect(tmp_path / "data" / "warehouse", read_only=True)
    try:
        assert con.execute("select reason, count(*) from fetch_log where run_id = 'rp' group by all").fetchall() == [
            ("reextracted", 2)]
        assert con.execute(query).fetchall() == ingested
    finally:
        con.close()


def test_a_reprocess_after_a_sources_timezone_changed_dates_its_articles_in_the_new_zone(tmp_path, data_env):
    """A page's time without an offset is read in its source's `timezone`. The owner mends a wrong zone and runs
    `newsflow reprocess`: the same bytes give the same text, and the load took the re-extraction for
    `unchanged: same_content`, so every published_at stayed where the old zone had put it while `sources` said
    the new one. A reprocess that changes nothing after that writes nothing."""
    story = page("<title>Ferry line delayed</title>"
                 "<meta property='article:published_time' content='2024-02-20T01:30:00'>",
                 "The harbour authority said the new ferry line would start in spring, after a year of delays. " * 4)
    with RawServer({}) as server:
        server.responses.update({"/story": http(story, "text/html; charset=utf-8")})
        stage_run.run(tmp_path, server, "r1",
                      f"  - {{name: harbour, kind: urls, urls: ['{server.url('/story')}'], timezone: Asia/Tokyo}}\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources.read_text().replace("timezone: Asia/Tokyo", "timezone: America/New_York"))

    def reprocess(run_id: str) -> list:
        jobs = [validate_source(extract_source(job)) for job in plan_reprocess(str(sources), None, None, None, run_id)]
        load_run(jobs, run_id=run_id, dag_id="news_reprocess")
        check_accounting(jobs, run_id=run_id)
        con = connect(tmp_path / "data" / "warehouse", read_only=True)
        try:
            return con.execute("select f.outcome, f.reason, a.published_at, a.published_date, a.date_source "
                               "from fetch_log as f, articles as a where f.run_id = ? and f.url_kind = 'article'",
                               [run_id]).fetchall()
        finally:
            con.close()

    # 01:30 in Tokyo was 16:30 UTC the day before; in New York it is 06:30 UTC, the page's own day still
    dated = (datetime(2024, 2, 20, 6, 30, tzinfo=UTC), date(2024, 2, 20), "meta")
    assert reprocess("rp1") == [("loaded", "reextracted", *dated)]
    assert reprocess("rp2") == [("unchanged", "same_content", *dated)]


# the plan alone, in a process of its own (the zone is read once per process): how many pages a reprocess of one day
# would re-judge
PLAN_DAY = """
import sys
from newsflow.stages.reprocess import plan_reprocess
print(sum(job.summary["discovered"] for job in plan_reprocess(sys.argv[1], None, sys.argv[2], sys.argv[2], "rp")))
"""


def test_an_undated_rejected_page_is_reprocessed_by_its_utc_fetch_day_whatever_the_machine_zone(tmp_path, data_env):
    # README: `--start`/`--end` are publication days, an undated rejected page's the day it was fetched. Fetched at
    # 20:00 UTC on 20 February, it is the 20th's on every machine: a Tokyo machine took the 21st (its own day)
    with RawServer({}) as server:
        server.responses.update({"/brief": http(BRIEF, "text/html; charset=utf-8")})
        stage_run.run(tmp_path, server, "r1", f"  - {{name: harbour, kind: urls, urls: ['{server.url('/brief')}']}}\n")
    con = connect(tmp_path / "data" / "warehouse")
    assert con.execute("select reasons, published_date from rejected_articles").fetchall() == [
        (["missing_date", "body_too_short"], None)]
    con.execute("update rejected_articles set fetched_at = ?", [datetime(2024, 2, 20, 20, tzinfo=UTC)])
    con.close()
    planned = {}
    for zone in ("UTC", "Asia/Tokyo"):
        for day in ("2024-02-20", "2024-02-21"):
            done = subprocess.run([sys.executable, "-c", PLAN_DAY, str(tmp_path / "sources.yaml"), day],
                                  capture_output=True, text=True, timeout=300, env={**os.environ, "TZ": zone},
                                  check=False)
            assert done.returncode == 0, done.stderr[-3000:]
            planned[zone, day] = int(done.stdout.split()[-1])
    assert planned == {("UTC", "2024-02-20"): 1, ("UTC", "2024-02-21"): 0,
                       ("Asia/Tokyo", "2024-02-20"): 1, ("Asia/Tokyo", "2024-02-21"): 0}
