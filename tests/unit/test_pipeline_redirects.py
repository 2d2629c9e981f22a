"""Links that redirect, through the real stages (loopback HTTP, real DuckDB): the article is stored where its page
is, under that URL's id and domain; the link as listed stays in fetch_log, with where it ended (final_url), and
maps to the article in article_aliases, so the next run knows it, and is asked conditionally where the page is; a
page that moves never overwrites the article the old URL held, and articles_gone lists it; a click-through
redirector's link (Google Alerts') is keyed and fetched at the page it names."""

from __future__ import annotations

import pytest

from newsflow.urls import article_id, canonicalize
from newsflow.warehouse import connect
from tests.support.revisit_site import RevisitSite
from tests.support.stage_run import run


@pytest.fixture
def site():
    with RevisitSite() as running:
        yield running


def ingest(tmp_path, site, run_id: str, *sources: tuple[str, list[str]], revisit: str | None = None) -> dict:
    """One run over `urls` sources given as (name, paths); returns (source, path) -> fetch_log row of each article
    URL: outcome, reason, article_id, final path (None when the request stayed put)."""
    yaml = "".join(f"  - {{name: {name}, kind: urls, urls: [{', '.join(repr(site.url(p)) for p in paths)}]}}\n"
                   for name, paths in sources)
    run(tmp_path, site, run_id, yaml, f"  revisit: {revisit}\n" if revisit else "")
    prefix = site.url("")
    rows = warehouse(tmp_path).execute(
        "select source, url, outcome, reason, article_id, final_url from fetch_log "
        "where run_id = ? and url_kind = 'article'", [run_id]).fetchall()
    return {(source, url.removeprefix(prefix)): (outcome, reason, aid, final and final.removeprefix(prefix))
            for source, url, outcome, reason, aid, final in rows}


def warehouse(tmp_path):
    return connect(tmp_path / "data" / "warehouse", read_only=True)


def id_of(site, path: str) -> str:
    return article_id(canonicalize(site.url(path)))


def stored(tmp_path, site) -> dict[str, tuple]:
    """path -> (article_id, title) of every stored article."""
    prefix = site.url("")
    return {url.removeprefix(prefix): (aid, title) for url, aid, title in warehouse(tmp_path).execute(
        "select url, article_id, title from articles").fetchall()}


def gone(tmp_path, site) -> dict[str, tuple]:
    """path -> (status, http_status, moved_to path) of every article in the articles_gone view."""
    prefix = site.url("")
    return {url.removeprefix(prefix): (status, http, moved and moved.removeprefix(prefix))
            for url, status, http, moved in warehouse(tmp_path).execute(
                "select url, status, http_status, moved_to from articles_gone").fetchall()}


def aliases(tmp_path, site) -> dict[str, str]:
    prefix = site.url("")
    return {url.removeprefix(prefix): aid for url, aid in warehouse(tmp_path).execute(
        "select alias_url, article_id from article_aliases").fetchall()}


def test_a_tracked_link_stores_the_page_it_lands_on_and_is_known_next_run(tmp_path, data_env, site):
    first = ingest(tmp_path, site, "r1", ("wire", ["/go/fresh/a", "/fresh/b"]))
    landing = id_of(site, "/fresh/a")
    assert first == {
        ("wire", "/go/fresh/a"): ("loaded", "new", landing, "/fresh/a"),
        ("wire", "/fresh/b"): ("loaded", "new", id_of(site, "/fresh/b"), None),
    }
    # the article is the page: its URL, its id (and so its domain and the URL's date) are the landing page's
    assert set(stored(tmp_path, site)) == {"/fresh/a", "/fresh/b"}
    assert stored(tmp_path, site)["/fresh/a"][0] == landing
    assert aliases(tmp_path, site) == {"/go/fresh/a": landing}

    before = site.hits.copy()
    second = ingest(tmp_path, site, "r2", ("wire", ["/go/fresh/a", "/fresh/b"]))
    assert second[("wire", "/go/fresh/a")] == ("unchanged", "not_due", landing, None)
    assert (site.hits - before).keys() <= {"/robots.txt"}, "a known link, tracked or not, costs no request"
    assert warehouse(tmp_path).execute("select count(*) from articles").fetchone()[0] == 2


def test_a_tracked_link_and_the_page_itself_in_one_source_are_one_article(tmp_path, data_env, site):
    first = ingest(tmp_path, site, "r1", ("wire", ["/go/fresh/a", "/fresh/a"]))
    landing = id_of(site, "/fresh/a")
    # the first listed link holds the article; the second reached the same page and is a duplicate, not a
    # rejection for a repeated URL
    assert first == {
        ("wire", "/go/fresh/a"): ("loaded", "new", landing, "/fresh/a"),
        ("wire", "/fresh/a"): ("skipped", "duplicate", landing, None),
    }
    assert list(stored(tmp_path, site)) == ["/fresh/a"]
    second = ingest(tmp_path, site, "r2", ("wire", ["/go/fresh/a", "/fresh/a"]))
    # not due, still one article: the second link is its duplicate, not a second `unchanged` of it
    assert {key: row[:3] for key, row in second.items()} == {
        ("wire", "/go/fresh/a"): ("unchanged", "not_due", landing),
        ("wire", "/fresh/a"): ("skipped", "duplicate", landing),
    }
    assert warehouse(tmp_path).execute("select unchanged, skipped from runs where run_id = 'r2'").fetchall() == [(1, 1)]


def test_a_tracked_link_in_one_source_and_the_page_in_another_load_once(tmp_path, data_env, site):
    first = ingest(tmp_path, site, "r1", ("feed", ["/go/fresh/a"]), ("picks", ["/fresh/a"]))
    landing = id_of(site, "/fresh/a")
    assert first == {
        ("feed", "/go/fresh/a"): ("loaded", "new", landing, "/fresh/a"),
        ("picks", "/fresh/a"): ("skipped", "duplicate_other_source", landing, None),
    }
    assert warehouse(tmp_path).execute("select source, url from articles").fetchall() == [
        ("feed", site.url("/fresh/a"))]


def test_a_page_that_moves_never_overwrites_the_article_its_old_url_holds(tmp_path, data_env, site):
    ingest(tmp_path, site, "r1", ("wire", ["/fresh/x"]))
    old = stored(tmp_path, site)["/fresh/x"]
    site.moved["/fresh/x"] = "/fresh/y"   # the story moved (or was merged into another) and the old URL redirects
    site.edition = 2

    second = ingest(tmp_path, site, "r2", ("wire", ["/fresh/x"]), revisit="always")
    assert second == {("wire", "/fresh/x"): ("loaded", "new", id_of(site, "/fresh/y"), "/fresh/y")}
    now = stored(tmp_path, site)
    assert now["/fresh/x"] == old, "the old URL's article keeps its own text"
    assert now["/fresh/y"] == (id_of(site, "/fresh/y"), "Ferry line y (edition 2)")
    assert aliases(tmp_path, site) == {"/fresh/x": id_of(site, "/fresh/y")}
    assert gone(tmp_path, site) == {"/fresh/x": ("moved", 200, "/fresh/y")}

    # the old URL answers for itself again: it is its own article, and no longer an alias or moved
    del site.moved["/fresh/x"]
    third = ingest(tmp_path, site, "r3", ("wire", ["/fresh/x"]), revisit="always")
    assert third == {("wire", "/fresh/x"): ("loaded", "changed", id_of(site, "/fresh/x"), None)}
    assert aliases(tmp_path, site) == {}
    assert gone(tmp_path, site) == {}


def test_a_page_that_moved_to_a_page_validation_rejects_leaves_the_article_alone(tmp_path, data_env, site):
    ingest(tmp_path, site, "r1", ("wire", ["/fresh/x"]))
    old = stored(tmp_path, site)
    site.moved["/fresh/x"] = "/short/notice"   # an "article removed" notice
    second = ingest(tmp_path, site, "r2", ("wire", ["/fresh/x"]), revisit="always")
    assert second == {("wire", "/fresh/x"): ("rejected", "body_too_short", id_of(site, "/short/notice"),
                                             "/short/notice")}
    assert stored(tmp_path, site) == old
    assert aliases(tmp_path, site) == {}
    assert gone(tmp_path, site) == {"/fresh/x": ("redirected", 200, None)}


def test_an_article_whose_url_stops_answering_is_listed_as_gone_until_it_answers_again(tmp_path, data_env, site):
    ingest(tmp_path, site, "r1", ("wire", ["/fresh/a", "/fresh/b", "/fresh/c"]))
    old = stored(tmp_path, site)
    site.gone.update({"/fresh/a": 404, "/fresh/b": 410, "/fresh/c": 503})  # a 503 says nothing of the page
    second = ingest(tmp_path, site, "r2", ("wire", ["/fresh/a", "/fresh/b", "/fresh/c"]), revisit="always")
    assert {path: row[:2] for (_, path), row in second.items()} == {
        "/fresh/a": ("failed", "http_404"), "/fresh/b": ("failed", "http_410"), "/fresh/c": ("failed", "http_503")}
    assert stored(tmp_path, site) == old, "an article is kept when its page goes"
    assert gone(tmp_path, site) == {"/fresh/a": ("gone", 404, None), "/fresh/b": ("gone", 410, None)}

    del site.gone["/fresh/a"]
    ingest(tmp_path, site, "r3", ("wire", ["/fresh/a", "/fresh/b"]), revisit="always")
    assert gone(tmp_path, site) == {"/fresh/b": ("gone", 410, None)}


def test_a_tracked_link_is_asked_conditionally_where_the_page_is(tmp_path, data_env, site):
    ingest(tmp_path, site, "r1", ("wire", ["/go/etag/c"]))
    landing = id_of(site, "/etag/c")
    # the validators are the landing page's: the next request sends them there, not to the tracker (which answers
    # no If-None-Match), and the page's 304 confirms the article
    second = ingest(tmp_path, site, "r2", ("wire", ["/go/etag/c"]), revisit="always")
    assert second == {("wire", "/go/etag/c"): ("unchanged", "not_modified", landing, "/etag/c")}
    assert (site.conditional["/go/etag/c"], site.conditional["/etag/c"]) == (0, 1)
    assert warehouse(tmp_path).execute("select final_url from http_cache").fetchall() == [(site.url("/etag/c"),)]


def test_a_tracked_article_whose_page_goes_is_listed_but_not_when_only_the_tracker_fails(tmp_path, data_env, site):
    ingest(tmp_path, site, "r1", ("wire", ["/go/fresh/a", "/go/fresh/b"]))
    site.gone.update({"/fresh/a": 410, "/go/fresh/b": 404})  # the page itself; only the tracker
    second = ingest(tmp_path, site, "r2", ("wire", ["/go/fresh/a", "/go/fresh/b"]), revisit="always")
    assert {path: (row[0], row[1], row[3]) for (_, path), row in second.items()} == {
        "/go/fresh/a": ("failed", "http_410", "/fresh/a"), "/go/fresh/b": ("failed", "http_404", None)}
    assert gone(tmp_path, site) == {"/fresh/a": ("gone", 410, None)}


def alert_link(site, path: str, usg: str) -> str:
    """A Google Alerts feed's link to a page of the site (each alert mail or feed refresh signs it anew)."""
    return f"https://www.google.com/url?rct=j&sa=t&url={site.url(path)}&ct=ga&cd=CAIyGmE0&usg={usg}"


def test_a_google_alerts_link_is_its_target_without_a_request_to_google(tmp_path, data_env, site):
    links = [alert_link(site, "/fresh/a", "AOvVaw1"), alert_link(site, "/fresh/a", "AOvVaw2"),
             alert_link(site, "/fresh/b", "AOvVaw3")]
    yaml = f"  - {{name: alerts, kind: urls, urls: [{', '.join(repr(u) for u in links)}]}}\n"
    run(tmp_path, site, "r1", yaml)
    rows = warehouse(tmp_path).execute(
        "select url, outcome, reason, article_id, final_url from fetch_log where url_kind = 'article' order by seq")
    # keyed and fetched at the page it names (www.google.com is not even resolvable here: no request went there);
    # the same page named by two signed links is one article
    assert rows.fetchall() == [
        (links[0], "loaded", "new", id_of(site, "/fresh/a"), site.url("/fresh/a")),
        (links[1], "skipped", "duplicate", id_of(site, "/fresh/a"), None),
        (links[2], "loaded", "new", id_of(site, "/fresh/b"), site.url("/fresh/b")),
    ]
    assert warehouse(tmp_path).execute("select url, source_domain from articles order by url").fetchall() == [
        (site.url("/fresh/a"), "127.0.0.1"), (site.url("/fresh/b"), "127.0.0.1")]

    # the next refresh signs the links anew: still known, by the page they name, and not due
    before = site.hits.copy()
    again = [alert_link(site, "/fresh/a", "AOvVaw9")]
    run(tmp_path, site, "r2", f"  - {{name: alerts, kind: urls, urls: [{again[0]!r}]}}\n")
    assert warehouse(tmp_path).execute(
        "select outcome, reason from fetch_log where run_id = 'r2' and url_kind = 'article'").fetchall() == [
        ("unchanged", "not_due")]
    assert (site.hits - before).keys() <= {"/robots.txt"}


def test_a_304_leaves_the_validators_the_200_stored(tmp_path, data_env, site):
    """09_http_cache.sql takes validators from 2xx answers only: a 304 has no body, so letting it overwrite the
    cache row would drop the stored content_sha1 and WARC record and say last_status 304."""
    ingest(tmp_path, site, "r1", ("wire", ["/etag/c"]))
    cached = "select etag, content_sha1, warc_file, warc_offset, last_status, final_url from http_cache"
    first = warehouse(tmp_path).execute(cached).fetchall()
    assert [(row[1] is not None, row[4]) for row in first] == [(True, 200)]
    second = ingest(tmp_path, site, "r2", ("wire", ["/etag/c"]), revisit="always")
    assert second == {("wire", "/etag/c"): ("unchanged", "not_modified", id_of(site, "/etag/c"), None)}
    assert warehouse(tmp_path).execute(cached).fetchall() == first


def test_a_tracked_link_whose_request_failed_stays_an_alias(tmp_path, data_env, site):
    """11_article_aliases.sql leaves out failed requests: a tracker that answers 404 once said nothing about where
    its link leads, so the link keeps its alias (dropped, the next run would fetch it as a new link)."""
    ingest(tmp_path, site, "r1", ("wire", ["/go/fresh/b"]))
    assert aliases(tmp_path, site) == {"/go/fresh/b": id_of(site, "/fresh/b")}
    site.gone["/go/fresh/b"] = 404
    second = ingest(tmp_path, site, "r2", ("wire", ["/go/fresh/b"]), revisit="always")
    assert {path: row[:2] for (_, path), row in second.items()} == {"/go/fresh/b": ("failed", "http_404")}
    assert aliases(tmp_path, site) == {"/go/fresh/b": id_of(site, "/fresh/b")}


def test_a_run_executed_again_repeats_the_not_due_duplicate_of_a_tracked_link(tmp_path, data_env, site):
    """A run cleared and run again (same run id: Airflow's Clear) decides as its first execution did: the page
    listed after its tracked link, not due, was `skipped: duplicate` without a request; the second execution read
    that row as a request made and fetched the page, a second `unchanged` of one article."""
    listed = ("wire", ["/go/fresh/a", "/fresh/a"])
    for run_id in ("r1", "r2"):  # the run that fetched the tracked link, then the one that found it not due
        first = ingest(tmp_path, site, run_id, listed)
        again = ingest(tmp_path, site, run_id, listed)
        assert {key: row[:3] for key, row in again.items()} == {key: row[:3] for key, row in first.items()}, run_id
    before = site.hits.copy()
    ingest(tmp_path, site, "r2", listed)
    assert (site.hits - before).keys() <= {"/robots.txt"}, "r2's first execution asked for no page"


def test_a_run_executed_again_repeats_the_not_due_copy_another_source_answers_for(tmp_path, data_env, site):
    """The same for two sources: in the run that found the shared page not due, the second source's row is
    `skipped: duplicate_other_source` with no request; executed again, that row was read as a request made and the
    page fetched."""
    sources = (("wire", ["/fresh/a"]), ("agency", ["/fresh/b", "/fresh/a"]))
    ingest(tmp_path, site, "r1", *sources)
    first = ingest(tmp_path, site, "r2", *sources)
    assert {key: row[:2] for key, row in first.items()} == {
        ("wire", "/fresh/a"): ("unchanged", "not_due"), ("agency", "/fresh/b"): ("unchanged", "not_due"),
        ("agency", "/fresh/a"): ("skipped", "duplicate_other_source")}
    before = site.hits.copy()
    again = ingest(tmp_path, site, "r2", *sources)
    assert {key: row[:3] for key, row in again.items()} == {key: row[:3] for key, row in first.items()}
    assert (site.hits - before).keys() <= {"/robots.txt"}, "r2's first execution asked for no page"
