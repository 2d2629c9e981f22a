"""Discovery parsers on realistic and hostile listings: RSS 2.0, RSS 1.0, Atom, news sitemaps, sitemap indexes,
gzip, URL lists, WARC files; broken or malicious XML ends in a DiscoveryError, never a crash or a network call."""

from __future__ import annotations

import gzip
import io

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.discover import (
    DiscoveryError,
    linked_feed,
    parse_feed,
    parse_sitemap,
    parse_url_list,
    warc_entries,
)

RSS = """<?xml version="1.0" encoding="windows-1256"?>
<rss version="2.0"><channel><title>الحدث</title>
<item><title>عنوان أول</title><link>https://alhadath.example/2018/05/21/a.html</link>
<pubDate>Mon, 21 May 2018 12:23:00 +0300</pubDate></item>
<item><title>بلا رابط</title><guid isPermaLink="true">https://alhadath.example/b.html</guid></item>
<item><title>guid that is not a link</title><guid isPermaLink="false">tag:1234</guid></item>
</channel></rss>""".encode("windows-1256")

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Novosti</title>
<entry><title>One</title><link rel="alternate" href="https://novosti.example/1"/><link rel="enclosure" href="https://novosti.example/1.mp3"/>
<published>2018-05-21T12:23:00+03:00</published><updated>2018-05-22T08:00:00+03:00</updated></entry>
<entry><title>Two</title><link href="https://novosti.example/2"/><updated>2018-05-23T08:00:00Z</updated></entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<item rdf:about="https://old.example/x"><title>X</title><link>https://old.example/x</link><dc:date>2018-05-21</dc:date></item>
</rdf:RDF>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://herald.example/news/a</loc><lastmod>2018-06-01</lastmod>
<news:news><news:publication><news:name>Herald</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2018-05-21T12:23:00+01:00</news:publication_date><news:title>A story</news:title></news:news></url>
<url><loc>https://herald.example/news/b</loc><lastmod>2018-05-22</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://herald.example/sitemap-1.xml</loc></sitemap><sitemap><loc>https://herald.example/sitemap-2.xml.gz</loc></sitemap>
</sitemapindex>"""

JSON_FEED = """{"version": "https://jsonfeed.org/version/1.1", "title": "Новости", "home_page_url": "https://novosti.example/",
 "items": [
  {"id": "1", "url": "https://novosti.example/2018/05/21/vybory", "title": "Выборы в городском совете",
   "date_published": "2018-05-21T12:23:00+03:00", "content_html": "<p>Совет проголосовал</p>"},
  {"id": "2", "external_url": "https://wire.example/story/2", "title": "Ссылка на агентство",
   "date_modified": "2018-05-22T08:00:00Z"},
  {"id": "https://novosti.example/2018/05/23/3", "title": "Идентификатор-ссылка"},
  {"id": "tag:novosti.example,2018:4", "title": "Заметка без адреса", "content_text": "…"}
 ]}""".encode()

XXE = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">
<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><item><title>&xxe;&lol2;</title><link>https://x.example/a</link></item></channel></rss>"""


def test_rss_in_legacy_encoding():
    unlinked: list[str] = []
    entries = parse_feed(RSS, unlinked=unlinked)
    assert unlinked == ["guid that is not a link"]
    assert [e.url for e in entries] == ["https://alhadath.example/2018/05/21/a.html", "https://alhadath.example/b.html"]
    assert entries[0].title == "عنوان أول" and entries[0].date == "Mon, 21 May 2018 12:23:00 +0300"
    assert entries[1].date is None


def test_atom_prefers_alternate_link_and_published_date():
    entries = parse_feed(ATOM)
    assert [(e.url, e.date) for e in entries] == [
        ("https://novosti.example/1", "2018-05-21T12:23:00+03:00"),
        ("https://novosti.example/2", "2018-05-23T08:00:00Z"),
    ]


def test_rss_1_rdf():
    entries = parse_feed(RDF)
    assert [(e.url, e.date) for e in entries] == [("https://old.example/x", "2018-05-21")]


def test_news_sitemap_prefers_publication_date():
    entries, children = parse_sitemap(NEWS_SITEMAP)
    assert children == []
    assert [(e.url, e.date, e.title) for e in entries] == [
        ("https://herald.example/news/a", "2018-05-21T12:23:00+01:00", "A story"),
        ("https://herald.example/news/b", "2018-05-22", None),
    ]


def test_sitemap_index_and_gzip():
    entries, children = parse_sitemap(gzip.compress(INDEX))
    assert entries == [] and children == ["https://herald.example/sitemap-1.xml", "https://herald.example/sitemap-2.xml.gz"]


def test_an_index_gives_its_most_recently_modified_sitemaps_first():
    # listed oldest first, as many CMSs write them; a run reads a bounded number, so this month's must come first
    index = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://herald.example/2024-01.xml</loc><lastmod>2024-01-31</lastmod></sitemap>
<sitemap><loc>https://herald.example/pages.xml</loc></sitemap>
<sitemap><loc>https://herald.example/2024-03.xml</loc><lastmod>2024-03-14T09:00:00+02:00</lastmod></sitemap>
<sitemap><loc>https://herald.example/2024-02.xml</loc><lastmod>2024-02-29T23:00:00Z</lastmod></sitemap>
<sitemap><loc>https://herald.example/tags.xml</loc><lastmod>not a date</lastmod></sitemap>
</sitemapindex>"""
    assert parse_sitemap(index)[1] == [
        "https://herald.example/2024-03.xml", "https://herald.example/2024-02.xml", "https://herald.example/2024-01.xml",
        "https://herald.example/pages.xml", "https://herald.example/tags.xml",
    ]


def test_an_atom_entry_is_dated_by_published_even_when_updated_comes_first():
    # WordPress's feed-atom.php writes <updated> (the last edit) before <published>: the entry took the edit's date,
    # and a page without a date of its own was stored as published days after it was
    feed = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>https://blog.example/feed/atom/</id>
<entry><author><name>editor</name></author><title type="html"><![CDATA[Council approves the budget]]></title>
<link rel="alternate" type="text/html" href="https://blog.example/2026/12/01/budget/"/><id>https://blog.example/?p=101</id>
<updated>2026-12-05T09:00:00Z</updated><published>2026-12-01T07:30:00Z</published></entry>
<entry><title>Only updated</title><link href="https://blog.example/2026/12/02/notice/"/>
<updated>2026-12-02T08:00:00Z</updated></entry></feed>"""
    assert [entry.date for entry in parse_feed(feed)] == ["2026-12-01T07:30:00Z", "2026-12-02T08:00:00Z"]


def test_entities_are_not_expanded():
    entries = parse_feed(XXE)
    assert entries and "root:" not in (entries[0].title or "") and "lol" not in (entries[0].title or "")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_document"),
        (b"<html><body>not a feed</body></html>", "html_page"),
        (b"<catalog><book/></catalog>", "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "json_parse_error"),
        (b'{"data": [{"url": "https://x.example/a"}]}', "not_a_feed"),
        (b'{"a": ' * 50_000, "json_parse_error"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt_gzip"),
        (b"\x00\x01\x02 binary", "xml_parse_error"),
    ],
)
def test_broken_listings_raise_discovery_errors(data, reason):
    with pytest.raises(DiscoveryError) as info:
        parse_feed(data)
    assert info.value.reason == reason


def test_a_sitemap_url_without_loc_is_counted_as_unlinked():
    unlinked: list[str] = []
    entries, _ = parse_sitemap(NEWS_SITEMAP.replace(b"<loc>https://herald.example/news/b</loc>", b""), unlinked=unlinked)
    assert [e.url for e in entries] == ["https://herald.example/news/a"] and unlinked == [""]


def test_sitemap_root_check():
    with pytest.raises(DiscoveryError, match="not_a_sitemap"):
        parse_sitemap(b"<catalog><book/></catalog>")


def test_a_json_feed_lists_its_items_pages():
    """JSON Feed (jsonfeed.org) is what many CMSs and static sites publish beside or instead of RSS; it was
    `xml_parse_error: no root element`."""
    unlinked: list[str] = []
    entries = parse_feed(b"\xef\xbb\xbf  " + JSON_FEED, unlinked=unlinked)
    assert [(e.url, e.date, e.title) for e in entries] == [
        ("https://novosti.example/2018/05/21/vybory", "2018-05-21T12:23:00+03:00", "Выборы в городском совете"),
        ("https://wire.example/story/2", "2018-05-22T08:00:00Z", "Ссылка на агентство"),
        ("https://novosti.example/2018/05/23/3", None, "Идентификатор-ссылка"),
    ]
    assert unlinked == ["Заметка без адреса"]
    assert [e.url for e in parse_feed(gzip.compress(JSON_FEED))] == [e.url for e in entries]


def test_a_json_feed_with_values_of_the_wrong_type_lists_what_it_can():
    unlinked: list[str] = []
    data = (b'{"version": "https://jsonfeed.org/version/1", "items": [{"url": 5, "title": ["x"]}, "junk", null, '
            b'{"url": "   "}, {"url": "https://x.example/ok", "date_published": 20180521}]}')
    entries = parse_feed(data, unlinked=unlinked)
    assert [(e.url, e.date, e.title) for e in entries] == [("https://x.example/ok", None, None)]
    assert unlinked == ["", "", "", ""]


@pytest.mark.parametrize("parse", [parse_feed, parse_sitemap])
@pytest.mark.parametrize("page", [
    b"<!DOCTYPE html>\n<html lang='ar' dir='rtl'><head><title>\xd8\xa7\xd9\x84\xd8\xad\xd8\xaf\xd8\xab</title></head></html>",
    b"\n<!-- cache: hit -->\n<HTML><BODY>Home</BODY></HTML>",
    b"<?xml version='1.0' encoding='utf-8'?>\n<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0 Strict//EN' "
    b"'http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd'><html xmlns='http://www.w3.org/1999/xhtml'><body/></html>",
])
def test_a_web_page_given_as_a_listing_is_said_to_be_one(parse, page):
    """A site's home page where its feed or sitemap was expected, the commonest mistake in a sources file: the
    recovering XML parser reported "no root element"."""
    with pytest.raises(DiscoveryError) as info:
        parse(page)
    assert info.value.reason == "html_page"


def test_a_web_page_announces_its_feed():
    page = ("<!DOCTYPE html><html lang='ar'><head><meta charset='windows-1256'><title>الحدث</title>"
            "<link rel='stylesheet' href='/site.css'>"
            "<link rel='alternate' hreflang='en' href='/en/'>"
            "<link rel='alternate' type='application/rss+xml' title='الحدث » الخلاصة' href='/feed/'>"
            "<link rel='alternate' type='application/rss+xml' title='الحدث » خلاصة التعليقات' href='/comments/feed/'>"
            "</head><body><h1>الحدث</h1></body></html>").encode("windows-1256")
    assert linked_feed(page) == "/feed/"
    assert linked_feed(b"<html><head><LINK REL='Alternate' TYPE='application/atom+xml; charset=utf-8' "
                       b"HREF=' https://x.example/atom.xml '></head></html>") == "https://x.example/atom.xml"
    assert linked_feed(b"<html><head><link rel='alternate' type='application/feed+json' href='/feed.json'>") == "/feed.json"
    assert linked_feed(b"<html><head><link rel='alternate' hreflang='fr' href='/fr/'></head></html>") is None
    assert linked_feed(b"<html><head><link rel='alternate' type='application/json' "  # WordPress's REST API
                       b"href='https://x.example/wp-json/wp/v2/pages/5'></head></html>") is None
    assert linked_feed(b"") is None and linked_feed(b"\x1f\x8b broken gzip") is None


def test_a_feed_announced_relative_to_the_pages_base_href():
    page = (b"<html><head><base href='https://cdn.example/site/'>"
            b"<link rel='alternate' type='application/rss+xml' href='feed.xml'></head></html>")
    assert linked_feed(page) == "https://cdn.example/site/feed.xml"


def test_feed_links_resolve_against_xml_base():
    """Atom lets a feed make its links relative to `xml:base` (Blogger and other generators do): resolved against
    the feed's own URL instead, each pointed at a page that does not exist."""
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/news/">'
            "<entry><title>الحكومة تعلن الميزانية</title><link href='2024/03/budget.html'/></entry>"
            "<entry xml:base='/archive/'><title>Б</title><link rel='alternate' href='b.html'/></entry>"
            "<entry><title>C</title><link href='https://other.example/c'/></entry>"
            "<entry><title>D</title><link href='d.html' xml:base='https://cdn.example/x/'/></entry></feed>").encode()
    assert [e.url for e in parse_feed(atom)] == [
        "https://blog.example/news/2024/03/budget.html", "https://blog.example/archive/b.html",
        "https://other.example/c", "https://cdn.example/x/d.html"]
    rss = b"<rss version='2.0' xml:base='https://r.example/sec/'><channel><item><link>p/1.html</link></item></channel></rss>"
    assert [e.url for e in parse_feed(rss)] == ["https://r.example/sec/p/1.html"]
    # no xml:base: as written (the listing's own URL resolves it later)
    assert [e.url for e in parse_feed(rss.replace(b" xml:base='https://r.example/sec/'", b""))] == ["p/1.html"]


def test_feedburner_items_give_the_publishers_own_url():
    rss = ('<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><item>'
           "<title>Мост через Ушайку открыли</title><link>http://feedproxy.google.com/~r/tomsk/~3/xYz/</link>"
           "<feedburner:origLink>https://tomsk.example/news/most.html</feedburner:origLink></item>"
           "<item><title>Без origLink</title><link>https://tomsk.example/news/b.html</link></item>"
           "</channel></rss>").encode()
    assert [e.url for e in parse_feed(rss)] == ["https://tomsk.example/news/most.html", "https://tomsk.example/news/b.html"]
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">'
            b"<entry><title>A</title><link rel='alternate' href='http://feedproxy.google.com/~r/x/~3/a/'/>"
            b"<feedburner:origLink>https://x.example/a</feedburner:origLink></entry></feed>")
    assert [e.url for e in parse_feed(atom)] == ["https://x.example/a"]


@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="UTF-16"?>', '<?xml version="1.0"?>', "",
                                         '\n  <?xml version="1.0" encoding="utf-16"?>'],
                         ids=["declared-utf16", "declared-no-encoding", "undeclared", "blank-before-declaration"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16"], ids=["le-no-bom", "be-no-bom", "bom"])
def test_utf16_listings_with_or_without_bom_and_declaration(declaration, encoding):
    """The XML parser finds UTF-16 by a byte-order mark or a declaration; a feed with neither read "no root element"."""
    feed = (f"{declaration}<rss version='2.0'><channel><item><title>الحكومة تعلن الميزانية</title>"
            "<link>https://alhadath.example/أخبار/1</link></item></channel></rss>")
    assert [(e.url, e.title) for e in parse_feed(feed.encode(encoding))] == [
        ("https://alhadath.example/أخبار/1", "الحكومة تعلن الميزانية")]
    sitemap = (f"{declaration}<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
               "<url><loc>https://lenta.example/новости/1</loc></url></urlset>")
    assert [e.url for e in parse_sitemap(sitemap.encode(encoding))[0]] == ["https://lenta.example/новости/1"]


def test_a_text_sitemap_lists_one_url_a_line():
    """The sitemap protocol's text format: it was `xml_parse_error`."""
    data = ("https://alhadath.example/2018/05/21/أخبار-المجلس\r\n\n  https://alhadath.example/b  \n"
            "HTTPS://ALHADATH.EXAMPLE/C\n").encode()
    entries, children = parse_sitemap(data)
    assert [e.url for e in entries] == ["https://alhadath.example/2018/05/21/أخبار-المجلس",
                                        "https://alhadath.example/b", "HTTPS://ALHADATH.EXAMPLE/C"]
    assert children == [] and [e.url for e in parse_sitemap(gzip.compress(data))[0]] == [e.url for e in entries]
    with pytest.raises(DiscoveryError, match="xml_parse_error"):  # not every line a URL: not a text sitemap
        parse_sitemap(b"https://alhadath.example/a\nsee also our archive\n")


def test_a_robots_txt_given_as_a_sitemap_is_read_as_an_index_of_the_sitemaps_it_names():
    robots = (b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /search\r\n\r\n# maps\r\nSitemap: https://herald.example/news-sitemap.xml\r\n"
              b"sitemap:https://herald.example/sitemap-index.xml.gz\r\nSitemap: https://herald.example/news-sitemap.xml\r\n")
    assert parse_sitemap(robots) == ([], ["https://herald.example/news-sitemap.xml",
                                          "https://herald.example/sitemap-index.xml.gz"])
    with pytest.raises(DiscoveryError, match="not_a_sitemap: a robots.txt that names no sitemap"):
        parse_sitemap(b"User-agent: *\nDisallow: /private/\n")


@pytest.mark.parametrize("feed", [ATOM, RDF])
def test_a_feed_given_as_a_sitemap_is_read_as_one(feed):
    """The protocol accepts RSS and Atom feeds as sitemaps (search engines read them so)."""
    entries, children = parse_sitemap(feed)
    assert [e.url for e in entries] == [e.url for e in parse_feed(feed)] and entries and children == []


def test_url_list_ignores_comments_and_blanks():
    assert [e.url for e in parse_url_list("# picks\nhttps://a.example/1\n\n  https://a.example/2  \n")] == [
        "https://a.example/1",
        "https://a.example/2",
    ]


def _warc(path, records):
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, ctype, status, body in records:
            headers = StatusAndHeaders(f"{status} OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                               warc_headers_dict={"WARC-Date": "2018-05-21T10:00:00Z"})
            writer.write_record(record)


def test_warc_entries_list_every_response_with_offsets_and_the_outcome_of_those_that_are_no_page(tmp_path):
    from newsflow.archive import read_response

    _warc(tmp_path / "a.warc.gz", [
        ("https://x.example/a", "text/html; charset=utf-8", 200, b"<html><body>a</body></html>"),
        ("https://x.example/logo.png", "image/png", 200, b"\x89PNG"),
        ("https://x.example/gone", "text/html", 404, b"gone"),
        ("https://x.example/moved", "text/html", 301, b"<html>moved</html>"),
        ("https://x.example/typed-vaguely", "application/octet-stream", 200, b"<!DOCTYPE html><html>v</html>"),
    ])
    _warc(tmp_path / "b.warc.gz", [("https://x.example/b", "text/html", 200, b"<html>b</html>")])
    entries = warc_entries("*.warc.gz", base_dir=tmp_path)
    assert [(e.url, e.warc_date, e.failure and (e.outcome, e.failure)) for e in entries] == [
        ("https://x.example/a", "2018-05-21T10:00:00Z", None),
        ("https://x.example/logo.png", "2018-05-21T10:00:00Z", ("skipped", "not_html")),
        ("https://x.example/gone", "2018-05-21T10:00:00Z", ("failed", "http_404")),
        ("https://x.example/moved", "2018-05-21T10:00:00Z", ("skipped", "redirect")),
        ("https://x.example/typed-vaguely", "2018-05-21T10:00:00Z", None),  # the bytes say HTML, as to a browser
        ("https://x.example/b", "2018-05-21T10:00:00Z", None),
    ]
    assert read_response(entries[-1].warc_file, entries[-1].warc_offset).body == b"<html>b</html>"


def test_a_crawlers_bot_wall_pages_are_named_as_such(tmp_path):
    """A crawl meets the same walls: Cloudflare's challenge (403 with cf-mitigated, or even a 200) and DataDome's
    captcha page were an anonymous http_403 or a page extracted as a short article."""
    from tests.support.faultserver import BOT_WALLS

    with open(tmp_path / "c.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, status, headers, body in [
            ("https://x.example/cf", "403 Forbidden", [("cf-mitigated", "challenge")], BOT_WALLS["cloudflare"][2]),
            ("https://x.example/cf-200", "200 OK", [("CF-Mitigated", "challenge")], b"<html>Just a moment</html>"),
            ("https://x.example/dd", "403 Forbidden", [], BOT_WALLS["datadome"][2]),
            ("https://x.example/forbidden", "403 Forbidden", [], BOT_WALLS["plain-403"][2]),
        ]:
            http = StatusAndHeaders(status, [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    entries = warc_entries(str(tmp_path / "c.warc.gz"))
    assert [(e.url.rsplit("/", 1)[1], e.failure) for e in entries] == [
        ("cf", "blocked:cloudflare"), ("cf-200", "blocked:cloudflare"), ("dd", "blocked:datadome"),
        ("forbidden", "http_403")]


def test_a_redirect_shell_a_crawler_stored_is_a_redirect(tmp_path):
    """A 200 page that refreshes elsewhere at once is a redirect, as a 3xx record is; pages that only reload
    themselves, or refresh old browsers elsewhere in a conditional comment (CNN's), are pages."""
    from tests.support.faultserver import REFRESH_CASES

    _warc(tmp_path / "s.warc.gz", [
        (f"https://x.example/{case}", "text/html", 200, REFRESH_CASES[case].encode())
        for case in ("shell", "shell-quoted", "reload", "ie-comment", "noscript")])
    assert [(e.url.rsplit("/", 1)[1], e.failure and (e.outcome, e.failure), e.target) for e in warc_entries(
        str(tmp_path / "s.warc.gz"))] == [
        ("shell", ("skipped", "redirect"), "https://x.example/ok/after-refresh"),
        ("shell-quoted", ("skipped", "redirect"), "https://x.example/ok/after-refresh?a=1&b=2"),
        ("reload", None, None), ("ie-comment", None, None), ("noscript", None, None)]


def test_records_warcio_reads_no_http_exchange_in_still_get_an_outcome(tmp_path):
    """warcio parses an HTTP block only for an http(s) target: a crawler's `dns:` record, a mistyped scheme and a
    revisit record stored without headers used to vanish from the accounting (read, never listed)."""
    from newsflow.archive import ArchiveScan

    page = b"<html><body><p>" + "Новости дня: мост открыт. ".encode() * 20 + b"</p></body></html>"
    with open(tmp_path / "c.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, kind, payload, more in [
            ("dns:x.example", "response", b"20260101000000\nx.example. 300 IN A 192.0.2.7\n",
             {"warc_content_type": "text/dns"}),
            ("xhttps://x.example/typo", "response", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + page,
             {"warc_content_type": "application/http; msgtype=response"}),
            ("https://x.example/again", "revisit", b"", {"warc_headers_dict": {
                "WARC-Refers-To-Target-URI": "https://x.example/page",
                "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"}}),
            ("https://x.example/page", "response", page, {"http_headers": StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")}),
        ]:
            writer.write_record(writer.create_warc_record(url, kind, payload=io.BytesIO(payload), **more))
    scans: list[ArchiveScan] = []
    entries = warc_entries(str(tmp_path / "c.warc.gz"), scans=scans)
    assert [(e.url, e.failure and (e.outcome, e.failure)) for e in entries] == [
        ("dns:x.example", ("skipped", "bad_scheme")),
        ("xhttps://x.example/typo", ("skipped", "bad_scheme")),
        ("https://x.example/again", ("skipped", "warc_revisit")),
        ("https://x.example/page", None),
    ]
    assert (scans[0].records, scans[0].responses, scans[0].revisits) == (4, 3, 1)


def test_a_response_split_over_continuation_records_is_said_not_read_in_part(tmp_path):
    with open(tmp_path / "s.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        html = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            "https://x.example/long", "response", payload=io.BytesIO(b"<html><body><p>" + b"The first half. " * 50),
            http_headers=html, warc_headers_dict={"WARC-Segment-Number": "1"}))
        writer.write_record(writer.create_warc_record(
            "https://x.example/long", "continuation", payload=io.BytesIO(b"The second half.</p></body></html>"),
            warc_headers_dict={"WARC-Segment-Number": "2", "WARC-Segment-Total-Length": "1000"}))
        writer.write_record(writer.create_warc_record(
            "https://x.example/short", "response", payload=io.BytesIO(b"<html><body><p>Whole.</p></body></html>"),
            http_headers=html))
    entries = warc_entries(str(tmp_path / "s.warc.gz"))
    assert [(e.url, e.failure) for e in entries] == [("https://x.example/long", "warc_segmented"),
                                                       ("https://x.example/short", None)]


def test_missing_or_corrupt_warc(tmp_path):
    with pytest.raises(DiscoveryError, match="warc_not_found"):
        warc_entries(str(tmp_path / "none.warc.gz"))
    (tmp_path / "bad.warc.gz").write_bytes(b"\x1f\x8b\x08\x00 not really a warc")
    scans = []
    assert warc_entries(str(tmp_path / "bad.warc.gz"), scans=scans) == []
    assert [(d.offset, d.reason) for d in scans[0].damage] == [(0, "warc_corrupt")]


def test_a_glob_over_a_crawl_folder_reads_its_files_and_passes_over_its_subfolders(tmp_path):
    """`path: crawls/*` where the crawler also keeps a logs/ folder: the archive is read (the whole source used to
    fail warc_not_found); a folder given by name, or a glob that meets folders only, is still not found."""
    crawls = tmp_path / "crawls"
    (crawls / "logs").mkdir(parents=True)
    with open(crawls / "a.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warc_record(
            "https://x.example/story", "response", payload=io.BytesIO(b"<html><body><p>Story.</p></body></html>"),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")))
    assert [e.url for e in warc_entries("crawls/*", base_dir=tmp_path)] == ["https://x.example/story"]
    for pattern in ("crawls", "crawls/l*", "crawls/log?"):
        with pytest.raises(DiscoveryError, match="warc_not_found"):
            warc_entries(pattern, base_dir=tmp_path)


def test_prefixes_the_listing_never_declares_are_read_by_their_local_name():
    """`<dc:date>` in an RSS feed without xmlns:dc and `<news:news>` in a sitemap without xmlns:news, both common:
    the recovering parser keeps the prefix in the tag, which lxml's QName refused with a ValueError (the whole
    listing was lost)."""
    feed = parse_feed("""<rss version="2.0"><channel><item><title>Новость</title><link>https://vesti.example/1</link>
<dc:creator>И. Иванов</dc:creator><dc:date>2018-05-21T12:23:00+03:00</dc:date></item></channel></rss>""".encode())
    assert [(e.url, e.date, e.title) for e in feed] == [
        ("https://vesti.example/1", "2018-05-21T12:23:00+03:00", "Новость")]
    entries, children = parse_sitemap(NEWS_SITEMAP.replace(
        b' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"', b""))
    assert children == [] and [(e.url, e.date, e.title) for e in entries] == [
        ("https://herald.example/news/a", "2018-05-21T12:23:00+01:00", "A story"),
        ("https://herald.example/news/b", "2018-05-22", None)]


def test_a_gzip_stream_damaged_inside_is_corrupt_gzip():
    """zlib's error for a bad deflate block is neither OSError nor EOFError: it went past the corrupt_gzip check."""
    data = bytearray(gzip.compress(NEWS_SITEMAP * 20))
    data[40:60] = bytes(20)
    with pytest.raises(DiscoveryError) as info:
        parse_sitemap(bytes(data))
    assert info.value.reason == "corrupt_gzip"


def test_a_gzipped_listing_that_inflates_past_the_sitemap_limit_is_refused_whole(monkeypatch):
    """It was cut where reading stopped and its first part read as if it were all of it."""
    import newsflow.discover

    body = b"".join(b"<url><loc>https://herald.example/news/%d</loc></url>" % i for i in range(2000))
    data = gzip.compress(b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>" + body + b"</urlset>")
    assert len(parse_sitemap(data)[0]) == 2000
    monkeypatch.setattr(newsflow.discover, "MAX_UNCOMPRESSED", 50_000)  # a limit the test can reach quickly
    with pytest.raises(DiscoveryError) as info:
        parse_sitemap(data)
    assert info.value.reason == "too_large"


@pytest.mark.parametrize("listing", ["rss", "atom", "rdf", "json_feed", "news_sitemap", "index"])
def test_random_damage_to_a_listing_ends_in_entries_or_a_discovery_error(listing):
    """Flipped bytes, cuts, inserted markup, re-encoding and gzip at random (a fixed seed), 400 damaged copies of
    each listing: the parser returns entries with URLs or raises DiscoveryError, never anything else."""
    import random

    intact, parse = {"rss": (RSS, parse_feed), "atom": (ATOM, parse_feed), "rdf": (RDF, parse_feed),
                     "json_feed": (JSON_FEED, parse_feed), "news_sitemap": (NEWS_SITEMAP, parse_sitemap),
                     "index": (INDEX, parse_sitemap)}[listing]
    rng = random.Random(29)
    snippets = [b"<", b">", b"&", b"]]>", b"<![CDATA[", b"&bogus;", b"\x00", b"\xef\xbb\xbf", b"&#0;",
                b"<?xml version='1.0' encoding='no-such-encoding'?>", b"<a:b:c>", b"<x:>", b"</channel>", b"\xff\xfe"]
    outcomes = set()
    for _ in range(400):
        data = bytearray(intact)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            kind = rng.choice(["flip", "cut", "snippet", "junk", "repeat", "recode", "gzip"])
            if kind == "flip" and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif kind == "cut":
                del data[at:]
            elif kind == "snippet":
                data[at:at] = rng.choice(snippets)
            elif kind == "junk":
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
            elif kind == "repeat":
                data[at:at] = data[:rng.randint(1, 300)]
            elif kind == "recode":
                data = bytearray(bytes(data).decode("utf-8", "replace").encode(rng.choice(["utf-16", "koi8-r"]),
                                                                               "replace"))
            else:
                data = bytearray(gzip.compress(bytes(data))[: rng.choice([None, 25, 80])])
        try:
            found = parse(bytes(data), rng.choice([None, "cp1252"]))
        except DiscoveryError as exc:
            outcomes.add(exc.reason)
            continue
        entries, children = found if isinstance(found, tuple) else (found, [])
        assert all(isinstance(e.url, str) and e.url for e in entries) and all(children)
        outcomes.add("read")
    assert "read" in outcomes and "corrupt_gzip" in outcomes


# Hand-made feeds and sitemaps that are not well-formed XML: what the recovering parser used to cut
def test_a_bare_ampersand_in_a_link_is_kept():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Tom & Jerry</title>'
            b"<link>https://herald.example/story?id=7&lang=ar&amp;page=2</link></item></channel></rss>")
    (entry,) = parse_feed(feed)
    assert (entry.url, entry.title) == ("https://herald.example/story?id=7&lang=ar&page=2", "Tom & Jerry")
    sitemap = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               b"<url><loc>https://herald.example/p?id=1&lang=ar</loc></url></urlset>")
    entries, _children = parse_sitemap(sitemap)
    assert [e.url for e in entries] == ["https://herald.example/p?id=1&lang=ar"]


def test_html_entities_in_a_feed_become_characters():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><item>'
            b"<title>Caf&eacute; &amp; bar&nbsp;news &mdash; &laquo;Paris&raquo;</title>"
            b"<link>https://herald.example/cafe</link></item></channel></rss>")
    (entry,) = parse_feed(feed)
    assert entry.title == "Café & bar\xa0news — «Paris»"


def test_html_entities_in_an_rss_091_feed_with_its_doctype_keep_links_and_titles_whole():
    # the Netscape DOCTYPE names an external DTD that defines these entities: the document is well-formed, and each
    # reference was an unexpanded node that cut the link and the title around it ("/espa&ntilde;a" -> "/espa")
    feed = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
            b'0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"><channel>'
            b"<title>Diario</title><link>https://diario.example/</link><description>d</description>"
            b"<item><title>Espa&ntilde;a gana&nbsp;la final</title>"
            b"<link>https://diario.example/noticias/espa&ntilde;a-gana.html</link></item></channel></rss>")
    notes: list[str] = []
    (entry,) = parse_feed(feed, notes=notes)
    assert (entry.url, entry.title) == ("https://diario.example/noticias/españa-gana.html", "España gana\xa0la final")
    assert notes == []


def test_cdata_and_double_escaped_titles_are_decoded_once():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel>'
            b"<item><title><![CDATA[Caf&eacute; &amp; bar]]></title><link>https://herald.example/a?x=1&y=2</link></item>"
            b"<item><title>Tom &amp;amp; Jerry</title><link>https://herald.example/b</link></item>"
            b"</channel></rss>")
    first, second = parse_feed(feed)
    assert (first.url, first.title) == ("https://herald.example/a?x=1&y=2", "Café & bar")
    assert second.title == "Tom & Jerry"


def test_a_well_formed_feed_is_read_as_it_is():
    # the repair runs only when strict parsing fails: a valid feed's references are the parser's, untouched
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>R&amp;D &#8212; 5 &lt; 6</title>'
            b"<link>https://herald.example/rd?a=1&amp;b=2</link></item></channel></rss>")
    (entry,) = parse_feed(feed)
    assert (entry.url, entry.title) == ("https://herald.example/rd?a=1&b=2", "R&D — 5 < 6")


def test_undefined_entities_stay_text_and_never_expand():
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>a &notanentity; & b</title>'
            b"<link>https://herald.example/x</link></item></channel></rss>")
    (entry,) = parse_feed(feed)
    assert entry.title == "a &notanentity; & b"


@pytest.mark.parametrize("declared", ["utf-16", "UTF-16", "utf-32"])
@pytest.mark.parametrize("charset", [None, "utf-8"])
def test_a_utf8_listing_declared_utf16_is_read(declared, charset):
    # .NET's XmlWriter over a StringWriter declares utf-16 and the response goes out as UTF-8: obeyed, the parser
    # found "no root element" and the whole feed or sitemap failed (xml_parse_error), every article of it unread
    feed = (f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel><item>'
            "<title>Café owners protest — Москва</title><link>https://tribune.example/2026/12/01/cafe</link>"
            "</item></channel></rss>").encode()
    (entry,) = parse_feed(feed, charset)
    assert (entry.url, entry.title) == ("https://tribune.example/2026/12/01/cafe", "Café owners protest — Москва")
    sitemap = (f'<?xml version="1.0" encoding="{declared}"?>'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               "<url><loc>https://tribune.example/2026/12/01/bridge</loc></url></urlset>").encode()
    entries, _children = parse_sitemap(sitemap, charset)
    assert [e.url for e in entries] == ["https://tribune.example/2026/12/01/bridge"]


def test_a_legacy_feed_whose_charset_is_only_in_the_http_header():
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><item><title>افتتاح محطة تحلية جديدة في صور</title>'
            "<link>https://alhadath.example/2024/03/14/desal.html</link></item></channel></rss>").encode("cp1256")
    (entry,) = parse_feed(feed, "windows-1256")
    assert entry.title == "افتتاح محطة تحلية جديدة في صور"
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
               'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://alhadath.example/a</loc>'
               "<news:news><news:title>خبر عاجل من صور</news:title></news:news></url></urlset>").encode("cp1256")
    entries, _children = parse_sitemap(sitemap, "windows-1256")
    assert [e.title for e in entries] == ["خبر عاجل من صور"]


@pytest.mark.parametrize(("encoding", "title"), [("cp1256", "افتتاح محطة تحلية جديدة في صور"),
                                                 ("cp1251", "Мост через Ушайку открыли после ремонта"),
                                                 ("cp1252", "Fête de la musique à Besançon")])
def test_a_legacy_feed_behind_a_server_default_latin1_header(encoding, title):
    """ISO-8859-1 (normalised to windows-1252) is what a server says when nobody set a charset: an Arabic or
    Cyrillic feed without an XML encoding declaration behind one had every title stored as mojibake."""
    feed = (f'<rss version="2.0"><channel><item><title>{title}</title>'
            "<link>https://alhadath.example/2024/03/14/story.html</link></item></channel></rss>").encode(encoding)
    (entry,) = parse_feed(feed, "cp1252")
    assert entry.title == title


def test_a_utf8_feed_with_a_stray_byte_behind_a_server_default_latin1_header():
    feed = ("<rss version='2.0'><channel><item><title>افتتاح محطة تحلية جديدة في صور</title>"
            "<link>https://alhadath.example/story.html</link></item></channel></rss>").encode()
    at = feed.index(b"<title>") + 7
    (entry,) = parse_feed(feed[:at] + b"\x92" + feed[at:], "cp1252")
    assert entry.title == "\ufffdافتتاح محطة تحلية جديدة في صور"


def test_a_feed_declared_utf8_but_written_in_windows_1252():
    feed = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><item>'
            "<title>La fête de la musique à Besançon réunit des milliers de spectateurs</title>"
            "<link>https://herald.example/fete</link></item></channel></rss>").encode("cp1252")
    (entry,) = parse_feed(feed)  # no header charset: the bytes are detected
    assert entry.title == "La fête de la musique à Besançon réunit des milliers de spectateurs"


@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252", "us-ascii"])
def test_a_utf8_feed_whose_declaration_says_latin1(label):
    """A UTF-8 CMS's feed template that kept `encoding="ISO-8859-1"`: read as declared, every title was mojibake and
    every link with a non-ASCII path pointed at a page that does not exist."""
    feed = (f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><item>'
            "<title>الحكومة تعلن الميزانية</title><link>https://alhadath.example/أخبار/budget</link>"
            "</item></channel></rss>").encode()
    (entry,) = parse_feed(feed)
    assert (entry.url, entry.title) == ("https://alhadath.example/أخبار/budget", "الحكومة تعلن الميزانية")
    sitemap = (f'<?xml version="1.0" encoding="{label}"?>'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://lenta.example/новости/1'
               "</loc></url></urlset>").encode()
    entries, _children = parse_sitemap(sitemap)
    assert [e.url for e in entries] == ["https://lenta.example/новости/1"]


def test_a_latin1_feed_that_says_so_is_still_read_as_latin1():
    feed = ('<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><item>'
            "<title>Fête de la musique à Besançon</title><link>https://herald.example/fête</link>"
            "</item></channel></rss>").encode("latin-1")
    (entry,) = parse_feed(feed)
    assert (entry.url, entry.title) == ("https://herald.example/fête", "Fête de la musique à Besançon")


def test_a_declared_legacy_encoding_is_not_second_guessed():
    feed = ('<?xml version="1.0" encoding="windows-1256"?><rss version="2.0"><channel><item><title>عنوان & خبر</title>'
            "<link>https://alhadath.example/x?a=1&b=2</link></item></channel></rss>").encode("cp1256")
    (entry,) = parse_feed(feed, "iso-8859-1")  # a server default in the header; the document says what it is
    assert (entry.url, entry.title) == ("https://alhadath.example/x?a=1&b=2", "عنوان & خبر")


def test_warc_bodies_are_decoded_as_stored_and_an_undecodable_one_is_said(tmp_path):
    """Browser-based crawlers store responses as the server sent them: brotli is decoded like gzip; an encoding
    nothing here can decode (zstd), or a body that inflates past the cap, is an outcome, never bytes read as HTML."""
    import gzip as gzip_module

    import brotli

    from newsflow.archive import MAX_BODY_BYTES, read_response

    page = "<html><body><h1>Мост открыт</h1><p>Движение по новому мосту открыто.</p></body></html>".encode()
    packed = brotli.compress(page)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(packed[i:i + 16]), packed[i:i + 16]) for i in range(0, len(packed), 16))
    records = [
        ("https://x.example/br", "br", packed, []),
        ("https://x.example/br-chunked", "br", chunked + b"0\r\n\r\n", [("Transfer-Encoding", "chunked")]),
        ("https://x.example/br-cut", "br", packed[: len(packed) // 2], []),
        ("https://x.example/br-junk", "br", b"\xff" * 64, []),
        # stored decoded with the header kept (warcio takes such gzip bodies as they are): the markup is the page
        ("https://x.example/br-stored-decoded", "br", page, []),
        ("https://x.example/zstd", "zstd", b"\x28\xb5\x2f\xfd" + b"\x00" * 40, []),
        ("https://x.example/bomb", "gzip", gzip_module.compress(b"\0" * (MAX_BODY_BYTES + 1024), compresslevel=9), []),
    ]
    with open(tmp_path / "c.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, encoding, body, more in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                  ("Content-Encoding", encoding), *more], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=headers))
    entries = warc_entries(str(tmp_path / "c.warc.gz"))
    assert [(e.url, e.failure) for e in entries] == [
        ("https://x.example/br", None),
        ("https://x.example/br-chunked", None),
        ("https://x.example/br-cut", "truncated_body"),
        ("https://x.example/br-junk", "corrupt_encoding"),
        ("https://x.example/br-stored-decoded", None),
        ("https://x.example/zstd", "unsupported_encoding"),
        ("https://x.example/bomb", "too_large"),
    ]
    for entry in [*entries[:2], entries[4]]:
        assert read_response(entry.warc_file, entry.warc_offset).body == page


def test_feed_titles_written_in_html_are_read_as_text():
    """Google Alerts' Atom feeds bold the matched words in an html-typed title; other feeds escape markup into RSS
    titles the same way. The headline is the text; a title that only uses < and > as characters keeps them."""
    feed = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Google Alert - strike</title>"
        b'<entry><title type="html">Hospital &lt;b&gt;strike&lt;/b&gt; ends after &lt;b&gt;three&lt;/b&gt; days'
        b'</title><link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example/a&amp;ct=ga"/>'
        b"</entry>"
        b'<entry><title type="html">&lt;b&gt;\xd8\xa5\xd8\xb6\xd8\xb1\xd8\xa7\xd8\xa8&lt;/b&gt; \xd8\xa7\xd9\x84\xd9'
        b'\x85\xd8\xb3\xd8\xaa\xd8\xb4\xd9\x81\xd9\x89</title><link href="https://news.example/b"/></entry>'
        b'<entry><title>Why x &lt; y &amp;&amp; y &gt; z</title><link href="https://news.example/c"/></entry>'
        b"</feed>")
    assert [(e.title, e.url) for e in parse_feed(feed)] == [
        ("Hospital strike ends after three days",
         "https://www.google.com/url?rct=j&sa=t&url=https://news.example/a&ct=ga"),
        ("إضراب المستشفى", "https://news.example/b"),
        ("Why x < y && y > z", "https://news.example/c"),
    ]


# Listings whose bytes, layout or lines are not what the specifications say, read as feed readers read them
@pytest.mark.parametrize(("label", "title", "path"), [
    ("windows-1256", "أخبار اليوم: افتتاح محطة تحلية جديدة في صور", "/ar/أخبار-1"),
    ("KOI8-R", "Новости дня: мост через Ушайку открыт", "/ru/новости-1"),
    ("Shift_JIS", "今日のニュース：新しい橋が開通", "/ja/ニュース-1"),
])
def test_a_utf8_listing_with_a_bom_is_utf8_whatever_its_declaration_says(label, title, path):
    """A CMS moved to UTF-8 that kept its old declaration but writes a byte-order mark: the mark outranks the
    declaration (XML 1.0 Appendix F). It was removed first and the stale declaration obeyed: every title mojibake,
    every non-ASCII link a 404 ("/ar/ط£ط®ط¨ط§ط±-1")."""
    bom = b"\xef\xbb\xbf"
    feed = (f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><item><title>{title}</title>'
            f"<link>https://alhadath.example{path}</link></item></channel></rss>").encode()
    assert [(e.url, e.title) for e in parse_feed(bom + feed, "utf-8")] == [(f"https://alhadath.example{path}", title)]
    assert [(e.url, e.title) for e in parse_feed(bom + feed)] == [(f"https://alhadath.example{path}", title)]
    sitemap = (f'<?xml version="1.0" encoding="{label}"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               f"<url><loc>https://alhadath.example{path}</loc></url></urlset>").encode()
    assert [e.url for e in parse_sitemap(bom + sitemap)[0]] == [f"https://alhadath.example{path}"]


def test_utf8_under_a_stale_single_byte_declaration_is_utf8_when_the_header_says_so():
    """RFC 7303 lets the HTTP charset of an XML feed overrule its declaration; valid UTF-8 with Arabic or Cyrillic
    in it is never windows-1256 or KOI8-R text (their letters are not valid UTF-8 sequences), so a feed the header
    and the bytes both call UTF-8 is read as UTF-8. One that really is in its declared encoding is still read so."""
    cases = [("windows-1256", "cp1256", "أخبار اليوم", "/ar/أخبار-1"),
             ("KOI8-R", "koi8-r", "Новости дня", "/ru/новости-1"),
             ("windows-1251", "cp1251", "Мост через Ушайку открыли", "/ru/мост")]
    for label, codec, title, path in cases:
        feed = (f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><item><title>{title}</title>'
                f"<link>https://vesti.example{path}</link></item></channel></rss>")
        expected = [(f"https://vesti.example{path}", title)]
        assert [(e.url, e.title) for e in parse_feed(feed.encode(), "utf-8")] == expected, label
        assert [(e.url, e.title) for e in parse_feed(feed.encode(codec), "utf-8")] == expected, label
        assert [(e.url, e.title) for e in parse_feed(feed.encode(codec))] == expected, label


def test_rss_items_in_a_default_namespace_or_outside_the_channel_are_listed():
    """RSS 2.0 as UserLand's namespace (`<rss xmlns="http://backend.userland.com/rss2">`), and items written after
    the channel instead of inside it: feed readers list both; here they were `loaded listed:0` without a word."""
    userland = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns="http://backend.userland.com/rss2">'
                "<channel><title>الحدث</title>"
                "<item><title>افتتاح محطة تحلية</title><link>https://alhadath.example/1</link>"
                "<pubDate>Tue, 20 Nov 2026 10:00:00 GMT</pubDate></item>"
                "<item><title>بلا رابط</title><guid>https://alhadath.example/2</guid></item>"
                "</channel></rss>").encode()
    assert [(e.url, e.title, e.date) for e in parse_feed(userland)] == [
        ("https://alhadath.example/1", "افتتاح محطة تحلية", "Tue, 20 Nov 2026 10:00:00 GMT"),
        ("https://alhadath.example/2", "بلا رابط", None)]
    outside = ('<rss version="2.0"><channel><title>Вести</title>'
               "<item><title>В канале</title><link>https://vesti.example/in</link></item></channel>"
               "<item><title>После канала</title><link>https://vesti.example/after</link></item>"
               "<item><title>Без ссылки</title></item></rss>").encode()
    unlinked: list[str] = []
    assert [e.url for e in parse_feed(outside, unlinked=unlinked)] == [
        "https://vesti.example/in", "https://vesti.example/after"]
    assert unlinked == ["Без ссылки"]
    assert [e.url for e in parse_sitemap(userland)[0]] == ["https://alhadath.example/1", "https://alhadath.example/2"]


def test_a_text_sitemap_with_a_bad_line_lists_every_line():
    """One URL with a space, a comment or a relative line made the whole file `xml_parse_error`, its good URLs
    lost. Each line is an entry now: an unusable one gets its own ledger row (invalid_url, bad_scheme), the others
    are fetched (a space as a browser sends it, %20). A web page or an XML document is never taken for one."""
    from newsflow.urls import url_problem

    data = ("# generated 2026-11-20\r\n"
            "https://alhadath.example/ar/أخبار-1\r\n"
            "https://alhadath.example/a/with space\r\n"
            "https://[alhadath.example/ar/3\r\n"
            "\r\n"
            "ftp://alhadath.example/archive.zip\r\n"
            "https://alhadath.example/ar/أخبار-2\r\n"
            "https://alhadath.example/ar/أخبار-3\r\n").encode()
    entries, children = parse_sitemap(data)
    assert children == [] and [e.url for e in entries] == [
        "https://alhadath.example/ar/أخبار-1", "https://alhadath.example/a/with space",
        "https://[alhadath.example/ar/3", "ftp://alhadath.example/archive.zip", "https://alhadath.example/ar/أخبار-2", "https://alhadath.example/ar/أخبار-3"]
    assert [url_problem(e.url) for e in entries] == [None, None, "invalid_url", "bad_scheme", None, None]
    relative = parse_sitemap(b"https://vesti.example/1\n/ru/2\nhttps://vesti.example/3\n")[0]
    assert [e.url for e in relative] == ["https://vesti.example/1", "/ru/2", "https://vesti.example/3"]
    urls = "\n".join(f"https://alhadath.example/ar/{n}" for n in range(5))
    with pytest.raises(DiscoveryError, match="html_page"):
        parse_sitemap(f"<!DOCTYPE html>\n<html><body><pre>\n{urls}\n</pre></body></html>".encode())
    with pytest.raises(DiscoveryError, match="not_a_sitemap"):
        parse_sitemap(f"<catalog>\n{urls}\n</catalog>".encode())


def _cut_feed(items: int, cut: int) -> bytes:
    body = "".join(f"<item><title>Новость {n}</title><link>https://vesti.example/{n}</link></item>" for n in range(items))
    whole = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{body}</channel></rss>'.encode()
    return whole[:len(whole) - cut]


def test_a_listing_cut_mid_document_is_said_to_be_read_in_part(caplog):
    """A PHP feed that timed out mid-output behind a well-ended chunked body: the recovering parser closed it and
    the listing read `listed:5;unlinked=1` like a whole one, while every item after the cut was lost."""
    from newsflow.discover import listing_reason

    notes: list[str] = []
    unlinked: list[str] = []
    with caplog.at_level("WARNING", logger="newsflow.discover"):
        entries = parse_feed(_cut_feed(6, 60), notes=notes, unlinked=unlinked)
    assert len(entries) == 5 and notes == ["recovered"]
    assert listing_reason(len(entries), len(unlinked), notes) == "listed:5;unlinked=1;recovered"
    assert "not well-formed" in caplog.text
    sitemap = NEWS_SITEMAP[:-40]
    notes = []
    assert [e.url for e in parse_sitemap(sitemap, notes=notes)[0]] == [
        "https://herald.example/news/a", "https://herald.example/news/b"]
    assert notes == ["recovered"]
    # repaired losslessly (an HTML entity, a bare ampersand) or only missing a namespace declaration: read whole
    for whole in (_cut_feed(6, 0), _cut_feed(2, 0).replace(b"1</title>", b"1&nbsp;&amp; &eacute;</title>"),
                  _cut_feed(2, 0).replace(b"</title>", b"</title><dc:date>2026-11-20</dc:date>")):
        notes = []
        assert parse_feed(whole, notes=notes) and notes == []
    assert listing_reason(3, 0, []) == "listed:3"


def test_a_sitemap_index_says_how_many_sitemaps_it_names():
    """An index read `loaded listed:0`, like an empty urlset."""
    from newsflow.discover import listing_reason

    notes: list[str] = []
    unlinked: list[str] = []
    index = INDEX.replace(b"</sitemapindex>", b"<sitemap><lastmod>2026-11-20</lastmod></sitemap></sitemapindex>")
    entries, children = parse_sitemap(index, notes=notes, unlinked=unlinked)
    assert entries == [] and len(children) == 2 and notes == ["sitemaps=2"]
    assert listing_reason(0, len(unlinked), notes) == "listed:0;unlinked=1;sitemaps=2"
    notes = []
    parse_sitemap(b"User-agent: *\nDisallow: /search\nSitemap: https://herald.example/news-sitemap.xml\n", notes=notes)
    assert notes == ["sitemaps=1"]
    notes = []
    parse_sitemap(NEWS_SITEMAP, notes=notes)
    assert notes == []


def test_an_rss_guid_that_is_no_web_address_is_not_a_link():
    """`<guid>12345</guid>` (a permalink by default) became a link relative to the feed and a request for a page
    that does not exist; `isPermaLink="False"` was taken as true."""
    feed = ('<rss version="2.0"><channel>'
            "<item><title>رقم فقط</title><guid>12345</guid></item>"
            "<item><title>Не ссылка</title><guid isPermaLink=\"False\">https://vesti.example/api/item/7</guid></item>"
            "<item><title>Постоянная ссылка</title><guid isPermaLink=\"TRUE\"> https://vesti.example/8 </guid></item>"
            "<item><title>新闻</title><guid>tag:xinwen.example,2026:9</guid></item>"
            "</channel></rss>").encode()
    unlinked: list[str] = []
    assert [e.url for e in parse_feed(feed, unlinked=unlinked)] == ["https://vesti.example/8"]
    assert unlinked == ["رقم فقط", "Не ссылка", "新闻"]


def test_an_atom_entry_without_a_link_is_read_by_its_web_address_id():
    """As a JSON Feed item's `id`: an Atom `<id>` that is a web address names the entry's page."""
    atom = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>Новости</title>'
            "<entry><title>Только id</title><id>https://novosti.example/2026/11/20/most</id>"
            "<updated>2026-11-20T10:00:00Z</updated></entry>"
            "<entry><title>Ссылка и id</title><id>https://novosti.example/?p=7</id>"
            "<link href='https://novosti.example/2026/11/20/park'/></entry>"
            "<entry><title>Тег</title><id>tag:novosti.example,2026:9</id></entry></feed>").encode()
    unlinked: list[str] = []
    assert [(e.url, e.date) for e in parse_feed(atom, unlinked=unlinked)] == [
        ("https://novosti.example/2026/11/20/most", "2026-11-20T10:00:00Z"),
        ("https://novosti.example/2026/11/20/park", None)]
    assert unlinked == ["Тег"]


def test_a_link_wrapped_over_lines_is_read_as_a_browser_reads_it():
    """Browsers (the WHATWG URL parser) drop tabs and line breaks inside a URL: a <loc> or <link> a CMS wrapped over
    two lines, indented, was skipped as invalid_url."""
    from newsflow.stages.discover import resolve_link

    base = "https://alhadath.example/feed/"
    assert resolve_link(base, "https://alhadath.example/2026/12/\n        أخبار-اليوم") == \
        "https://alhadath.example/2026/12/أخبار-اليوم"
    assert resolve_link(base, "/novosti/\r\n\tstatya-1") == "https://alhadath.example/novosti/statya-1"
    assert resolve_link(base, "/a\tb") == "https://alhadath.example/ab"
    assert resolve_link(base, "/with space") == "https://alhadath.example/with space"  # a space is no wrap


@pytest.mark.parametrize("link", ["http://", "https://", "HTTP://", "//", " https:// ", "http://?utm_source=rss",
                                  "https:///"])
def test_a_link_without_a_host_is_no_link_to_the_listing_itself(link):
    """urljoin drops an empty authority: an item whose link was "http://" became the feed's own address, fetched as
    an article at every run. Kept as listed, it is the invalid URL a browser finds it."""
    from newsflow.stages.discover import resolve_link
    from newsflow.urls import url_problem

    resolved = resolve_link("https://alhadath.example/feed/", link)
    assert resolved == link and url_problem(resolved) in ("invalid_url", "bad_scheme")
    assert resolve_link("https://alhadath.example/feed/", "//cdn.alhadath.example/a") == "https://cdn.alhadath.example/a"
    # a typo browsers forgive: the slashes after an http(s) scheme are skipped, the host read after them
    assert resolve_link("https://alhadath.example/feed/", "https:///news.example/2024/story") == \
        "https://news.example/2024/story"


@pytest.mark.parametrize("rel", ["ALTERNATE", "Alternate", " alternate\n", "http://www.iana.org/assignments/relation/alternate"])
def test_an_atom_entrys_alternate_link_is_found_however_its_rel_is_written(rel):
    """Link relation types are ASCII case-insensitive (RFC 8288 §2.1.1), and Atom gives `alternate` also as its IANA
    IRI (RFC 4287 §4.2.7.2): `rel="ALTERNATE"` was read as some other relation, and the entry took its first link,
    here the podcast's audio file, as the page to fetch."""
    atom = (f'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Выборы</title>'
            f"<link rel='enclosure' href='https://novosti.example/1.mp3'/>"
            f"<link rel='{rel}' href='https://novosti.example/2018/05/21/vybory'/></entry></feed>").encode()
    assert [e.url for e in parse_feed(atom)] == ["https://novosti.example/2018/05/21/vybory"]


def test_a_feed_announced_among_several_link_relations_is_found():
    """`rel` in HTML is a set of space-separated, ASCII case-insensitive tokens."""
    assert linked_feed(b"<html><head><link rel='ALTERNATE\tnofollow' type='application/rss+xml' href='/rss'>"
                       b"</head></html>") == "/rss"
    assert linked_feed(b"<html><head><link rel=' home  Alternate ' type='application/atom+xml' href='/atom'>"
                       b"</head></html>") == "/atom"
    assert linked_feed(b"<html><head><link rel='alternatefeed' type='application/rss+xml' href='/x'>"
                       b"</head></html>") is None
