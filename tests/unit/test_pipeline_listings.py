"""Broken listings never stop a run: a feed that errors, a sitemap that is not XML and a URL list that is missing
each leave one fetch_log row with the reason, and the run's other sources load as usual."""

from __future__ import annotations

import pytest

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer


def run(tmp_path, server, run_id: str, sources_yaml: str) -> None:
    """Every stage of one news_ingest run, as its tasks call them, over the given sources."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
        "  min_host_interval_s: 0\n  max_tries: 1\n"
        "sources:\n" + sources_yaml
    )
    jobs = [validate_source(fetch_extract_source(discover_source(j)))
            for j in plan_run(str(sources), None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    check_accounting(jobs, run_id=run_id)


def query(data_env, *sqls: str) -> list[list[tuple]]:
    """Each query's rows, from the test's warehouse opened read-only once."""
    con = connect(data_env / "warehouse", read_only=True)
    try:
        return [con.execute(sql).fetchall() for sql in sqls]
    finally:
        con.close()


def test_broken_listings_are_recorded(tmp_path, data_env):
    with FaultServer() as server:
        run(tmp_path, server, "broken_run",
            f"  - {{name: down, kind: feed, url: '{server.url('/status/500')}'}}\n"
            f"  - {{name: garbage, kind: sitemap, url: '{server.url('/random-bytes')}'}}\n"
            "  - {name: nofile, kind: urls, urls_file: missing.txt}\n"
            f"  - {{name: good, kind: urls, urls: ['{server.url('/ok/listed')}']}}\n"
            # a web page and binary data where a URL list was expected: before, each line was resolved against the
            # list's address and requested (`<!DOCTYPE html>` as a page of the publisher's)
            f"  - {{name: pagelist, kind: urls, urls_file: '{server.url('/ok/home')}'}}\n"
            f"  - {{name: binlist, kind: urls, urls_file: '{server.url('/random-bytes')}'}}\n")
    [rows] = query(data_env, "select source, url_kind, outcome, reason from fetch_log order by source")
    assert rows == [
        ("binlist", "url_list", "failed", "not_a_url_list"),
        ("down", "feed", "failed", "http_500"),
        ("garbage", "sitemap", "failed", "xml_parse_error"),
        ("good", "article", "loaded", "new"),
        ("nofile", "url_list", "failed", "unreadable:No such file or directory"),
        ("pagelist", "url_list", "failed", "html_page"),
    ]


def test_an_article_listed_by_two_sources_loads_once(tmp_path, data_env):
    with FaultServer() as server:
        shared, own = server.url("/ok/shared-story"), server.url("/ok/own-story")
        run(tmp_path, server, "two_sources",
            f"  - {{name: first, kind: urls, urls: ['{shared}']}}\n"
            f"  - {{name: second, kind: urls, urls: ['{own}', '{shared}']}}\n")
    articles, log = query(data_env, "select url, source from articles order by url",
                          "select source, url, outcome, reason from fetch_log where url_kind = 'article' "
                          "order by source, seq")
    assert articles == [(own, "second"), (shared, "first")]
    assert log == [
        ("first", shared, "loaded", "new"),
        ("second", own, "loaded", "new"),
        ("second", shared, "skipped", "duplicate_other_source"),
    ]


def test_an_article_two_sources_list_again_is_not_due_once(tmp_path, data_env):
    """In a later run neither source fetches the shared story (not due), and it is still one article with one
    outcome: the first source's `unchanged: not_due`, the other's `skipped: duplicate_other_source`, as when it was
    fetched. Before, each source logged its own `unchanged: not_due`: one article, two outcomes."""
    with FaultServer() as server:
        shared, own = server.url("/ok/shared-story"), server.url("/ok/own-story")
        sources = (f"  - {{name: first, kind: urls, urls: ['{shared}']}}\n"
                   f"  - {{name: second, kind: urls, urls: ['{own}', '{shared}']}}\n")
        run(tmp_path, server, "two_sources", sources)
        run(tmp_path, server, "two_sources_again", sources)
        # the order of the sources decides, not which task answered first: here the shared story's owner is second
        run(tmp_path, server, "two_sources_swapped", sources.replace("first", "third"))
    again, swapped, articles = query(
        data_env,
        "select source, url, outcome, reason from fetch_log "
        "where url_kind = 'article' and run_id = 'two_sources_again' order by source, seq",
        "select source, url, outcome, reason from fetch_log "
        "where url_kind = 'article' and run_id = 'two_sources_swapped' order by source, seq",
        "select url, source from articles order by url")
    assert again == [
        ("first", shared, "unchanged", "not_due"),
        ("second", own, "unchanged", "not_due"),
        ("second", shared, "skipped", "duplicate_other_source"),
    ]
    assert swapped == [
        ("second", own, "unchanged", "not_due"),
        ("second", shared, "skipped", "duplicate_other_source"),
        ("third", shared, "unchanged", "not_due"),
    ]
    assert articles == [(own, "second"), (shared, "first")]


def test_child_sitemaps_past_the_limits_are_recorded_not_dropped(tmp_path, data_env, monkeypatch):
    from newsflow import discover

    # an index of three monthly sitemaps, the first of which nests one more index: with room for three documents
    # and one level below the root, the third month is over the limit and the nested index too deep
    monkeypatch.setattr(discover, "MAX_SITEMAP_DOCS", 3)
    monkeypatch.setattr(discover, "MAX_SITEMAP_DEPTH", 1)
    xml = "application/xml"

    def index(*children):
        locs = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
        return (xml, f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'.encode())

    def urlset(*urls):
        locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        return (xml, f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode())

    with FaultServer() as server:
        months = [server.url(f"/sitemap-2024-0{m}.xml") for m in (1, 2, 3)]
        server.pages["/sitemap.xml"] = index(*months)
        server.pages["/sitemap-2024-01.xml"] = index(server.url("/sitemap-2024-01-extra.xml"))
        server.pages["/sitemap-2024-02.xml"] = urlset(server.url("/ok/feb-story"))
        server.pages["/sitemap-2024-03.xml"] = urlset(server.url("/ok/mar-story"))
        run(tmp_path, server, "limits", f"  - {{name: herald, kind: sitemap, url: '{server.url('/sitemap.xml')}'}}\n")
    [rows] = query(data_env, "select url_kind, url, outcome, reason from fetch_log order by url_kind = 'article', seq")
    base = server.base
    assert [(kind, url.removeprefix(base), outcome, reason) for kind, url, outcome, reason in rows] == [
        ("sitemap", "/sitemap.xml", "loaded", "listed:0;sitemaps=3"),
        ("sitemap", "/sitemap-2024-01.xml", "loaded", "listed:0;sitemaps=1"),
        ("sitemap", "/sitemap-2024-02.xml", "loaded", "listed:1"),
        ("sitemap", "/sitemap-2024-03.xml", "skipped", "over_limit"),
        ("sitemap", "/sitemap-2024-01-extra.xml", "skipped", "too_deep"),
        ("article", "/ok/feb-story", "loaded", "new"),
    ]


@pytest.mark.parametrize(("children", "again"), [
    # the index naming itself and a month twice, as many CMS indexes do
    (("/sitemap.xml", "/sitemap-2024-02.xml", "/sitemap-2024-02.xml"), ("/sitemap.xml", "/sitemap-2024-02.xml")),
    # with fragments, which never reach the server: `/sitemap.xml#again` is the index
    (("/sitemap.xml#again", "/sitemap-2024-02.xml#x", "/sitemap-2024-02.xml"),
     ("/sitemap.xml#again", "/sitemap-2024-02.xml")),
])
def test_a_child_sitemap_named_again_has_a_row_of_its_own_and_is_read_once(tmp_path, data_env, children, again):
    """The accounting rule holds for listings too: a child named a second time (itself, twice, with a `#fragment`)
    was either read again as a document of its own or had no fetch_log row at all (`sitemaps=3` over one child
    row), while a duplicate article URL is `skipped: duplicate`."""
    xml = "application/xml"
    with FaultServer() as server:
        locs = "".join(f"<sitemap><loc>{server.url(c)}</loc></sitemap>" for c in children)
        server.pages["/sitemap.xml"] = (
            xml, f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'.encode())
        server.pages["/sitemap-2024-02.xml"] = (xml, (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f'<url><loc>{server.url("/ok/feb-story")}</loc></url></urlset>').encode())
        run(tmp_path, server, "again", f"  - {{name: herald, kind: sitemap, url: '{server.url('/sitemap.xml')}'}}\n")
        asked = server.hits["/sitemap-2024-02.xml"]
    [rows] = query(data_env, "select url_kind, url, outcome, reason from fetch_log order by url_kind = 'article', seq")
    assert [(kind, url.removeprefix(server.base), outcome, reason) for kind, url, outcome, reason in rows] == [
        ("sitemap", "/sitemap.xml", "loaded", "listed:0;sitemaps=3"),
        ("sitemap", again[0], "skipped", "duplicate"),
        ("sitemap", children[1], "loaded", "listed:1"),
        ("sitemap", again[1], "skipped", "duplicate"),
        ("article", "/ok/feb-story", "loaded", "new"),
    ]
    assert asked == 1  # each document is asked once


def test_items_that_name_no_page_are_counted_on_the_listing_row(tmp_path, data_env):
    """A feed item without a link (or permalink guid) and a sitemap <url> without <loc> have nothing to fetch; the
    listing's row says how many it left out instead of dropping them without a word."""
    with FaultServer() as server:
        server.pages["/feed.xml"] = ("application/rss+xml", (
            "<rss version='2.0'><channel>"
            f"<item><title>خبر أول</title><link>{server.url('/ok/1')}</link></item>"
            "<item><title>إعلان بلا رابط</title><description>لا رابط هنا</description></item>"
            "<item><title>guid, not a link</title><guid isPermaLink='false'>tag:alhadath,2018:2</guid></item>"
            "</channel></rss>").encode())
        server.pages["/sitemap.xml"] = ("application/xml", (
            "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<url><loc>{server.url('/ok/2')}</loc></url><url><lastmod>2018-05-21</lastmod></url></urlset>").encode())
        run(tmp_path, server, "unlinked",
            f"  - {{name: wire, kind: feed, url: '{server.url('/feed.xml')}'}}\n"
            f"  - {{name: herald, kind: sitemap, url: '{server.url('/sitemap.xml')}'}}\n")
    rows, [(loaded,)] = query(data_env, "select source, outcome, reason from fetch_log where url_kind in "
                                        "('feed', 'sitemap') order by source", "select count(*) from articles")
    assert rows == [("herald", "loaded", "listed:1;unlinked=1"), ("wire", "loaded", "listed:1;unlinked=2")]
    assert loaded == 2


def test_other_listing_formats_a_sources_file_meets_load_their_articles(tmp_path, data_env):
    """A site's home page given as its feed (the feed it announces is read, as feed readers do), a JSON Feed, a
    text sitemap and an RSS feed given as a sitemap (both in the sitemap protocol), a robots.txt given as a sitemap
    (the sitemaps it names are read), a home page given as a sitemap (its site's robots.txt is read for them): each
    listing's articles load.
    A home page that announces no feed is `html_page`, which says what is wrong."""
    with FaultServer() as server:
        server.pages["/"] = ("text/html; charset=utf-8", (
            "<!DOCTYPE html><html lang='ar' dir='rtl'><head><title>الحدث</title>"
            "<link rel='alternate' type='application/rss+xml' title='الحدث' href='/feed/'>"
            "<link rel='alternate' type='application/rss+xml' title='التعليقات' href='/comments/feed/'>"
            "</head><body><h1>الحدث</h1><a href='/ok/a1'>خبر</a></body></html>").encode())
        server.pages["/feed/"] = ("application/rss+xml", (
            f"<rss version='2.0'><channel><item><title>خبر</title><link>{server.url('/ok/a1')}</link></item>"
            "</channel></rss>").encode())
        server.pages["/novosti/"] = ("text/html", b"<!DOCTYPE html><html><body>\xd0\x9d\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x81\xd1\x82\xd0\xb8</body></html>")
        server.pages["/feed.json"] = ("application/feed+json", (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "Новости", "items": ['
            f'{{"id": "1", "url": "{server.url("/ok/n1")}", "title": "Выборы", '
            '"date_published": "2018-05-21T12:23:00+03:00"}]}').encode())
        server.pages["/sitemap.txt"] = ("text/plain", f"{server.url('/ok/t1')}\n{server.url('/ok/t2')}\n".encode())
        server.pages["/robots.txt"] = ("text/plain", f"User-agent: *\nDisallow: /private/\nSitemap: {server.url('/sitemap.txt')}\n".encode())
        server.pages["/rss-as-sitemap.xml"] = ("application/rss+xml", (
            f"<rss version='2.0'><channel><item><link>{server.url('/ok/r1')}</link></item></channel></rss>").encode())
        run(tmp_path, server, "formats",
            f"  - {{name: homepage, kind: feed, url: '{server.url('/')}'}}\n"
            f"  - {{name: nofeed, kind: feed, url: '{server.url('/novosti/')}'}}\n"
            f"  - {{name: jsonfeed, kind: feed, url: '{server.url('/feed.json')}'}}\n"
            f"  - {{name: textmap, kind: sitemap, url: '{server.url('/sitemap.txt')}'}}\n"
            f"  - {{name: feedmap, kind: sitemap, url: '{server.url('/rss-as-sitemap.xml')}'}}\n"
            f"  - {{name: robots, kind: sitemap, url: '{server.url('/robots.txt')}'}}\n"
            f"  - {{name: sitehome, kind: sitemap, url: '{server.url('/')}'}}\n")
        comments_fetched = server.hits.get("/comments/feed/", 0)
    listings, articles = query(
        data_env, "select source, url, outcome, reason from fetch_log where url_kind <> 'article' order by source, seq",
        "select source, url from articles order by source, url")
    base = server.url("")
    assert [(source, url.removeprefix(base), outcome, reason) for source, url, outcome, reason in listings] == [
        ("feedmap", "/rss-as-sitemap.xml", "loaded", "listed:1"),
        ("homepage", "/", "loaded", "feed_linked"),
        ("homepage", "/feed/", "loaded", "listed:1"),
        ("jsonfeed", "/feed.json", "loaded", "listed:1"),
        ("nofeed", "/novosti/", "failed", "html_page"),
        ("robots", "/robots.txt", "loaded", "listed:0;sitemaps=1"),
        ("robots", "/sitemap.txt", "loaded", "listed:2"),
        ("sitehome", "/", "loaded", "sitemaps_from_robots"),
        ("sitehome", "/robots.txt", "loaded", "listed:0;sitemaps=1"),
        ("sitehome", "/sitemap.txt", "loaded", "listed:2"),
        ("textmap", "/sitemap.txt", "loaded", "listed:2"),
    ]
    assert [(source, url.removeprefix(base)) for source, url in articles] == [
        ("feedmap", "/ok/r1"), ("homepage", "/ok/a1"), ("jsonfeed", "/ok/n1"), ("textmap", "/ok/t1"),
        ("textmap", "/ok/t2"),
    ]
    assert comments_fetched == 0


def _moved_index(url):
    return {"/maps/index.xml": ("application/xml", b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                                                   b"<sitemap><loc>news-1.xml</loc></sitemap></sitemapindex>"),
            "/maps/news-1.xml": ("application/xml", ("<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                                                     f"<url><loc>{url('/ok/moved-story')}</loc></url></urlset>").encode())}


def _refreshing_feed_address(url):
    return {"/rss.php": ("text/html", "<html><head><meta http-equiv='refresh' content='0; url=/feeds/ar.xml'></head>"
                                      "<body>نقلنا الخلاصة</body></html>".encode()),
            "/feeds/ar.xml": ("application/rss+xml", ("<rss version='2.0'><channel><item><title>الحكومة تعلن الميزانية"
                                                      f"</title><link>{url('/ok/budget')}</link></item></channel></rss>")
                              .encode())}


@pytest.mark.parametrize(("kind", "listed", "moved", "pages", "expected"), [
    # a relative <loc> in an index that answered through a redirect is relative to where it was found
    ("sitemap", "/sitemap.xml", {"/sitemap.xml": "/maps/index.xml"}, _moved_index,
     [("/sitemap.xml", "loaded", "listed:0;sitemaps=1"), ("/maps/news-1.xml", "loaded", "listed:1"),
      ("/ok/moved-story", "loaded", "new")]),
    # a site that moved its feed and left an HTML page refreshing to the new address: it failed as html_page
    ("feed", "/rss.php", {}, _refreshing_feed_address,
     [("/rss.php", "loaded", "listed:1"), ("/ok/budget", "loaded", "new")]),
], ids=["moved-index", "refreshing-feed-address"])
def test_a_listing_found_at_another_address_loads_what_it_lists(tmp_path, data_env, kind, listed, moved, pages,
                                                                expected):
    with FaultServer() as server:
        server.moved.update(moved)
        server.pages.update(pages(server.url))
        run(tmp_path, server, "moved", f"  - {{name: herald, kind: {kind}, url: '{server.url(listed)}'}}\n")
    [rows] = query(data_env, "select url, outcome, reason from fetch_log order by url_kind = 'article', seq")
    base = server.url("")
    assert [(url.removeprefix(base), outcome, reason) for url, outcome, reason in rows] == expected


def test_a_source_filter_string_names_sources_however_it_is_spaced(tmp_path, data_env):
    """plan_run takes the DAG's `sources` conf as one comma-separated string: blanks around a name and empty items
    are ignored, so " beta , alpha,," plans beta and alpha (in the file's order), not an unknown " beta "."""
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - {{name: {name}, kind: urls, urls: ['https://{name}.example/']}}\n" for name in ("alpha", "beta", "gamma")))
    assert [job.name for job in plan_run(str(sources), " beta , alpha,,", "r1")] == ["alpha", "beta"]


def test_more_sources_than_airflow_can_map_in_one_run_is_a_configuration_error(tmp_path, data_env, monkeypatch):
    """A run maps a task per source; over Airflow's [core] max_map_length the plan's result was refused when it was
    stored ("pushed value is too large to map"), after the plan's retries, and the run loaded nothing. The plan
    says it first, as a configuration error (no retries), with the setting to change; a run of fewer sources of
    the same file plans, and so does the same file at the limit."""
    from newsflow.config import ConfigError
    from newsflow.stages.failures import classify
    from newsflow.stages.reprocess import plan_reprocess

    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - {{name: s{i}, kind: urls, urls: ['https://s{i}.example/']}}\n" for i in range(3)))
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2")
    for plan in (lambda: plan_run(str(sources), None, "r1"), lambda: plan_reprocess(str(sources), None, None, None,
                                                                                      "rp")):
        with pytest.raises(ConfigError) as refused:
            plan()
        permanent, cause = classify(refused.value)
        assert permanent and cause.startswith("configuration: 3 sources in one run, more than Airflow's [core] "
                                              "max_map_length (2)"), cause
        assert "AIRFLOW__CORE__MAX_MAP_LENGTH to 3 or more" in cause
    assert [job.name for job in plan_run(str(sources), ["s0", "s2"], "r1")] == ["s0", "s2"]
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "3")
    assert len(plan_run(str(sources), None, "r1")) == 3


def test_a_relative_sources_file_in_the_working_directory_beats_the_projects(tmp_path, data_env, monkeypatch):
    """A relative sources file is read from the working directory when it is there; the project root is only the
    fallback (config/sources.yaml exists in both here), or a worker would silently run the project's sources."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yaml").write_text(
        "sources:\n  - {name: only_here, kind: urls, urls: ['https://here.example/']}\n")
    monkeypatch.chdir(tmp_path)
    jobs = plan_run("config/sources.yaml", None, "r1")
    assert [job.name for job in jobs] == ["only_here"]
    assert jobs[0].sources_file == str(tmp_path.resolve() / "config" / "sources.yaml")


def test_a_child_sitemap_named_again_past_the_limit_has_a_row_of_its_own(tmp_path, data_env, monkeypatch):
    """The rule holds where the limits stop the reading too: an index naming itself again, and a month twice, past
    the documents a source reads in a run, gave the first naming of the month its `over_limit` row and the others
    none (under the limit each has its `duplicate` row)."""
    from newsflow import discover

    monkeypatch.setattr(discover, "MAX_SITEMAP_DOCS", 2)
    xml = "application/xml"
    with FaultServer() as server:
        children = ("/sitemap-2024-01.xml", "/sitemap-2024-02.xml", "/sitemap.xml", "/sitemap-2024-02.xml")
        locs = "".join(f"<sitemap><loc>{server.url(c)}</loc></sitemap>" for c in children)
        server.pages["/sitemap.xml"] = (
            xml, f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'.encode())
        for month in ("01", "02"):
            server.pages[f"/sitemap-2024-{month}.xml"] = (xml, (
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f'<url><loc>{server.url(f"/ok/story-{month}")}</loc></url></urlset>').encode())
        run(tmp_path, server, "again", f"  - {{name: herald, kind: sitemap, url: '{server.url('/sitemap.xml')}'}}\n")
        asked = server.hits.get("/sitemap-2024-02.xml", 0)
    [rows] = query(data_env, "select url_kind, url, outcome, reason from fetch_log order by url_kind = 'article', seq")
    assert [(kind, url.removeprefix(server.base), outcome, reason) for kind, url, outcome, reason in rows] == [
        ("sitemap", "/sitemap.xml", "loaded", "listed:0;sitemaps=4"),
        ("sitemap", "/sitemap-2024-01.xml", "loaded", "listed:1"),
        ("sitemap", "/sitemap-2024-02.xml", "skipped", "over_limit"),
        ("sitemap", "/sitemap.xml", "skipped", "duplicate"),
        ("sitemap", "/sitemap-2024-02.xml", "skipped", "duplicate"),
        ("article", "/ok/story-01", "loaded", "new"),
    ]
    assert asked == 0
