"""Text that is not plain ASCII where the WARC writer and Parquet want it to be, through every stage: URLs with an
Arabic or Cyrillic path, bytes that are not UTF-8 in a server's headers, lone surrogates in a page's JSON-LD, a
legacy site's ISO-8859-1 escapes. Each page loads; before, each failed (fetch_error:UnicodeEncodeError), took its
source's fetch stage down, or was skipped as the duplicate of another page."""

from __future__ import annotations

from contextlib import closing

import warcio.archiveiterator

from newsflow.warehouse import connect
from tests.support.faultserver import article_html
from tests.support.rawserver import RawServer
from tests.support.stage_run import run


def page(headers: bytes, body: bytes, status: bytes = b"200 OK") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\n" + headers + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            + body)


def story(topic: str) -> bytes:
    return article_html(f"Council votes on the {topic}",
                        f"The council met on Monday to vote on the {topic} after a long debate. " * 12).encode()


# JSON may write half of an emoji pair ("\ud83d"): json.loads keeps the lone surrogate
HALF_EMOJI = (b'<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Breaking \\ud83d news",'
              b' "datePublished": "2018-05-21T12:00:00+03:00", "author": {"@type": "Person", "name": "Ann \\udfff"}}'
              b'</script></head>')
RESPONSES = {
    "/good": page(b"Content-Type: text/html; charset=utf-8\r\n", story("budget")),
    # an ISO-8859-1 ETag and Last-Modified, a charset label that is not UTF-8, a header of binary junk: each made
    # the WARC write fail (fetch_error:UnicodeEncodeError), the page lost
    "/etag": page(b'Content-Type: text/html\r\nETag: "caf\xe9"\r\nLast-Modified: Mon, 21 May 2018 12:00:00 GMT\xff\r\n',
                  story("roads")),
    "/charset": page(b"Content-Type: text/html; charset=\xe9\xff\r\n", story("schools")),
    "/junk-header": page(b"Content-Type: text/html\r\nX-Note: \xff\xfe\xfd\r\n", story("ports")),
    "/reason": page(b"Content-Type: text/html\r\n", story("parks"), status=b"200 \xff\xfe"),
    # a redirect to bytes that are not UTF-8 goes where a browser goes: the bytes percent-encoded
    "/moved": b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    # a lone surrogate in the record made the staging write fail: the whole source's fetch stage failed
    "/half-emoji": page(b"Content-Type: text/html\r\n", story("bridges").replace(b"</head>", HALF_EMOJI)),
    # a legacy ISO-8859-1 site's A-Z index, its pages for Ä and Ö: they shared one canonical URL (U+FFFD for each
    # byte), one article id, and the second was skipped as a duplicate of the first
    "/lexikon/%C4.html": page(b"Content-Type: text/html; charset=iso-8859-1\r\n", story("\u00c4rzte")),
    "/lexikon/%D6.html": page(b"Content-Type: text/html; charset=iso-8859-1\r\n", story("\u00d6lpreise")),
}


ARABIC = "/أخبار/الحدث?قسم=سياسة"
CYRILLIC = "/новости/бюджет"
# the server sees them percent-encoded, as sent
AS_SENT = {
    "/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%A7%D9%84%D8%AD%D8%AF%D8%AB?%D9%82%D8%B3%D9%85=%D8%B3%D9%8A%D8%A7%D8%B3%D8%A9":
        page(b"Content-Type: text/html\r\n", story("elections")),
    "/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82":
        page(b"Content-Type: text/html\r\n", story("harbour")),
    "/caf%E9": page(b"Content-Type: text/html\r\n", story("caf\u00e9s")),  # where /moved sends the fetcher
}


def test_international_urls_and_undecodable_text_still_load(tmp_path, data_env):
    with RawServer({**RESPONSES, **AS_SENT}) as server:
        paths = [*RESPONSES, ARABIC, CYRILLIC]
        urls = "".join(f"      - '{server.url(p)}'\n" for p in paths)
        result = run(tmp_path, None, "raw", f"  - name: raw\n    kind: urls\n    urls:\n{urls}",
                     settings=f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n")
    assert result["status"] == "succeeded" and result["counts"]["loaded"] == len(paths), result
    con = connect(data_env / "warehouse", read_only=True)
    try:
        titles = dict(con.execute(
            "select f.url, a.title from fetch_log f join articles a using (article_id) where f.source = 'raw'"
        ).fetchall())
        etags = [row[0] for row in con.execute("select etag from http_cache where etag is not null").fetchall()]
    finally:
        con.close()
    assert titles[server.url("/half-emoji")] == "Council votes on the bridges"
    assert titles[server.url("/moved")] == "Council votes on the cafés"
    assert titles[server.url(ARABIC)] == "Council votes on the elections"
    assert titles[server.url(CYRILLIC)] == "Council votes on the harbour"
    assert titles[server.url("/lexikon/%C4.html")] == "Council votes on the Ärzte"
    assert titles[server.url("/lexikon/%D6.html")] == "Council votes on the Ölpreise"
    assert etags == ['"café"']  # read as ISO-8859-1
    # the WARC holds every response under the URL as it went on the wire
    warcs = list((data_env / "archive" / "raw").glob("*.warc.gz"))
    targets = {record.rec_headers.get_header("WARC-Target-URI") for warc in warcs
               for record in warcio.archiveiterator.ArchiveIterator(warc.open("rb")) if record.rec_type == "response"}
    # every path asked (the redirect's hop too), the redirect's target and robots.txt
    assert len(targets) == len(paths) + 2 and all(t.isascii() for t in targets)
    assert {server.url("/moved"), server.url("/caf%E9"), server.url("/robots.txt")} <= targets
    assert server.url("/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82") in targets


def test_a_json_feed_item_with_half_an_emoji_fails_no_source_and_loses_no_url(tmp_path, data_env):
    """A lone surrogate in one JSON Feed item's title, date or link made the discover stage's ledger write fail: the
    whole source failed (source_failed:discover), none of the URLs its feed listed got a row, and `newsflow check`
    stopped with a traceback."""
    with RawServer(dict(RESPONSES)) as server:
        feed = ('{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": ['
                f'{{"url": "{server.url("/good")}", "title": "Council votes"}}, '
                f'{{"url": "{server.url("/etag")}", "title": "Breaking \\ud83d news", '
                '"date_published": "2018-05-21\\ud800"}, '
                f'{{"url": "{server.url("/junk-header")}\\udfff", "title": "a link cut in half"}}]}}').encode()
        server.responses["/feed.json"] = page(b"Content-Type: application/feed+json\r\n", feed)
        result = run(tmp_path, None, "jf", f"  - {{name: jf, kind: feed, url: '{server.url('/feed.json')}'}}\n",
                     settings=f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n")
    assert result["status"] == "succeeded" and not result["failed_sources"], result
    with closing(connect(data_env / "warehouse", read_only=True)) as con:
        rows = con.execute("select url, outcome from fetch_log where url_kind = 'article' order by seq").fetchall()
    assert [outcome for _, outcome in rows][:2] == ["loaded", "loaded"] and len(rows) == 3, rows
    assert rows[2][0] == server.url("/junk-header") + "\ufffd"
