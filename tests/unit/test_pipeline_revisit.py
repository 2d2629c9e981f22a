"""Polite revisits through the real stages (loopback HTTP, real DuckDB): a known article that is not due costs no
request and is logged `unchanged: not_due`; a due one is fetched again conditionally; one older than the window
never is; failed and rejected URLs are retried; every URL is accounted for and reruns duplicate nothing."""

from __future__ import annotations

import pytest

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.revisit_site import RevisitSite

PATHS = ["/fresh/a", "/old/b", "/etag/c", "/short/d", "/flaky/e"]


def run(tmp_path, site, run_id: str, paths=PATHS, revisit: str | None = None,
        source: str | None = None) -> dict[str, tuple[str, str]]:
    """Every stage of one news_ingest run over one source (by default a `urls` source of `paths`); returns
    path -> (outcome, reason) of its article URLs."""
    sources = tmp_path / "sources.yaml"
    urls = ", ".join(f"'{site.url(p)}'" for p in paths)
    source = source or f"{{name: harbour, kind: urls, urls: [{urls}]}}"
    sources.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['127.0.0.1:{site.port}']\n"
        "  min_host_interval_s: 0\n  max_tries: 1\n  extract_workers: 1\n"
        + (f"  revisit: {revisit}\n" if revisit else "")
        + f"sources:\n  - {source}\n"
    )
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    check_accounting(jobs, run_id=run_id)
    rows = warehouse(tmp_path).execute(
        "select url, outcome, reason from fetch_log where run_id = ? and url_kind = 'article'", [run_id]).fetchall()
    prefix = site.url("")
    return {url.removeprefix(prefix): (outcome, reason) for url, outcome, reason in rows}


def warehouse(tmp_path):
    return connect(tmp_path / "data" / "warehouse", read_only=True)


def pass_time(tmp_path, hours: float) -> None:
    """As if `hours` went by since the last fetch of every stored article (the published dates stay): the fetch
    that stored it and those that confirmed it since (fetch_log)."""
    con = connect(tmp_path / "data" / "warehouse")
    for table in ("articles", "fetch_log"):
        con.execute(f"update {table} set fetched_at = fetched_at - interval {int(hours * 60)} minute")
    con.close()


def articles(tmp_path) -> list[tuple]:
    return warehouse(tmp_path).execute(
        "select url, body_hash, first_run_id, changed_run_id from articles order by url").fetchall()


@pytest.fixture
def site():
    with RevisitSite() as running:
        yield running


def test_a_second_run_fetches_nothing_that_is_not_due(tmp_path, data_env, site):
    first = run(tmp_path, site, "r1")
    assert first == {
        "/fresh/a": ("loaded", "new"), "/old/b": ("loaded", "new"), "/etag/c": ("loaded", "new"),
        "/short/d": ("rejected", "body_too_short"), "/flaky/e": ("failed", "http_500"),
    }
    stored = articles(tmp_path)
    last_fetches = warehouse(tmp_path).execute("select url, fetched_at, last_run_id from articles").fetchall()
    before = site.hits.copy()

    second = run(tmp_path, site, "r2")
    requested = site.hits - before
    # known articles are not requested at all; the rejected and the failed page are tried again
    assert set(requested) - {"/robots.txt"} == {"/short/d", "/flaky/e"}
    assert requested["/short/d"] == requested["/flaky/e"] == 1
    assert second == {
        "/fresh/a": ("unchanged", "not_due"), "/old/b": ("unchanged", "not_due"), "/etag/c": ("unchanged", "not_due"),
        "/short/d": ("unchanged", "same_content"), "/flaky/e": ("loaded", "new"),
    }
    # not-due articles are left exactly as they were, last fetch included
    assert [a for a in articles(tmp_path) if "/flaky/" not in a[0]] == stored
    con = warehouse(tmp_path)
    assert con.execute("select url, fetched_at, last_run_id from articles where url not like '%/flaky/%'"
                       ).fetchall() == last_fetches
    not_due = con.execute("select http_status, bytes, fetched_at from fetch_log where reason = 'not_due'").fetchall()
    assert not_due == [(None, None, None)] * 3  # no request: nothing to report about one
    assert con.execute("select unchanged, loaded from runs where run_id = 'r2'").fetchall() == [(4, 1)]
    assert con.execute("select status from runs where run_id = 'r2'").fetchall() == [("succeeded",)]


def test_a_due_article_is_fetched_again_conditionally_and_an_old_one_never(tmp_path, data_env, site):
    run(tmp_path, site, "r1", PATHS[:3])
    pass_time(tmp_path, 3)  # past `every` (2 h by default); /old/b is years past the 24 h window
    before = site.hits.copy()
    second = run(tmp_path, site, "r2", PATHS[:3])
    requested = site.hits - before
    assert requested["/fresh/a"] == requested["/etag/c"] == 1
    assert "/old/b" not in requested
    assert site.conditional["/etag/c"] == 1  # the ETag from the first fetch went along: a 304
    assert second == {
        "/fresh/a": ("unchanged", "same_content"), "/old/b": ("unchanged", "not_due"),
        "/etag/c": ("unchanged", "not_modified"),
    }
    # the 304 and the same-bytes answer count as the last fetch: right after, nothing is due again
    before = site.hits.copy()
    third = run(tmp_path, site, "r3", PATHS[:3])
    assert site.hits - before == {}
    assert set(third.values()) == {("unchanged", "not_due")}

    # with a 30-day window and a new edition of every page: the young articles are due and load again as
    # changed, the 2018 one is still never fetched
    pass_time(tmp_path, 3)
    site.edition = 2
    before = site.hits.copy()
    fourth = run(tmp_path, site, "r4", PATHS[:3], revisit="{while_younger_than: 30d, every: 2h}")
    assert "/old/b" not in site.hits - before
    assert fourth["/fresh/a"] == ("loaded", "changed")
    assert fourth["/etag/c"] == ("loaded", "changed")  # a new edition has a new ETag: 200, not 304
    assert fourth["/old/b"] == ("unchanged", "not_due")
    assert len(articles(tmp_path)) == 3


def test_policy_forms(tmp_path, data_env, site):
    run(tmp_path, site, "r1", PATHS[:3])
    before = site.hits.copy()
    always = run(tmp_path, site, "r2", PATHS[:3], revisit="always")
    assert {p: n for p, n in (site.hits - before).items() if p != "/robots.txt"} == {p: 1 for p in PATHS[:3]}
    assert always["/old/b"] == ("unchanged", "same_content")
    pass_time(tmp_path, 10_000)
    before = site.hits.copy()
    never = run(tmp_path, site, "r3", PATHS[:3], revisit="never")
    assert site.hits - before == {}
    assert set(never.values()) == {("unchanged", "not_due")}


def ledger_of(tmp_path, run_id: str) -> dict:
    con = warehouse(tmp_path)
    try:
        return {
            "runs": con.execute("select loaded, unchanged, rejected, failed from runs where run_id = ?",
                                [run_id]).fetchall(),
            "rejected": con.execute("select url, reasons from rejected_articles where run_id = ? order by url",
                                    [run_id]).fetchall(),
            "validation": con.execute("select count(*) from validation_results where run_id = ?",
                                      [run_id]).fetchone()[0],
        }
    finally:
        con.close()


def test_rerunning_a_run_repeats_its_requests_and_its_record(tmp_path, data_env, site):
    """A run cleared and run again (same run id, minutes later: Airflow's Clear) asks what its first execution
    asked, as it asked it, and ends with the same ledger: its own new articles are not taken for known ones that
    are not due, and the validators it stored are not sent, so its rejected page is not a 304 `unchanged` and its
    rejection and validation rows stay. Nothing is duplicated."""
    listed = [*PATHS, "/etag/c"]  # a link listed twice is fetched once; its second row is `skipped: duplicate`
    first = run(tmp_path, site, "r1", listed)
    stored, recorded = articles(tmp_path), ledger_of(tmp_path, "r1")
    assert recorded["rejected"] and recorded["validation"]
    before = site.hits.copy()
    again = run(tmp_path, site, "r1", listed)
    assert set(site.hits - before) - {"/robots.txt"} == set(PATHS)
    assert {p: again[p] for p in PATHS[:4]} == {p: first[p] for p in PATHS[:4]}
    assert first["/flaky/e"] == ("failed", "http_500") and again["/flaky/e"] == ("loaded", "new")  # it recovered
    assert [a for a in articles(tmp_path) if "/flaky/" not in a[0]] == stored
    repeated = ledger_of(tmp_path, "r1")
    assert repeated["rejected"] == recorded["rejected"] and repeated["validation"] >= recorded["validation"]
    assert repeated["runs"] == [(4, 0, 1, 0)] and recorded["runs"] == [(3, 0, 1, 1)]
    con = warehouse(tmp_path)
    assert con.execute("select count(*), count(distinct url) from fetch_log").fetchall() == [(6, 5)]
    assert con.execute("select count(*), count(distinct canonical_url) from articles").fetchall() == [(4, 4)]
    assert con.execute("select count(*) from runs").fetchall() == [(1,)]
    # a later run is a run of its own: the articles are known and not due, as ever
    later = run(tmp_path, site, "r2", PATHS)
    assert {p: later[p] for p in PATHS[:3]} == {p: ("unchanged", "not_due") for p in PATHS[:3]}


def test_rerunning_a_later_run_keeps_its_not_due_urls_unrequested(tmp_path, data_env, site):
    """A cleared run whose first execution found its known articles not due asks for none of them again: a
    `not_due` row is no request to repeat, and the rerun's ledger still says `unchanged: not_due`."""
    run(tmp_path, site, "r1", PATHS[:3])
    first = run(tmp_path, site, "r2", PATHS[:3])
    assert first == {p: ("unchanged", "not_due") for p in PATHS[:3]}
    before = site.hits.copy()
    again = run(tmp_path, site, "r2", PATHS[:3])
    assert (site.hits - before).keys() <= {"/robots.txt"}
    assert again == first
    con = warehouse(tmp_path)
    assert con.execute("select count(*) from fetch_log where run_id = 'r2'").fetchone()[0] == 3
    assert con.execute("select unchanged, loaded from runs where run_id = 'r2'").fetchall() == [(3, 0)]


def test_rerunning_a_run_repeats_the_requests_it_made_with_earlier_validators(tmp_path, data_env, site):
    """A run cleared and run again asks as its first execution asked: a page rejected by an earlier run that
    answered the same bytes (`unchanged: same_content`, its 200 compared with what that run stored) is asked with
    them again, not read and rejected anew, so the run's ledger, rejections and validation rows stay as they were."""
    run(tmp_path, site, "r1", PATHS[:4])
    first = run(tmp_path, site, "r2", PATHS[:4])
    assert first["/short/d"] == ("unchanged", "same_content")
    recorded = ledger_of(tmp_path, "r2")
    assert recorded["rejected"] == [] and recorded["runs"] == [(0, 4, 0, 0)]
    again = run(tmp_path, site, "r2", PATHS[:4])
    assert again == first
    assert ledger_of(tmp_path, "r2") == recorded


def test_a_url_stored_as_an_article_and_an_alias_of_another_is_known_as_its_own(tmp_path, data_env, site):
    """A URL that holds a stored article and later redirected to another page is both that article and an alias of
    the other: listed again, it is known as its own article (its id on the not_due row), not as the page it moved to."""
    from newsflow.urls import article_id, canonicalize

    run(tmp_path, site, "r1", ["/fresh/x"])
    site.moved["/fresh/x"] = "/fresh/y"  # the story moved: /fresh/y is stored and /fresh/x becomes its alias
    assert run(tmp_path, site, "r2", ["/fresh/x"], revisit="always") == {"/fresh/x": ("loaded", "new")}
    own, moved_to = (article_id(canonicalize(site.url(p))) for p in ("/fresh/x", "/fresh/y"))
    con = warehouse(tmp_path)
    assert con.execute("select alias_id, article_id from article_aliases").fetchall() == [(own, moved_to)]
    con.close()

    assert run(tmp_path, site, "r3", ["/fresh/x"]) == {"/fresh/x": ("unchanged", "not_due")}
    con = warehouse(tmp_path)
    assert con.execute("select article_id from fetch_log where run_id = 'r3'").fetchall() == [(own,)]


def test_a_feed_is_read_again_at_every_run_and_its_known_articles_are_not(tmp_path, data_env, site):
    feed = f"{{name: harbour, kind: feed, url: '{site.url('/feed.xml')}'}}"
    assert run(tmp_path, site, "r1", source=feed) == {"/fresh/a": ("loaded", "new"), "/old/b": ("loaded", "new")}
    before = site.hits.copy()
    second = run(tmp_path, site, "r2", source=feed)
    assert {p: n for p, n in (site.hits - before).items() if p != "/robots.txt"} == {"/feed.xml": 1}
    assert site.conditional["/feed.xml"] == 1  # with its ETag: a 304, and the entries read from the archive
    assert second == {"/fresh/a": ("unchanged", "not_due"), "/old/b": ("unchanged", "not_due")}
    listing = warehouse(tmp_path).execute(
        "select outcome, reason, http_status from fetch_log where run_id = 'r2' and url_kind = 'feed'").fetchall()
    assert listing == [("unchanged", "not_modified", 304)]


def test_child_sitemaps_are_asked_again_conditionally(tmp_path, data_env, site):
    """An index of monthly sitemaps mostly lists old, unchanged ones: each child was downloaded in full at every
    run (only the index carried its ETag)."""
    index = f"{{name: harbour, kind: sitemap, url: '{site.url('/sitemap-index.xml')}'}}"
    assert run(tmp_path, site, "r1", source=index) == {"/fresh/a": ("loaded", "new"), "/old/b": ("loaded", "new")}
    assert sum(site.conditional.values()) == 0
    second = run(tmp_path, site, "r2", source=index)
    assert second == {"/fresh/a": ("unchanged", "not_due"), "/old/b": ("unchanged", "not_due")}
    assert dict(site.conditional) == {"/sitemap-index.xml": 1, "/sitemap-2018.xml": 1, "/sitemap-now.xml": 1}
    listings = warehouse(tmp_path).execute(
        "select url, outcome, reason, http_status from fetch_log where run_id = 'r2' and url_kind = 'sitemap' "
        "order by seq").fetchall()
    assert [(url.removeprefix(site.url("")), *rest) for url, *rest in listings] == [
        ("/sitemap-index.xml", "unchanged", "not_modified", 304),
        ("/sitemap-2018.xml", "unchanged", "not_modified", 304),
        ("/sitemap-now.xml", "unchanged", "not_modified", 304),
    ]


def test_max_articles_counts_fetches_and_works_through_a_long_listing(tmp_path, data_env, site):
    """A listing longer than the cap is worked through over the next runs: known articles that are not due take no
    share of it, and every URL has its outcome in every run."""
    paths = [f"/fresh/story-{i}" for i in range(5)]
    urls = ", ".join(f"'{site.url(p)}'" for p in paths)
    source = f"{{name: harbour, kind: urls, max_articles: 2, urls: [{urls}]}}"
    first = run(tmp_path, site, "r1", paths=paths, source=source)
    assert first == {p: ("loaded", "new") for p in paths[:2]} | {p: ("skipped", "over_limit") for p in paths[2:]}
    second = run(tmp_path, site, "r2", paths=paths, source=source)
    assert second == ({p: ("unchanged", "not_due") for p in paths[:2]} | {p: ("loaded", "new") for p in paths[2:4]}
                      | {paths[4]: ("skipped", "over_limit")})
    third = run(tmp_path, site, "r3", paths=paths, source=source)
    assert third == {p: ("unchanged", "not_due") for p in paths[:4]} | {paths[4]: ("loaded", "new")}
    assert site.article_hits() == 5  # each page fetched once
    assert warehouse(tmp_path).execute("select count(*) from articles").fetchone()[0] == 5


@pytest.mark.parametrize("listed", ["/short/live-blog", "/go/short/live-blog"], ids=["page", "tracker_link"])
def test_under_the_cap_pages_asked_in_vain_go_after_the_others(tmp_path, data_env, site, listed):
    """A rejected page is asked again at every run; first in the listing, it took the only slot of `max_articles: 1`
    at every run and the stories after it were never fetched. Once two runs asked for it in vain it goes after
    the others, whose turn comes; when they are done, its turn comes again. A link that redirects (logged under
    the id of the page it landed on) is known by the URL as listed. A cleared and rerun execution of a run decides
    as its first did."""
    paths = [listed, "/fresh/story-0", "/fresh/story-1"]
    urls = ", ".join(f"'{site.url(p)}'" for p in paths)
    source = f"{{name: harbour, kind: urls, max_articles: 1, urls: [{urls}]}}"
    over = ("skipped", "over_limit")
    asked_again = {"rejected", "unchanged"}  # a page with the same text answers `unchanged: same_content`
    for run_id in ("r1", "r2"):
        done = run(tmp_path, site, run_id, paths=paths, source=source)
        assert done[listed][0] in asked_again and done[paths[1]] == done[paths[2]] == over, (run_id, done)
    third = {listed: over, paths[1]: ("loaded", "new"), paths[2]: over}
    assert run(tmp_path, site, "r3", paths=paths, source=source) == third
    assert run(tmp_path, site, "r3", paths=paths, source=source) == third  # the same run again
    assert run(tmp_path, site, "r4", paths=paths, source=source) == {
        listed: over, paths[1]: ("unchanged", "not_due"), paths[2]: ("loaded", "new")}
    # nothing new left: the rejected page's turn comes again
    fifth = run(tmp_path, site, "r5", paths=paths, source=source)
    assert fifth[listed][0] in asked_again, fifth
    assert warehouse(tmp_path).execute("select count(*) from articles").fetchone()[0] == 2


def test_under_the_cap_a_page_that_failed_once_is_asked_again_at_the_next_run(tmp_path, data_env, site):
    """Today's story after one 500 keeps its place at the head of the listing: one failure is not asking in vain."""
    paths = ["/flaky/today", "/fresh/story-0", "/fresh/story-1"]
    urls = ", ".join(f"'{site.url(p)}'" for p in paths)
    source = f"{{name: harbour, kind: urls, max_articles: 1, urls: [{urls}]}}"
    over = ("skipped", "over_limit")
    assert run(tmp_path, site, "r1", paths=paths, source=source) == {
        paths[0]: ("failed", "http_500"), paths[1]: over, paths[2]: over}
    assert run(tmp_path, site, "r2", paths=paths, source=source) == {
        paths[0]: ("loaded", "new"), paths[1]: over, paths[2]: over}


def test_a_url_that_answered_404_or_410_waits_the_revisit_interval_and_a_server_error_does_not(tmp_path, data_env, site):
    """A dead link a feed keeps listing was asked at every run: a request to the publisher each time, and a quiet
    run's fetch-failure rate of 1 in 2. A URL whose latest answer was 404 or 410 waits the revisit policy's `every`
    (`skipped: retry_not_due`, no request; a rerun of the run decides alike), then is asked again; a 503 may pass
    and is asked at the next run. A waiting URL is no request, so it is not counted as asked in vain."""
    paths = ["/fresh/a", "/fresh/dead", "/fresh/gone", "/fresh/down"]
    site.gone.update({"/fresh/dead": 404, "/fresh/gone": 410, "/fresh/down": 503})
    first = run(tmp_path, site, "r1", paths=paths)
    assert {p: first[p] for p in paths[1:]} == {
        "/fresh/dead": ("failed", "http_404"), "/fresh/gone": ("failed", "http_410"), "/fresh/down": ("failed", "http_503")}
    waiting = ("skipped", "retry_not_due")
    second = {"/fresh/a": ("unchanged", "not_due"), "/fresh/dead": waiting, "/fresh/gone": waiting,
              "/fresh/down": ("failed", "http_503")}
    assert run(tmp_path, site, "r2", paths=paths) == second
    assert run(tmp_path, site, "r2", paths=paths) == second  # the same run again
    assert site.hits["/fresh/dead"] == site.hits["/fresh/gone"] == 1 and site.hits["/fresh/down"] >= 3
    pass_time(tmp_path, hours=3)  # past the default policy's `every` (2 h)
    del site.gone["/fresh/gone"]  # back
    third = run(tmp_path, site, "r3", paths=paths)
    assert third["/fresh/dead"] == ("failed", "http_404") and third["/fresh/gone"] == ("loaded", "new"), third
    assert site.hits["/fresh/dead"] == site.hits["/fresh/gone"] == 2


def test_over_the_cap_the_newest_listed_go_first(tmp_path, data_env):
    from newsflow import staging
    from newsflow.stages.fetch_extract import cap_articles

    sources = tmp_path / "sources.yaml"
    sources.write_text("settings:\n  max_articles: 3\nsources:\n  - {name: wire, kind: urls, urls: ['https://e.example/']}\n")
    [job] = plan_run(str(sources), None, "cap")
    dates = ["2024-03-01T08:00:00Z", None, "2024-03-03T08:00:00+02:00", "2024-03-02T08:00:00Z", None,
             "not a date", "2024-03-03T07:00:00Z"]
    rows = [staging.ledger_row(i, "article", f"https://e.example/{i}", hint_date=d) for i, d in enumerate(dates)]
    rows.append(staging.ledger_row(len(dates), "article", "https://e.example/dup", hint_date="2030-01-01T00:00:00Z"))
    rows[-1].update(outcome="skipped", reason="duplicate")  # an outcome already given is kept, and takes no share
    cap_articles(job, rows)
    fetched = [r["seq"] for r in rows if r["outcome"] is None]
    # 06:00Z (+02:00) on the 3rd, 07:00Z on the 3rd, then the 2nd; the undated and unreadable ones wait
    assert fetched == [2, 3, 6]
    assert {r["seq"]: r["reason"] for r in rows if r["outcome"] == "skipped"} == {
        0: "over_limit", 1: "over_limit", 4: "over_limit", 5: "over_limit", 7: "duplicate"}


def test_over_the_cap_an_rss_feeds_dates_decide_too(tmp_path, data_env):
    """RSS dates its items in RFC 822: read as ISO only, every item was undated, and an oldest-first feed's oldest
    items were fetched while its newest waited as over_limit."""
    from newsflow import staging
    from newsflow.stages.fetch_extract import cap_articles

    sources = tmp_path / "sources.yaml"
    sources.write_text("settings:\n  max_articles: 3\nsources:\n  - {name: wire, kind: urls, urls: ['https://e.example/']}\n")
    [job] = plan_run(str(sources), None, "cap-rss")
    dates = [f"{day}, {20 + i} Nov 2026 10:00:00 GMT" for i, day in enumerate(["Fri", "Sat", "Sun", "Mon", "Tue"])]
    dates += ["Wed, 25 Nov 2026 14:30:00 +0300", "Wed, 25 Nov 2026 10:00:00 -0500"]  # 11:30Z and 15:00Z
    rows = [staging.ledger_row(i, "article", f"https://e.example/{i}", hint_date=d) for i, d in enumerate(dates)]
    cap_articles(job, rows)
    assert [r["seq"] for r in rows if r["outcome"] is None] == [4, 5, 6]


def test_the_default_cap_is_for_requests_not_for_an_archive(tmp_path, data_env):
    from newsflow import staging
    from newsflow.stages.fetch_extract import cap_articles

    sources = tmp_path / "sources.yaml"
    sources.write_text("settings:\n  max_articles: 2\nsources:\n"
                       "  - {name: crawl, kind: warc, path: crawl.warc.gz}\n"
                       "  - {name: crawl_sample, kind: warc, path: crawl.warc.gz, max_articles: 1}\n")
    whole, sample = plan_run(str(sources), None, "warc-cap")
    for job, kept in ((whole, 4), (sample, 1)):
        rows = [staging.ledger_row(i, "article", f"https://e.example/{i}") for i in range(4)]
        cap_articles(job, rows)
        assert sum(r["outcome"] is None for r in rows) == kept, job.name


def test_a_reprocess_judges_again_the_pages_last_rejected(tmp_path, data_env, site):
    """news_reprocess is for an extractor upgrade or a changed rule: a page rejected before is re-extracted from the
    archive too (no request), and stored once it passes; a page loaded since, or rejected outside the days asked
    for, is not read again."""
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.reprocess import plan_reprocess

    first = run(tmp_path, site, "r1", PATHS)
    assert first["/short/d"] == ("rejected", "body_too_short")
    sources = tmp_path / "sources.yaml"
    # the rule the page failed is relaxed (as a new extractor might read more of it)
    sources.write_text(sources.read_text().replace("  max_tries: 1\n", "  max_tries: 1\n  min_body_chars: 20\n"))
    hits = site.hits.copy()

    def reprocess(run_id, start=None, end=None):
        jobs = [validate_source(extract_source(job))
                for job in plan_reprocess(str(sources), None, start, end, run_id)]
        load_run(jobs, run_id=run_id, dag_id="news_reprocess")
        check_accounting(jobs, run_id=run_id)
        con = warehouse(tmp_path)
        try:
            return dict(((url.removeprefix(site.url("")), (outcome, reason)) for url, outcome, reason in con.execute(
                "select url, outcome, reason from fetch_log where run_id = ?", [run_id]).fetchall()))
        finally:
            con.close()

    # rejected on a day outside the range asked for: only the articles published in it
    assert "/short/d" not in reprocess("rp0", "2000-01-01", "2000-01-02")
    again = reprocess("rp1")
    assert again["/short/d"] == ("loaded", "new")
    assert {p: again[p][0] for p in PATHS[:3]} == {p: "unchanged" for p in PATHS[:3]}
    assert site.hits == hits  # from the archive, no request
    con = warehouse(tmp_path)
    assert con.execute("select count(*) from articles where url like '%/short/d'").fetchone()[0] == 1
    con.close()
    # stored now: the next reprocess reads it as an article, once
    assert list(reprocess("rp2").values()).count(("unchanged", "same_content")) == 4


def test_a_reprocess_right_after_an_upgrade_plans_a_lake_no_load_has_migrated(tmp_path, data_env, site):
    """An extractor upgrade is what news_reprocess is for: run first after one, on a lake the newsflow of before
    migration 012 wrote, its plan (which reads without migrating) failed on rejected_articles.warc_file (Binder
    Error, retried for minutes). Those rejections are judged again from the response http_cache points to."""
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.reprocess import plan_reprocess

    assert run(tmp_path, site, "r1", PATHS)["/short/d"] == ("rejected", "body_too_short")
    con = connect(tmp_path / "data" / "warehouse")  # the lake as it was before migration 012
    for column in ("warc_file", "warc_offset", "http_status"):
        con.execute(f"alter table rejected_articles drop column {column}")
    con.execute("delete from schema_migrations where version >= 12")
    con.close()
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources.read_text().replace("  max_tries: 1\n", "  max_tries: 1\n  min_body_chars: 20\n"))
    hits = site.hits.copy()
    jobs = [validate_source(extract_source(job)) for job in plan_reprocess(str(sources), None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="news_reprocess")
    check_accounting(jobs, run_id="rp")
    con = warehouse(tmp_path)
    try:
        logged = {url.removeprefix(site.url("")): outcome for url, outcome in con.execute(
            "select url, outcome from fetch_log where run_id = 'rp'").fetchall()}
    finally:
        con.close()
    assert logged == {"/fresh/a": "unchanged", "/old/b": "unchanged", "/etag/c": "unchanged", "/short/d": "loaded"}
    assert site.hits == hits  # from the archive, no request


def test_a_reprocess_reextracts_the_articles_revisits_confirmed_since(tmp_path, data_env, site):
    """A revisit that finds an article unchanged (304, the same text) is recorded in fetch_log only, later than the
    fetch that stored the text. news_reprocess reads that fetch's own archived response: the stored text again, not
    an older one, so it is re-extracted, never `skipped: superseded` (which kept the old extractor's fields on every
    article a revisit had confirmed)."""
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.reprocess import plan_reprocess

    run(tmp_path, site, "r1", PATHS[:3])
    pass_time(tmp_path, 3)
    second = run(tmp_path, site, "r2", PATHS[:3])
    assert second == {"/fresh/a": ("unchanged", "same_content"), "/old/b": ("unchanged", "not_due"),
                      "/etag/c": ("unchanged", "not_modified")}
    con = connect(tmp_path / "data" / "warehouse")
    con.execute("update articles set extractor_version = 'newsflow-0.0.1'")  # stored by an older extractor
    con.close()
    jobs = [validate_source(extract_source(job))
            for job in plan_reprocess(str(tmp_path / "sources.yaml"), None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="news_reprocess")
    check_accounting(jobs, run_id="rp")
    con = warehouse(tmp_path)
    logged = {url.removeprefix(site.url("")): (outcome, reason) for url, outcome, reason in con.execute(
        "select url, outcome, reason from fetch_log where run_id = 'rp'").fetchall()}
    versions = [version for (version,) in con.execute("select extractor_version from articles").fetchall()]
    con.close()
    assert logged == {path: ("loaded", "reextracted") for path in PATHS[:3]}
    assert len(versions) == 3 and "newsflow-0.0.1" not in versions


def test_a_fetch_run_again_keeps_the_archive_its_stored_articles_point_into(tmp_path, data_env, site):
    """`airflow tasks clear` of a loaded run's fetch_extract rewrote the run's WARC file under the same name: the
    stored articles' offsets then fell inside other records, and a reprocess failed 2,499 of 2,500 articles. A
    rerun now writes an archive of its own beside it."""
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.reprocess import plan_reprocess

    first = run(tmp_path, site, "r1", PATHS[:3])
    assert set(first.values()) == {("loaded", "new")}
    folder = tmp_path / "data" / "archive" / "harbour"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    # the fetch task of that run executed again (its plan and discover as they were), its load not
    sources = str(tmp_path / "sources.yaml")
    [job] = plan_run(sources, None, "r1")
    fetch_extract_source(discover_source(job))
    after = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert {name: after[name] for name in before} == before, "an earlier execution's archive was rewritten"
    assert "r1.2.warc.gz" in after

    jobs = [validate_source(extract_source(j)) for j in plan_reprocess(sources, None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="news_reprocess")
    con = warehouse(tmp_path)
    try:
        assert con.execute("select outcome, reason, count(*) from fetch_log where run_id = 'rp' group by all"
                           ).fetchall() == [("unchanged", "same_content", 3)]
    finally:
        con.close()


def test_a_load_or_account_run_again_after_maintenance_removed_the_staging_changes_nothing(tmp_path, data_env, site):
    """news_maintenance removes a finished run's staging; its load cleared and run again afterwards read every source
    as failed (no ledger) and replaced the run's 5 outcomes with one `source_failed:discover` row a source, its
    rejections and validation results with none, and its `runs` row with `failed`."""
    import shutil

    import pytest

    from newsflow.stages.failures import PermanentError

    run(tmp_path, site, "r1", PATHS)

    def recorded():
        con = warehouse(tmp_path)
        try:
            return [con.execute(f"select * from {table} where run_id = 'r1' order by all").fetchall()
                    for table in ("fetch_log", "rejected_articles", "validation_results", "runs")]
        finally:
            con.close()

    before = recorded()
    [job] = plan_run(str(tmp_path / "sources.yaml"), None, "r1")
    shutil.rmtree(job.staging.parent)
    for step, call in (("load", lambda: load_run([job], run_id="r1", dag_id="test")),
                       ("account for", lambda: check_accounting([job], run_id="r1"))):
        shutil.rmtree(job.staging.parent, ignore_errors=True)  # plan_run made the folder again
        with pytest.raises(PermanentError, match=f"the staging of run r1 is gone .*nothing to {step} again"):
            call()
    assert recorded() == before


def test_a_page_whose_answer_failed_is_read_again_at_the_next_run(tmp_path, data_env, site):
    """A page answered 200 that failed (over `max_bytes` here; an extraction that timed out or crashed alike) was
    neither stored nor rejected: once the cause is gone, the next run reads it, instead of sending the ETag of that
    answer, getting a 304 and logging the page `unchanged` at every run. A known article's new text that failed so
    is no confirmation of the old one either: the next run loads it as changed."""
    from tests.support.stage_run import run as run_stages

    source = f"  - {{name: harbour, kind: urls, revisit: always, urls: ['{site.url('/etag/c')}']}}\n"
    too_small = "  max_bytes: 1024\n"

    def outcome(run_id: str) -> tuple:
        return warehouse(tmp_path).execute(
            "select outcome, reason from fetch_log where run_id = ? and url_kind = 'article'", [run_id]).fetchone()

    run_stages(tmp_path, site, "r1", source, settings=too_small)
    assert outcome("r1") == ("failed", "too_large")
    run_stages(tmp_path, site, "r2", source)
    assert outcome("r2") == ("loaded", "new")

    site.edition = 2  # a correction, whose answer fails once
    run_stages(tmp_path, site, "r3", source, settings=too_small)
    assert outcome("r3") == ("failed", "too_large")
    run_stages(tmp_path, site, "r4", source)
    assert outcome("r4") == ("loaded", "changed")
    assert warehouse(tmp_path).execute("select title from articles").fetchall() == [("Ferry line c (edition 2)",)]


def test_validators_an_older_load_kept_from_a_failed_answer_are_forgotten_on_migrate(tmp_path, data_env, site):
    """A lake an older newsflow loaded kept the validators of a page whose answer failed: that page was `unchanged`
    at every run since. Migration 016 forgets them (the answer is found by its fetch time), and the next run reads
    the page."""
    from newsflow.warehouse import migrate
    from tests.support.stage_run import run as run_stages

    source = f"  - {{name: harbour, kind: urls, revisit: always, urls: ['{site.url('/etag/c')}']}}\n"
    run_stages(tmp_path, site, "r1", source, settings="  max_bytes: 1024\n")
    import hashlib
    import urllib.request

    with urllib.request.urlopen(site.url("/etag/c"), timeout=30) as answer:
        etag, sha1 = answer.headers["ETag"], hashlib.sha1(answer.read()).hexdigest()
    con = connect(tmp_path / "data" / "warehouse")
    # what an older load's 09_http_cache.sql kept of that answer
    con.execute("insert into http_cache (canonical_url, etag, content_sha1, last_status, fetched_at, updated_at) "
                "select canonical_url, $etag, $sha1, http_status, fetched_at, now() from fetch_log "
                "where run_id = 'r1' and url_kind = 'article' and outcome = 'failed'", {"etag": etag, "sha1": sha1})
    assert con.execute("select count(*) from http_cache").fetchone()[0] == 1
    con.execute("delete from schema_migrations where version = 16")
    assert migrate(con) == [16]
    assert con.execute("select count(*) from http_cache").fetchone()[0] == 0
    con.close()
    run_stages(tmp_path, site, "r2", source)
    assert warehouse(tmp_path).execute("select outcome, reason from fetch_log where run_id = 'r2' and "
                                       "url_kind = 'article'").fetchone() == ("loaded", "new")
