"""Listings that answer what no listing should: a 304 to a request without validators, an XML or JSON document
served as a remote URL list, a web page whose announced feed leads back to itself. Each ends as one failed listing
row with its reason, its source failed as a 404 leaves it, the others loading, and `newsflow check` says the same;
nothing crashes the discover stage (its task was retried for minutes) and no junk is requested."""

from __future__ import annotations

import gzip
import json

import pytest

from newsflow.cli import main
from newsflow.discover import DiscoveryError, parse_url_list_file
from newsflow.encoding import decode_text
from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.failures import PermanentError
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer

RSS = "application/rss+xml"
HTML = "text/html; charset=utf-8"


def write_sources(tmp_path, servers, sources_yaml: str) -> str:
    allowed = ", ".join(f"'127.0.0.1:{server.port}'" for server in servers)
    path = tmp_path / "sources.yaml"
    path.write_text(f"settings:\n  allow_private_hosts: [{allowed}]\n  min_host_interval_s: 0\n  max_tries: 1\n"
                    "sources:\n" + sources_yaml, encoding="utf-8")
    return str(path)


def run(tmp_path, servers, run_id: str, sources_yaml: str) -> None:
    """Every stage of one news_ingest run, as its tasks call them: the discover stage must not raise."""
    sources = write_sources(tmp_path, servers, sources_yaml)
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(sources, None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    check_accounting(jobs, run_id=run_id)


def logged(data_env, run_id: str, base: str) -> tuple[list[tuple], str]:
    """(source, url_kind, path, outcome, reason, http_status) rows of the run, and its status."""
    con = connect(data_env / "warehouse", read_only=True)
    try:
        rows = con.execute("select source, url_kind, url, outcome, reason, http_status from fetch_log "
                           "where run_id = ? order by source, url_kind = 'article', seq", [run_id]).fetchall()
        [(status,)] = con.execute("select status from runs where run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    return [(s, k, u.removeprefix(base), o, r, h) for s, k, u, o, r, h in rows], status


def check(tmp_path, capsys, servers, sources_yaml: str) -> tuple[int, list[str]]:
    code = main(["check", "--sources", write_sources(tmp_path, servers, sources_yaml)])
    return code, capsys.readouterr().out.splitlines()


def healthy_feed(server) -> None:
    server.pages["/okfeed"] = (RSS, ("<rss version='2.0'><channel><item><title>a</title>"
                                     f"<link>{server.url('/ok/story')}</link></item></channel></rss>").encode())


# -- 1. a 304 to an unconditional request ---------------------------------------------------------------------------

def test_a_listing_answering_304_without_validators_fails_as_http_304(tmp_path, data_env):
    """Before, the stage asked again without validators, read the second 304's empty body and crashed: every source
    ended `source_failed:discover: TypeError` (AttributeError for the URL list) after the task's retries."""
    with FaultServer() as server:
        healthy_feed(server)
        url = server.url("/status/304")
        run(tmp_path, [server], "r304",
            f"  - {{name: f304, kind: feed, url: '{url}'}}\n"
            f"  - {{name: s304, kind: sitemap, url: '{url}'}}\n"
            f"  - {{name: u304, kind: urls, urls_file: '{url}'}}\n"
            f"  - {{name: okf, kind: feed, url: '{server.url('/okfeed')}'}}\n")
        hits = server.hits.get("/status/304")
    rows, status = logged(data_env, "r304", server.base)
    assert rows == [
        ("f304", "feed", "/status/304", "failed", "http_304", 304),
        ("okf", "feed", "/okfeed", "loaded", "listed:1", 200),
        ("okf", "article", "/ok/story", "loaded", "new", 200),
        ("s304", "sitemap", "/status/304", "failed", "http_304", 304),
        ("u304", "url_list", "/status/304", "failed", "http_304", 304),
    ]
    assert hits == 3  # once per source: the request had no validators, asking again without them is no use
    assert status == "partial"  # the three listings unread are failed sources, as a 404 leaves them


def test_a_listing_whose_conditional_304_has_no_archived_copy_is_asked_once_more(tmp_path, data_env):
    """With validators kept but the archived copy gone, the listing is asked again without them: a server that
    answers 304 to that too is http_304, not a crash."""
    with FaultServer() as server:
        server.pages["/feed"] = (RSS, ("<rss version='2.0'><channel><item><title>a</title>"
                                       f"<link>{server.url('/ok/story')}</link></item></channel></rss>").encode())
        sources = f"  - {{name: wire, kind: feed, url: '{server.url('/feed')}'}}\n"
        run(tmp_path, [server], "first", sources)
        answering = server.url("/status/304")
        con = connect(data_env / "warehouse")
        try:  # the validators a first run kept, moved to an address that answers 304, the archive since gone
            con.execute("update http_cache set canonical_url = ?, final_url = null, etag = '\"v1\"', "
                        "warc_file = '/nonexistent.warc.gz', warc_offset = 0", [answering])
        finally:
            con.close()
        with pytest.raises(PermanentError, match=r"wire: discover: no listing could be read \(feed http_304\)"):
            # its only source failed: the run fails, once
            run(tmp_path, [server], "second", f"  - {{name: wire, kind: feed, url: '{answering}'}}\n")
        hits = server.hits.get("/status/304")
    rows, status = logged(data_env, "second", server.base)
    assert rows == [("wire", "feed", "/status/304", "failed", "http_304", 304)]
    assert hits == 2  # with its validators, then without them
    assert status == "failed"


def test_check_reports_a_304_listing_in_one_line_and_the_healthy_source_beside_it(tmp_path, data_env, capsys):
    with FaultServer() as server:
        healthy_feed(server)
        code, lines = check(tmp_path, capsys, [server],
                            f"  - {{name: f304, kind: feed, url: '{server.url('/status/304')}'}}\n"
                            f"  - {{name: okf, kind: feed, url: '{server.url('/okfeed')}'}}\n")
    assert code == 1
    assert lines[:2] == ["f304 (feed): PROBLEM: 0 article URL(s) to fetch",
                         f"  feed {server.url('/status/304')}: failed http_304 HTTP 304"]
    assert lines[2] == "okf (feed): ok: 1 article URL(s) to fetch"


# -- 2. an XML or JSON document served as a remote URL list ---------------------------------------------------------

def _sitemap(server) -> bytes:
    # pretty-printed, as sitemap generators write them: every line was requested as a URL (`/<url>`, `/<loc>…`)
    urls = "".join(f"  <url>\n    <loc>{server.url(f'/ok/{i}')}</loc>\n    <lastmod>2024-05-01</lastmod>\n  </url>\n"
                   for i in range(5))
    return ("<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>\n{urls}</urlset>\n").encode()


DOCUMENTS = {
    "sitemap": ("application/xml", _sitemap, "not_a_url_list:sitemap"),
    "index": ("text/xml", lambda s: (
        "\ufeff<?xml version='1.0'?>\r\n<?xml-stylesheet type='text/xsl' href='/sitemap.xsl'?>\r\n<!-- by a plugin -->\r\n"
        f"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>\r\n<sitemap><loc>{s.url('/sm1.xml')}"
        "</loc></sitemap>\r\n</sitemapindex>\r\n").encode(), "not_a_url_list:sitemap"),
    "rss": (RSS, lambda s: (f"<rss version='2.0'>\n<channel>\n<item>\n<link>{s.url('/ok/1')}</link>\n</item>\n"
                            "</channel>\n</rss>\n").encode(), "not_a_url_list:feed"),
    "atom": ("text/plain", lambda s: ("<feed xmlns='http://www.w3.org/2005/Atom'>\n<entry>\n"
                                      f"<link href='{s.url('/ok/1')}'/>\n</entry>\n</feed>\n").encode(),
             "not_a_url_list:feed"),
    "other_xml": ("application/xml", lambda s: f"<links>\n<a>{s.url('/ok/1')}</a>\n</links>\n".encode(),
                  "not_a_url_list:xml"),
    "json_array": ("application/json", lambda s: json.dumps([s.url("/ok/1"), s.url("/ok/2")], indent=2).encode(),
                   "not_a_url_list:json"),
    "json_feed": ("application/feed+json", lambda s: json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "items": [{"url": s.url("/ok/1")}]}, indent=1).encode(),
        "not_a_url_list:feed"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_an_xml_or_json_document_as_a_url_list_fails_without_a_request_for_its_lines(tmp_path, data_env, name):
    content_type, body, reason = DOCUMENTS[name]
    with FaultServer() as server:
        healthy_feed(server)
        server.pages["/list"] = (content_type, body(server))
        run(tmp_path, [server], "doc",
            f"  - {{name: remote, kind: urls, urls_file: '{server.url('/list')}'}}\n"
            f"  - {{name: okf, kind: feed, url: '{server.url('/okfeed')}'}}\n")
        asked = set(server.hits)
    rows, status = logged(data_env, "doc", server.base)
    assert [row for row in rows if row[0] == "remote"] == [("remote", "url_list", "/list", "failed", reason, 200)]
    # the list, the healthy source's feed and article, and robots.txt: none of the document's lines
    assert asked <= {"/list", "/okfeed", "/ok/story", "/robots.txt"}, asked
    assert status == "partial"


def test_check_says_a_sitemap_given_as_a_url_list_is_a_sitemap(tmp_path, data_env, capsys):
    with FaultServer() as server:
        server.pages["/sitemap.xml"] = ("application/xml", _sitemap(server))
        code, lines = check(tmp_path, capsys, [server],
                            f"  - {{name: smasurls, kind: urls, urls_file: '{server.url('/sitemap.xml')}'}}\n")
    assert code == 1
    assert lines == ["smasurls (urls): PROBLEM: 0 article URL(s) to fetch",
                     f"  url_list {server.url('/sitemap.xml')}: failed not_a_url_list:sitemap HTTP 200 (a sitemap, not one "
                     "URL a line: give it as kind: sitemap)"]


def test_a_document_on_disk_given_as_a_url_list_fails_its_listing(tmp_path, data_env, capsys):
    """A local `urls_file` skipped the document checks a remote one gets: a sitemap, a saved web page, a JSON export
    or a compressed list became a `skipped: bad_scheme` row a line and a run with nothing wrong in it."""
    (tmp_path / "lists").mkdir()
    files = {
        "sitemap": (b"<?xml version='1.0'?>\n<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>\n"
                    b"<url><loc>https://vesti.example/2018/05/21/metro.html</loc></url>\n</urlset>\n"),
        "page": "<!doctype html>\n<html lang='ar'><body><a href='/news/1.html'>خبر</a></body></html>\n".encode(),
        "export": b'{"urls": ["https://vesti.example/2018/05/21/metro.html"]}\n',
        "packed": gzip.compress(b"https://vesti.example/2018/05/21/metro.html\n" * 40),
        "picks": "# 精选\nhttps://vesti.example/2018/05/21/metro.html\n".encode(),
    }
    for name, data in files.items():
        (tmp_path / "lists" / f"{name}.txt").write_bytes(data)
    sources = "".join(f"  - {{name: {name}, kind: urls, urls_file: lists/{name}.txt}}\n" for name in files)
    code, lines = check(tmp_path, capsys, [], sources)
    assert code == 1
    assert lines[:8] == [
        "sitemap (urls): PROBLEM: 0 article URL(s) to fetch",
        f"  url_list {tmp_path}/lists/sitemap.txt: failed not_a_url_list:sitemap (a sitemap, not one URL a line: "
        "give it as kind: sitemap)",
        "page (urls): PROBLEM: 0 article URL(s) to fetch",
        f"  url_list {tmp_path}/lists/page.txt: failed html_page (a web page, not a listing: give the site's feed or "
        "sitemap URL)",
        "export (urls): PROBLEM: 0 article URL(s) to fetch",
        f"  url_list {tmp_path}/lists/export.txt: failed not_a_url_list:json",
        "packed (urls): PROBLEM: 0 article URL(s) to fetch",
        f"  url_list {tmp_path}/lists/packed.txt: failed not_a_url_list",
    ]
    assert lines[8:] == ["picks (urls): ok: 1 article URL(s) to fetch",
                         "  e.g. https://vesti.example/2018/05/21/metro.html"]

    # a whole run, a healthy feed on loopback beside them (the picks' host is no host of this machine)
    with FaultServer() as server:
        healthy_feed(server)
        run(tmp_path, [server], "disk", "".join(line for line in sources.splitlines(keepends=True)
                                                if "picks" not in line) + f"  - {{name: ok, kind: feed, url: '{server.url('/okfeed')}'}}\n")
    rows, status = logged(data_env, "disk", "")
    assert [(s, k, o, r) for s, k, _u, o, r, _h in rows if s != "ok"] == [
        ("export", "url_list", "failed", "not_a_url_list:json"),
        ("packed", "url_list", "failed", "not_a_url_list"),
        ("page", "url_list", "failed", "html_page"),
        ("sitemap", "url_list", "failed", "not_a_url_list:sitemap"),
    ]
    assert status == "partial"


@pytest.mark.parametrize("data", [
    "\ufeff# picks\r\n\r\nhttp://a.example/1\r\n  http://a.example/2  \r\n".encode(),
    "# picks\r\nhttp://a.example/1\r\nhttp://a.example/2\r\n".encode("utf-16"),
    b"# a comment that mentions <urlset> and [json]\nhttp://a.example/1\n\nhttp://a.example/2\n",
    b"http://a.example/1\rhttp://a.example/2\r",
    # URLs delimited as RFC 3986 Appendix C writes them in text are no XML elements: each line its own row
    b"<http://a.example/1>\n<URL:http://a.example/2>\n",
    b"/relative/1\n?page=2\n",
])
def test_a_url_list_is_still_read_whatever_its_comments_breaks_and_marks(data):
    assert len(parse_url_list_file(decode_text(data))) == 2  # decoded as the discover stage decodes it


@pytest.mark.parametrize(("text", "reason"), [
    ("<?xml version='1.0'?><urlset><url><loc>http://a.example/1</loc></url></urlset>", "not_a_url_list:sitemap"),
    ("\n\n  <!-- generated --><!DOCTYPE rss><rss version='2.0'></rss>", "not_a_url_list:feed"),
    ("<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'></rdf:RDF>", "not_a_url_list:feed"),
    ('{"urls": ["http://a.example/1"]}', "not_a_url_list:json"),
    ('["http://a.example/1",\n', "not_a_url_list:json"),  # cut short: still no list of lines
])
def test_markup_and_json_are_no_url_lists(text, reason):
    with pytest.raises(DiscoveryError) as info:
        parse_url_list_file(text)
    assert info.value.reason == reason


# -- 3. a web page whose announced listing leads back to itself ------------------------------------------------------

def _home(feed: str) -> tuple[str, bytes]:
    return HTML, (f"<html><head><title>Home</title><link rel='alternate' type='application/rss+xml' href='{feed}'>"
                  "</head><body><a href='/ok/1'>x</a></body></html>").encode()


def test_a_page_whose_announced_feed_leads_back_to_itself_fails_as_html_page(tmp_path, data_env):
    """Before, the announced feed was queued, dropped as already read, and the source ended `loaded feed_linked`
    with nothing listed: no failure, a run `succeeded` with nothing in it."""
    with FaultServer() as server:
        healthy_feed(server)
        server.pages["/selffeed"] = _home("/selffeed")
        server.moved["/feed-moved"] = "/home"  # a feed address now sent to the home page, which still announces it
        server.pages["/home"] = _home("/feed-moved")
        server.pages["/absolute"] = _home(server.url("/absolute#top"))
        run(tmp_path, [server], "loop",
            f"  - {{name: selff, kind: feed, url: '{server.url('/selffeed')}'}}\n"
            f"  - {{name: moved, kind: feed, url: '{server.url('/feed-moved')}'}}\n"
            f"  - {{name: absol, kind: feed, url: '{server.url('/absolute')}'}}\n"
            f"  - {{name: okf, kind: feed, url: '{server.url('/okfeed')}'}}\n")
        hits = dict(server.hits)
    rows, status = logged(data_env, "loop", server.base)
    assert rows == [
        ("absol", "feed", "/absolute", "failed", "html_page", 200),
        ("moved", "feed", "/feed-moved", "failed", "html_page", 200),
        ("okf", "feed", "/okfeed", "loaded", "listed:1", 200),
        ("okf", "article", "/ok/story", "loaded", "new", 200),
        ("selff", "feed", "/selffeed", "failed", "html_page", 200),
    ]
    assert hits["/selffeed"] == 1 and hits["/home"] == 1 and hits["/absolute"] == 1
    assert status == "partial"


def test_a_page_whose_robots_txt_names_only_that_page_fails_its_robots_row(tmp_path, data_env):
    with FaultServer() as server:
        server.pages["/page-sm"] = (HTML, b"<html><body>home page</body></html>")
        server.pages["/robots.txt"] = ("text/plain", f"User-agent: *\nAllow: /\nSitemap: {server.url('/page-sm')}\n"
                                       .encode())
        # the page's `loaded sitemaps_from_robots` row only led to the robots.txt, which named no other sitemap:
        # no listing was read, and the only source failing fails the run
        with pytest.raises(PermanentError, match=r"smpage: discover: no listing could be read \(sitemap not_a_sitemap\)"):
            run(tmp_path, [server], "robots_loop",
                f"  - {{name: smpage, kind: sitemap, url: '{server.url('/page-sm')}'}}\n")
    rows, status = logged(data_env, "robots_loop", server.base)
    assert status == "failed"
    assert rows == [
        ("smpage", "sitemap", "/page-sm", "loaded", "sitemaps_from_robots", 200),
        ("smpage", "sitemap", "/robots.txt", "failed", "not_a_sitemap", 200),
    ]


def test_check_says_a_page_announcing_itself_is_a_web_page(tmp_path, data_env, capsys, caplog):
    with FaultServer() as server:
        server.pages["/selffeed"] = _home("/selffeed")
        code, lines = check(tmp_path, capsys, [server],
                            f"  - {{name: selff, kind: feed, url: '{server.url('/selffeed')}'}}\n")
    assert code == 1
    assert lines == ["selff (feed): PROBLEM: 0 article URL(s) to fetch",
                     f"  feed {server.url('/selffeed')}: failed html_page HTTP 200 (a web page, not a listing: give "
                     "the site's feed or sitemap URL)"]
    assert "reading" not in caplog.text  # it named the page itself as the feed it would read instead
    assert "leads back to a listing already read" in caplog.text
