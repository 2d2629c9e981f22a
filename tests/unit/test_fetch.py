"""The fetcher against a misbehaving loopback server: every fault ends in a recorded outcome, within bounds."""

from __future__ import annotations

import asyncio
import gzip
import random
import time

import pytest

from newsflow.config import Settings
from newsflow.fetch import Fetcher, backoff_delay, parse_retry_after
from tests.support.faultserver import ENCODED_TEXT, GOOD_ARTICLE, FaultServer


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


def settings_for(server, **overrides) -> Settings:
    values = dict(
        min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=1, total_timeout_s=3, max_bytes=2_000_000,
        max_tries=3, backoff_base_s=0.05, backoff_max_s=2, allow_private_hosts=[f"127.0.0.1:{server.port}"],
    )
    values.update(overrides)
    return Settings(**values)


def fetch(server, path_or_url: str, **kwargs):
    settings = kwargs.pop("settings", None) or settings_for(server)
    url = server.url(path_or_url) if path_or_url.startswith("/") else path_or_url

    async def go():
        async with Fetcher(settings, seed=1) as fetcher:
            return await fetcher.get(url, **kwargs)

    return asyncio.run(go())


def test_good_page(server):
    result = fetch(server, "/ok/a")
    assert result.outcome == "ok" and result.status == 200
    assert b"Parliament passes" in result.body and result.content_sha1


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_fail_without_retry(server, status):
    result = fetch(server, f"/status/{status}")
    assert (result.outcome, result.reason, result.status, result.tries) == ("failed", f"http_{status}", status, 1)


def test_retry_after_is_honoured_then_succeeds(server):
    started = time.monotonic()
    result = fetch(server, "/retry-after")
    assert result.outcome == "ok" and result.tries == 3
    assert time.monotonic() - started >= 2.0  # two Retry-After: 1 waits


def test_retries_are_bounded(server):
    result = fetch(server, "/always-503")
    assert (result.outcome, result.reason, result.status, result.tries) == ("failed", "http_503", 503, 3)


@pytest.mark.parametrize("path", ["/stall-headers", "/stall-body", "/trickle"])
def test_stalls_and_trickles_time_out(server, path):
    # the server stalls or trickles for an hour: a fetch that returns at all was cut off by read_timeout_s (1 s)
    # or total_timeout_s (3 s, the trickle sends a byte every 0.5 s), and says so
    result = fetch(server, path, settings=settings_for(server, max_tries=1))
    assert (result.outcome, result.reason, result.tries) == ("failed", "timeout", 1)


def test_connection_reset_is_retried_then_failed(server):
    result = fetch(server, "/reset")
    assert result.outcome == "failed" and result.reason == "connection_error" and result.tries == 3


@pytest.mark.parametrize(("path", "reason"), [("/gzip-bomb", "too_large"), ("/endless", "too_large"), ("/too-large-declared", "too_large")])
def test_size_cap_counts_decoded_bytes(server, path, reason):
    result = fetch(server, path)
    assert (result.outcome, result.reason) == ("failed", reason)
    assert result.body is None


@pytest.mark.parametrize(("path", "reason"), [("/gzip-truncated", "truncated_body"), ("/gzip-corrupt", "corrupt_encoding")])
def test_broken_compression_fails_cleanly(server, path, reason):
    result = fetch(server, path, settings=settings_for(server, max_tries=1))
    assert (result.outcome, result.reason) == ("failed", reason)


@pytest.mark.parametrize("path", ["/gzip-ok", "/deflate"])
def test_compressed_pages_are_decoded(server, path):
    result = fetch(server, path)
    assert result.outcome == "ok" and b"Parliament passes" in result.body


def test_redirects(server):
    ok = fetch(server, "/redirect-ok")
    assert ok.outcome == "ok" and ok.final_url.endswith("/ok/after-redirect")
    loop = fetch(server, "/redirect-loop")
    assert (loop.outcome, loop.reason) == ("failed", "too_many_redirects")


@pytest.mark.parametrize("case", ["shell", "shell-quoted", "shell-absolute", "header"])
def test_a_redirect_shell_is_followed_to_the_page_it_refreshes_to(server, case):
    """A page whose meta refresh (or Refresh header) sends the reader on at once is a redirect: stored as it was,
    the article was the shell's "This story has moved" and failed validation as too short."""
    query = f"?base={server.url('')}" if case == "shell-absolute" else ""
    result = fetch(server, f"/refresh/{case}{query}")
    assert (result.outcome, result.status) == ("ok", 200)
    assert result.final_url.split("?")[0] == server.url("/ok/after-refresh")
    assert b"Parliament passes" in result.body
    if case == "shell-quoted":
        assert result.final_url.endswith("/ok/after-refresh?a=1&b=2")


@pytest.mark.parametrize("case", ["reload", "idle-home", "ie-comment", "noscript", "self", "javascript"])
def test_a_refresh_a_reader_does_not_leave_the_page_for_is_not_followed(server, case):
    result = fetch(server, f"/refresh/{case}")
    assert (result.outcome, result.final_url) == ("ok", server.url(f"/refresh/{case}"))


def test_refresh_loops_and_refreshes_to_internal_addresses_end_as_redirects_do(server):
    assert fetch(server, "/refresh/loop").reason == "too_many_redirects"
    assert (fetch(server, "/refresh/private").outcome, fetch(server, "/refresh/private").reason) == (
        "skipped", "refused_address")


def test_every_response_of_a_refresh_is_archived(server):
    seen = []

    async def go():
        async with Fetcher(settings_for(server), seed=1, on_response=lambda r: seen.append(r.final_url)) as fetcher:
            return await fetcher.get(server.url("/refresh/shell"))

    asyncio.run(go())
    assert [url for url in seen if not url.endswith("/robots.txt")] == [server.url("/refresh/shell"),
                                                                       server.url("/ok/after-refresh")]


def test_a_cookie_set_on_the_way_is_sent_back_within_that_redirect_chain_only(server):
    """A site that sets a cookie and redirects back to check it looped to too_many_redirects without one; a jar
    shared between articles would carry a paywall's meter from page to page."""

    async def go():
        async with Fetcher(settings_for(server), seed=1) as fetcher:
            return [await fetcher.get(server.url(path)) for path in ("/cookie-bounce", "/cookie-echo")]

    bounced, echoed = asyncio.run(go())
    assert (bounced.outcome, bounced.final_url) == ("ok", server.url("/cookie-bounce"))
    assert bounced.request_headers["Cookie"] == "visited=1"  # in the WARC's request record
    assert b"Cookies sent: none" in echoed.body and "Cookie" not in echoed.request_headers


@pytest.mark.parametrize("path", ["/redirect-private", "/redirect-metadata"])
def test_redirect_to_internal_address_is_refused(server, path):
    result = fetch(server, path)
    assert (result.outcome, result.reason) == ("skipped", "refused_address")


def test_redirect_to_unlisted_loopback_port_is_refused(server):
    result = fetch(server, f"/redirect-localhost?port={server.port + 1}")
    assert (result.outcome, result.reason) == ("skipped", "refused_address")


@pytest.mark.parametrize("host", ["１２７.０.０.１", "１２７.0.0.1"])
def test_an_ip_literal_in_full_width_digits_is_refused_as_the_address_it_connects_to(server, host):
    """yarl encodes a host outside ASCII with IDNA's mapping, so http://１２７.０.０.１/ connects to 127.0.0.1 without
    a DNS lookup: the literal check saw no IP in it, and a feed's link or a redirect reached loopback or the
    metadata service."""
    direct = fetch(server, f"http://{host}:{server.port}/ok/a", settings=settings_for(server, allow_private_hosts=[]))
    redirected = fetch(server, f"/redirect-localhost?host={host}&port={server.port + 1}")
    assert (direct.outcome, direct.reason) == ("skipped", "refused_address")
    assert (redirected.outcome, redirected.reason) == ("skipped", "refused_address")


def test_unlisted_private_host_is_refused(server):
    result = fetch(server, "/ok/a", settings=settings_for(server, allow_private_hosts=[]))
    assert (result.outcome, result.reason) == ("skipped", "refused_address")


def test_env_allow_list(server, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{server.port}")
    result = fetch(server, "/ok/b", settings=settings_for(server, allow_private_hosts=[]))
    assert result.outcome == "ok"


@pytest.mark.parametrize("value", ["127.0.0.1;{port}", "127.0.0.1 {port}", "http://127.0.0.1:{port}", "127.0.0.1"])
def test_a_malformed_env_allow_list_is_refused_by_name(server, monkeypatch, value):
    """The sources file's allow_private_hosts refuses an entry that is not HOST:PORT; the same entry in
    NEWSFLOW_ALLOW_PRIVATE_HOSTS was dropped in silence, and every page of the host was skipped as refused_address."""
    from newsflow.config import ConfigError

    value = value.format(port=server.port)
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS", value)
    with pytest.raises(ConfigError, match=r"^NEWSFLOW_ALLOW_PRIVATE_HOSTS=.*is not HOST:PORT"):
        fetch(server, "/ok/b", settings=settings_for(server, allow_private_hosts=[]))


@pytest.mark.parametrize(("case", "status"), [("cloudflare", 403), ("cloudflare-503", 503), ("vercel", 429),
                                              ("datadome", 403), ("akamai", 403)])
def test_a_bot_wall_is_named_and_never_retried(server, case, status):
    """A CDN's or WAF's challenge was an anonymous http_403, or a 503/429 retried with backoff until the tries ran
    out; asking harder is what turns a challenge into a ban."""
    result = fetch(server, f"/wall/{case}")
    vendor = case.split("-")[0]
    assert (result.outcome, result.reason, result.status, result.tries) == ("failed", f"blocked:{vendor}", status, 1)


@pytest.mark.parametrize(("case", "outcome", "reason"), [("article", "ok", None), ("plain-403", "failed", "http_403")])
def test_pages_that_only_mention_bot_walls_are_not_walls(server, case, outcome, reason):
    result = fetch(server, f"/wall/{case}")
    assert (result.outcome, result.reason) == (outcome, reason)


def test_a_host_whose_wall_refuses_every_request_is_asked_nothing_more(server):
    settings = settings_for(server, host_failure_limit=3)

    async def go():
        async with Fetcher(settings, seed=1) as fetcher:
            walls = [await fetcher.get(server.url(f"/wall/datadome/{i}")) for i in range(3)]
            return walls, await fetcher.get(server.url("/ok/after-the-wall"))

    before = server.hits.get("/ok/after-the-wall", 0)
    walls, after = asyncio.run(go())
    assert [w.reason for w in walls] == ["blocked:datadome"] * 3
    assert (after.outcome, after.reason, after.tries) == ("failed", "blocked:datadome", 0)
    assert server.hits.get("/ok/after-the-wall", 0) == before  # no request made


@pytest.mark.parametrize("path", ["/gate/consent-story", "/gate/nested/story"])
def test_a_consent_gate_where_the_article_was_asked_is_named(server, path):
    """Yahoo's, Google's and DPG Media's consent pages stand where the article was asked; extracted, each was a
    "short article" rejection that said nothing of the gate."""
    result = fetch(server, path)
    assert (result.outcome, result.reason, result.status) == ("failed", "blocked:gate", 200)
    assert "/consent" in result.final_url or "/privacy-gate" in result.final_url


def test_a_redirect_that_only_adds_a_campaign_is_no_gate(server):
    result = fetch(server, "/gate/tracking")
    assert (result.outcome, result.final_url) == ("ok", server.url("/ok/landing?utm_source=newsletter"))


def test_a_host_that_gates_every_article_is_asked_nothing_more(server):
    async def go():
        async with Fetcher(settings_for(server, host_failure_limit=2), seed=1) as fetcher:
            gated = [await fetcher.get(server.url(f"/gate/story-{i}")) for i in range(2)]
            return gated, await fetcher.get(server.url("/ok/after-the-gate"))

    gated, after = asyncio.run(go())
    assert [g.reason for g in gated] == ["blocked:gate"] * 2
    assert (after.reason, after.tries) == ("blocked:gate", 0)


def test_a_redirect_into_a_path_robots_txt_closes_is_not_followed(server):
    result = fetch(server, "/redirect-private-path")
    assert (result.outcome, result.reason, result.final_url) == ("skipped", "robots_disallowed",
                                                                 server.url("/private/secret"))
    assert fetch(server, "/redirect-private-path", check_robots=False).final_url == server.url("/private/secret")


def test_redirect_to_file_scheme_is_skipped(server):
    result = fetch(server, "/redirect-file")
    assert (result.outcome, result.reason) == ("skipped", "bad_scheme_redirect")


def fetch_raw(responses: dict[str, bytes], **settings_values):
    """Fetch /page from a server that answers byte for byte (tests.support.rawserver): the malformed responses
    aiohttp's own server cannot send."""
    from tests.support.rawserver import RawServer

    with RawServer(responses) as server:
        settings = Settings(min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=1, total_timeout_s=3,
                            max_tries=1, allow_private_hosts=[f"127.0.0.1:{server.port}"], **settings_values)

        async def go():
            async with Fetcher(settings, seed=1) as fetcher:
                return await fetcher.get(server.url("/page"))

        return asyncio.run(go())


def test_a_redirect_to_bytes_that_are_not_utf8_goes_where_a_browser_goes():
    """aiohttp keeps a header's undecodable bytes as lone surrogates, which no URL quoting takes (the fetch ended
    in fetch_error:UnicodeEncodeError). Browsers percent-encode the bytes."""
    result = fetch_raw({
        "/page": b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9-\xff\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "/caf%E9-%FF": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 17\r\nConnection: close\r\n"
                       b"\r\n<p>Story text</p>",
    })
    assert (result.outcome, result.body) == ("ok", b"<p>Story text</p>")
    assert result.final_url.endswith("/caf%E9-%FF")



def gzipped_page(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % len(body) + body)


def test_a_gzip_body_of_several_members_is_read_whole():
    """RFC 1952: a gzip body is a series of members. Only the first was read: the article was stored cut where it
    ended, as loaded."""
    page = GOOD_ARTICLE.encode()
    result = fetch_raw({"/page": gzipped_page(gzip.compress(page[:700]) + gzip.compress(page[700:]))})
    assert (result.outcome, result.body) == ("ok", page)


def test_gzip_members_are_joined_whatever_chunks_the_body_arrives_in():
    from newsflow.fetch import _Decoder

    page = GOOD_ARTICLE.encode()
    body = gzip.compress(page[:10]) + gzip.compress(page[10:500]) + gzip.compress(page[500:])
    decoder, out = _Decoder("gzip"), b""
    for i in range(len(body)):  # a member's two-byte magic split between two chunks included
        out += decoder.feed(body[i:i + 1], 10_000_000 - len(out))
    decoder.finish()
    assert out == page


def test_bytes_after_the_gzip_stream_are_ignored_and_count_against_the_cap():
    """Junk after the compressed data is ignored, as browsers do; zlib kept every byte of it (an endless trailer
    held hundreds of MB until the total timeout), now it counts against max_bytes, and is not kept."""
    page = GOOD_ARTICLE.encode()
    assert fetch_raw({"/page": gzipped_page(gzip.compress(page) + b"\0" * 100)}).body == page
    result = fetch_raw({"/page": gzipped_page(gzip.compress(page) + b"\0" * 3_000_000)}, max_bytes=2_000_000)
    assert (result.outcome, result.reason) == ("failed", "too_large")


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""])
def test_a_robots_txt_with_a_byte_order_mark_is_obeyed(bom):
    """Read as plain UTF-8, the BOM glued itself to the first "User-agent" line: the whole group was ignored and
    the disallowed page fetched."""
    robots = bom + b"User-agent: *\r\nDisallow: /page\r\n"
    result = fetch_raw({
        "/robots.txt": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n"
                       b"\r\n%s" % (len(robots), robots),
        "/page": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 17\r\nConnection: close\r\n"
                 b"\r\n<p>Story text</p>",
    })
    assert (result.outcome, result.reason) == ("skipped", "robots_disallowed")


@pytest.mark.parametrize("header", [b"Header line without a colon", b"Content-Length: 5"])
def test_a_response_that_cannot_be_parsed_is_a_bad_response_without_a_status(header):
    """The 400 aiohttp's parser reports is its own, not the server's: the ledger said http_status 400."""
    result = fetch_raw({"/page": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 17\r\n" + header
                                 + b"\r\n\r\n<p>Story text</p>"})
    assert (result.outcome, result.reason, result.status) == ("failed", "bad_response", None)


LONG_HEADERS = {
    "csp": b"Content-Security-Policy: script-src " + b" ".join(b"https://cdn%d.example.com" % i for i in range(1500)),
    "preloads": b"Link: " + b", ".join(b"</static/%d.js>; rel=preload" % i for i in range(800)),
    "cookies": b"\r\n".join(b"Set-Cookie: consent%d=1; Path=/; SameSite=Lax" % i for i in range(200)),
}


@pytest.mark.parametrize("name", sorted(LONG_HEADERS))
def test_headers_a_browser_takes_do_not_fail_the_page(name):
    """A 40 KB Content-Security-Policy, a 25 KB Link list, 200 Set-Cookie lines: aiohttp's defaults (8 KB a
    header, 128 headers) made each page a bad_response."""
    result = fetch_raw({"/page": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + LONG_HEADERS[name]
                                 + b"\r\nContent-Length: 17\r\nConnection: close\r\n\r\n<p>Story text</p>"})
    assert (result.outcome, result.status, result.body) == ("ok", 200, b"<p>Story text</p>")


@pytest.mark.parametrize("headers", [b"X-Huge: " + b"a" * 70_000, b"\r\n".join(b"X-N%d: 1" % i for i in range(300))])
def test_headers_past_the_limits_are_a_bad_response(headers):
    result = fetch_raw({"/page": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + headers
                                 + b"\r\nContent-Length: 17\r\nConnection: close\r\n\r\n<p>Story text</p>"})
    assert (result.outcome, result.reason) == ("failed", "bad_response")


@pytest.mark.parametrize(("content_range", "expected"), [
    (b"bytes 0-16/17", ("ok", None)), (b"bytes 0-16/4000", ("failed", "partial_content")),
    (b"bytes 100-116/4000", ("failed", "partial_content")), (None, ("failed", "partial_content")),
])
def test_part_of_a_page_is_not_stored_as_the_page(content_range, expected):
    """newsflow sends no Range: a 206 from a broken cache held part of the article, stored as if it were all of it.
    A 206 whose range is the whole document (some caches answer so) is the page."""
    header = b"Content-Range: " + content_range + b"\r\n" if content_range else b""
    result = fetch_raw({"/page": b"HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\n" + header
                                 + b"Content-Length: 17\r\nConnection: close\r\n\r\n<p>Story text</p>"})
    assert (result.outcome, result.reason, result.status) == (*expected, 206)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/html,hi", "gopher://example.com/"])
def test_other_schemes_are_skipped(server, url):
    result = fetch(server, url)
    assert (result.outcome, result.reason) == ("skipped", "bad_scheme")


@pytest.mark.parametrize("path", ["/pdf", "/json", "/random-bytes"])
def test_non_html_is_skipped(server, path):
    result = fetch(server, path)
    assert (result.outcome, result.reason) == ("skipped", "not_html")


def test_missing_content_type_is_sniffed(server):
    assert fetch(server, "/no-content-type").outcome == "ok"


def test_robots_disallow(server):
    result = fetch(server, "/private/secret")
    assert (result.outcome, result.reason) == ("skipped", "robots_disallowed")
    assert fetch(server, "/private/secret", settings=settings_for(server, respect_robots=False)).outcome == "ok"


def test_conditional_request_and_same_content(server):
    first = fetch(server, "/etag")
    assert first.outcome == "ok" and first.etag == '"v1"'
    again = fetch(server, "/etag", etag=first.etag)
    assert (again.outcome, again.reason, again.status) == ("not_modified", "not_modified", 304)
    same = fetch(server, "/ok/a", previous_sha1=fetch(server, "/ok/a").content_sha1)
    assert (same.outcome, same.reason) == ("not_modified", "same_content")


def test_host_interval_spaces_requests(server):
    settings = settings_for(server, min_host_interval_s=0.3)

    async def go():
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(fetcher.get(server.url(f"/ok/p{i}"), check_robots=False) for i in range(4)))

    started = time.monotonic()
    results = asyncio.run(go())
    assert all(r.outcome == "ok" for r in results)
    assert time.monotonic() - started >= 0.9  # 4 requests, 3 gaps of 0.3 s


@pytest.mark.parametrize("encoding", sorted(ENCODED_TEXT))
@pytest.mark.parametrize("where", ["header", "meta", "none", "default-header"])
def test_legacy_encodings_decode(server, encoding, where):
    from newsflow.archive import header
    from newsflow.encoding import decode_html

    result = fetch(server, f"/enc/{encoding}/{where}")
    assert result.outcome == "ok"
    text, _used = decode_html(result.body, header(result.headers, "Content-Type"))
    lang, title, _ = ENCODED_TEXT[encoding]
    assert title in text, (encoding, where, _used)


def test_retry_after_parsing_and_backoff():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == pytest.approx(10, abs=1)
    assert parse_retry_after("soon") is None
    settings = Settings(backoff_base_s=1, backoff_max_s=30)
    rng = random.Random(0)
    delays = [backoff_delay(n, settings, None, rng) for n in range(1, 8)]
    assert all(0.5 * min(30, 2 ** (n - 1)) <= d <= min(30, 2 ** (n - 1)) for n, d in zip(range(1, 8), delays, strict=True))
    assert backoff_delay(1, settings, 20, rng) == 20
    assert backoff_delay(1, settings, 500, rng) == 30


def test_robots_crawl_delay_is_honoured():
    with FaultServer(crawl_delay=0.4) as slow:
        settings = settings_for(slow, min_host_interval_s=0)

        async def go():
            async with Fetcher(settings) as fetcher:
                return await asyncio.gather(*(fetcher.get(slow.url(f"/ok/c{i}")) for i in range(4)))

        started = time.monotonic()
        results = asyncio.run(go())
    assert all(r.outcome == "ok" for r in results)
    assert time.monotonic() - started >= 1.2  # robots.txt first, then 4 pages 0.4 s apart


def fetch_paths_raw(responses: dict[str, bytes], paths: list[str], also_allow: tuple[str, ...] = (), **overrides):
    """Fetch each of `paths` in turn, with one Fetcher, from a server answering byte for byte."""
    from tests.support.rawserver import RawServer

    with RawServer(responses) as server:
        values = dict(min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=1, total_timeout_s=3, max_tries=1,
                      allow_private_hosts=[f"127.0.0.1:{server.port}", *also_allow])
        values.update(overrides)

        async def go():
            async with Fetcher(Settings(**values), seed=1) as fetcher:
                return [await fetcher.get(server.url(path)) for path in paths]

        return asyncio.run(go())


def raw_response(body: bytes, content_type: bytes = b"text/html", extra: bytes = b"", status: bytes = b"200 OK") -> bytes:
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, content_type, extra, len(body), body))


STORY = b"<html><body><p>Story text</p></body></html>"
ROBOTS_CAP = 512 * 1024


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_robots_txt_past_512_kib_is_obeyed_not_ignored(encoding):
    """A robots.txt over the cap failed too_large, and a failed robots.txt means "allow everything": a big site's
    `Disallow: /` followed by a long list was not honoured. RFC 9309 §2.5: parse at least the first 500 KiB."""
    import gzip

    robots = b"User-agent: *\nDisallow: /\n" + b"# padding padding padding padding padding\n" * 14_000
    assert len(robots) > ROBOTS_CAP
    extra = b""
    if encoding == "gzip":
        robots, extra = gzip.compress(robots), b"Content-Encoding: gzip\r\n"
    [result] = fetch_paths_raw({"/robots.txt": raw_response(robots, b"text/plain", extra), "/page": raw_response(STORY)},
                               ["/page"])
    assert (result.outcome, result.reason) == ("skipped", "robots_disallowed")


def test_a_robots_txt_cut_at_the_cap_drops_the_line_across_it_whole():
    """What is past the first 512 KiB is not read; the line the cut falls in is dropped whole, never read in part:
    `Disallow: /late-section/` cut to `Disallow: /` would close the whole site."""
    head = b"User-agent: *\nDisallow: /early/\n"
    padding = b"# padding\n" * ((ROBOTS_CAP - len(head)) // 10 - 1)
    filler = b"#" * (ROBOTS_CAP - len(head) - len(padding) - len(b"Disallow: /") - 1) + b"\n"
    robots = head + padding + filler + b"Disallow: /late-section/\n" + b"Disallow: /later/\n"
    assert robots.index(b"Disallow: /late-section/") + len(b"Disallow: /") == ROBOTS_CAP
    early, page, later = fetch_paths_raw(
        {"/robots.txt": raw_response(robots, b"text/plain"), "/page": raw_response(STORY),
         "/later/x": raw_response(STORY), "/early/x": raw_response(STORY)},
        ["/early/x", "/page", "/later/x"])
    assert (early.outcome, early.reason) == ("skipped", "robots_disallowed")
    assert (page.outcome, later.outcome) == ("ok", "ok")


def test_a_robots_txt_answering_a_server_error_is_named_as_the_cause():
    """A 5xx robots.txt is read as disallow-all on purpose (RFC 9309 §2.3.1.4), but every URL of the host said
    plain robots_disallowed, "the site's rules forbid it": an operator read the robots.txt and found nothing."""
    [result] = fetch_paths_raw({"/robots.txt": raw_response(b"oops", b"text/plain", status=b"500 Oops"),
                                "/page": raw_response(STORY)}, ["/page"])
    assert (result.outcome, result.reason) == ("skipped", "robots_disallowed:http_500")


def test_a_redirect_to_a_host_whose_robots_txt_answers_a_server_error_is_skipped_naming_the_cause():
    from tests.support.rawserver import RawServer

    with RawServer({"/robots.txt": raw_response(b"busy", b"text/plain", status=b"503 Busy"),
                    "/page": raw_response(STORY)}) as target:
        [result] = fetch_paths_raw(
            {"/page": b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                      % target.url("/page").encode()},
            ["/page"], also_allow=(f"127.0.0.1:{target.port}",))
    assert (result.outcome, result.reason, result.final_url) == ("skipped", "robots_disallowed:http_503",
                                                                 target.url("/page"))


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1 that no authority signed, as a small site's self-made or expired one fails."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def https_site(self_signed):
    """An HTTPS server on loopback with the self-signed certificate, serving a story at every path."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Story(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(STORY)))
            self.end_headers()
            self.wfile.write(STORY)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Story)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_a_certificate_error_is_a_tls_error_asked_once_and_no_sign_of_a_dead_host(https_site):
    """A certificate no authority signed was a connection_error, retried, and counted towards host_unreachable: three
    robots.txt tries and two of the feed's made the host "down" for a fault that gives the same answer every time."""
    settings = Settings(min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=1, total_timeout_s=3, max_tries=3,
                        backoff_base_s=0.05, host_failure_limit=2, allow_private_hosts=[f"127.0.0.1:{https_site}"])

    async def go():
        async with Fetcher(settings, seed=1) as fetcher:
            results = [await fetcher.get(f"https://127.0.0.1:{https_site}/story-{i}") for i in range(3)]
            return results, fetcher.hosts_down

    results, hosts_down = asyncio.run(go())
    assert [(r.outcome, r.reason, r.tries) for r in results] == [("failed", "tls_error:certificate", 1)] * 3
    assert hosts_down == set()


def test_tls_spoken_to_a_server_that_does_not_is_a_tls_error(server):
    """An https:// link to a port that answers plain HTTP (a misconfigured site): the handshake fails the same way
    every time."""
    result = fetch(server, f"https://127.0.0.1:{server.port}/ok/a", settings=settings_for(server, max_tries=3))
    assert (result.outcome, result.reason, result.tries) == ("failed", "tls_error:handshake", 1)


@pytest.mark.parametrize("label", [b"UTF-8", b"none", b"text"])
def test_an_unknown_content_encoding_is_read_as_identity_unless_the_bytes_are_compressed(label):
    """PHP sites that put a charset (or "none") in Content-Encoding display fine in browsers, which pass an unknown
    coding through as identity; each page failed unsupported_encoding. Bytes that open like gzip, zstd or xz under
    such a label are still no page."""
    import gzip

    header = b"Content-Encoding: " + label + b"\r\n"
    plain, gzipped, zstd = fetch_paths_raw(
        {"/plain": raw_response(STORY, extra=header), "/gzipped": raw_response(gzip.compress(STORY), extra=header),
         "/zstd": raw_response(b"\x28\xb5\x2f\xfd" + bytes(range(40)), extra=header)},
        ["/plain", "/gzipped", "/zstd"])
    assert (plain.outcome, plain.body, plain.decoded_from) == ("ok", STORY, None)
    assert [(r.outcome, r.reason) for r in (gzipped, zstd)] == [("failed", "unsupported_encoding")] * 2


BINARY_FILES = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
}


@pytest.mark.parametrize("kind", sorted(BINARY_FILES))
@pytest.mark.parametrize("size", [100, 10_000])
def test_a_binary_file_served_as_html_is_not_html(server, kind, size):
    """A PDF or an image sent with Content-Type text/html was fetched as a page and ended `rejected: missing_body`
    among the failed articles; a JPEG sent as image/jpeg is `skipped: not_html`, and so is this."""
    body = BINARY_FILES[kind] + bytes(range(256)) * (size // 256)
    server.pages[f"/binary-as-html/{kind}/{size}"] = ("text/html; charset=utf-8", body)
    result = fetch(server, f"/binary-as-html/{kind}/{size}")
    assert (result.outcome, result.reason, result.body) == ("skipped", "not_html", None)


@pytest.mark.parametrize("cut", [True, False], ids=["past-the-cap", "within-the-cap"])
def test_a_robots_txt_read_in_part_is_archived_as_truncated(tmp_path, cut):
    """The WARC keeps what was read of a robots.txt past 512 KiB, and says so (WARC 1.1 `WARC-Truncated: length`):
    without it, a reader of the archive took its first 512 KiB for the site's whole robots.txt."""
    from warcio.archiveiterator import ArchiveIterator

    from newsflow.archive import WarcArchive
    from newsflow.stages.http import archiver
    from tests.support.rawserver import RawServer

    robots = b"User-agent: *\nDisallow: /private/\n" + b"# padding padding padding padding padding\n" * (14_000 if cut else 10)
    assert (len(robots) > ROBOTS_CAP) == cut
    with RawServer({"/robots.txt": raw_response(robots, b"text/plain"), "/page": raw_response(STORY)}) as server:
        settings = Settings(min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=1, total_timeout_s=3,
                            max_tries=1, allow_private_hosts=[f"127.0.0.1:{server.port}"])

        async def go():
            with WarcArchive(tmp_path / "run.warc.gz") as archive:
                async with Fetcher(settings, seed=1, on_response=archiver(archive)) as fetcher:
                    return await fetcher.get(server.url("/page"))

        assert asyncio.run(go()).outcome == "ok"
    with open(tmp_path / "run.warc.gz", "rb") as fh:
        responses = {record.rec_headers.get_header("WARC-Target-URI"):
                     (record.rec_headers.get_header("WARC-Truncated"), len(record.content_stream().read()))
                     for record in ArchiveIterator(fh) if record.rec_type == "response"}
    assert responses[server.url("/page")] == (None, len(STORY))
    read = robots[:ROBOTS_CAP]
    read = read[: read.rfind(b"\n") + 1]  # up to the last whole line within the cap
    assert responses[server.url("/robots.txt")] == (("length", len(read)) if cut else (None, len(robots)))


def test_no_request_starts_after_stop_at_and_the_queue_behind_a_crawl_delay_does_not_sleep_it_out():
    """A Crawl-delay paces a host's requests; past the fetch's time budget the URLs still queued are `skipped:
    out_of_time` at once (no request), instead of each sleeping its interval first."""
    with FaultServer(crawl_delay=0.5) as slow:
        settings = settings_for(slow, min_host_interval_s=0)

        async def go():
            async with Fetcher(settings, stop_at=time.monotonic() + 1.7) as fetcher:
                return await asyncio.gather(*(fetcher.get(slow.url(f"/ok/q{i}")) for i in range(12)))

        started = time.monotonic()
        results = asyncio.run(go())
        took = time.monotonic() - started
        asked = [path for path in slow.hits if path.startswith("/ok/q")]
    done = [r for r in results if r.outcome == "ok"]
    left = [r for r in results if r.outcome != "ok"]
    assert 1 <= len(done) <= 4 and len(done) + len(left) == 12, [(r.outcome, r.reason) for r in results]
    assert {(r.outcome, r.reason, r.status) for r in left} == {("skipped", "out_of_time", None)}
    assert sorted(asked) == sorted(r.url.split(str(slow.port))[1] for r in done)  # the left ones were never asked
    assert took < 12 * 0.5 - 1, took  # the eight or so left did not wait out their 0.5 s each


def test_a_304_to_a_request_that_named_no_version_is_a_failure_not_an_unchanged_page():
    """A misconfigured cache answering 304 to everything: a URL never fetched was logged `unchanged: not_modified`
    with nothing stored, and stayed so at every run. Asked with its validators, a 304 is the page unchanged."""
    from tests.support.rawserver import RawServer

    always_304 = b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 0\r\n\r\n"
    with RawServer({"/story": always_304}) as server:
        settings = Settings(min_host_interval_s=0, max_tries=1, respect_robots=False,
                            allow_private_hosts=[f"127.0.0.1:{server.port}"])

        async def go():
            async with Fetcher(settings, seed=1) as fetcher:
                return (await fetcher.get(server.url("/story")),
                        await fetcher.get(server.url("/story"), etag='"v1"'),
                        await fetcher.get(server.url("/story"), last_modified="Mon, 01 Jan 2024 00:00:00 GMT"))

        unasked, by_etag, by_date = asyncio.run(go())
    assert (unasked.outcome, unasked.reason, unasked.status, unasked.tries) == ("failed", "http_304", 304, 1)
    assert [(r.outcome, r.reason, r.status) for r in (by_etag, by_date)] == [("not_modified", "not_modified", 304)] * 2


def test_urls_left_out_of_time_leave_no_booking_in_the_shared_host_gate(tmp_path):
    """Each URL queued behind the host's lock booked its start in the shared gate before finding the time up: 3,000
    left at a 2 s Crawl-delay booked the host 40 minutes ahead, and the next run, or another source of the site,
    waited that out before its first request."""
    from newsflow.fetch import host_port
    from newsflow.host_gate import HostGate

    with FaultServer(crawl_delay=0.5) as slow:
        settings = settings_for(slow, min_host_interval_s=0)

        async def go():
            async with Fetcher(settings, host_gate_dir=tmp_path / "gate", stop_at=time.monotonic() + 1.2) as fetcher:
                return await asyncio.gather(*(fetcher.get(slow.url(f"/ok/g{i}")) for i in range(40)))

        results = asyncio.run(go())
        key = host_port(slow.url("/"))
    assert sum(r.reason == "out_of_time" for r in results) >= 35
    wait = asyncio.run(HostGate(tmp_path / "gate", 2).reserve(key, 0.5))
    assert wait <= 0.5 + 0.1, wait  # at most the one interval after the last request made, not 35 more


def test_every_archived_response_names_the_address_it_came_from(server, tmp_path):
    """WARC-IP-Address is kept for every response, not only those still streaming when their headers were read:
    aiohttp lets go of the connection of a page whose whole body came with its headers, and such records (nearly
    all of them) were archived without the server's address."""
    from warcio.archiveiterator import ArchiveIterator

    from newsflow.archive import WarcArchive
    from newsflow.stages.http import archiver

    async def go():
        with WarcArchive(tmp_path / "run.warc.gz") as archive:
            async with Fetcher(settings_for(server), seed=1, on_response=archiver(archive)) as fetcher:
                return [await fetcher.get(server.url(path)) for path in ("/ok/a", "/ok/b")]

    assert [r.outcome for r in asyncio.run(go())] == ["ok", "ok"]
    with open(tmp_path / "run.warc.gz", "rb") as fh:
        addresses = {record.rec_headers.get_header("WARC-Target-URI"): record.rec_headers.get_header("WARC-IP-Address")
                     for record in ArchiveIterator(fh) if record.rec_type == "response"}
    assert server.url("/ok/a") in addresses and server.url("/ok/b") in addresses
    assert set(addresses.values()) == {"127.0.0.1"}


def test_a_redirect_hop_is_archived_with_its_location_and_the_result_points_at_the_page(server, tmp_path):
    """A link that redirects (a feed's tracker, an old address) left only the page it landed on in the WARC: a
    replay of the listed link found nothing there. Each hop is a response record with its status and Location,
    its unread body marked truncated; fetch_log's pointer stays the page's."""
    from warcio.archiveiterator import ArchiveIterator

    from newsflow.archive import WarcArchive, read_response
    from newsflow.stages.http import archiver

    async def go():
        with WarcArchive(tmp_path / "run.warc.gz") as archive:
            async with Fetcher(settings_for(server), seed=1, on_response=archiver(archive)) as fetcher:
                return await fetcher.get(server.url("/redirect-ok"))

    result = asyncio.run(go())
    assert result.outcome == "ok" and result.final_url == server.url("/ok/after-redirect")
    with open(tmp_path / "run.warc.gz", "rb") as fh:
        records = [(record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                    record.http_headers.get_statuscode(), record.http_headers.get_header("Location"),
                    record.rec_headers.get_header("WARC-Truncated"), record.content_stream().read())
                   for record in ArchiveIterator(fh) if record.rec_type in ("response", "request")]
    responses = [r for r in records if r[0] == "response" and not r[1].endswith("/robots.txt")]
    assert [r[1:3] for r in responses] == [(server.url("/redirect-ok"), "301"),
                                           (server.url("/ok/after-redirect"), "200")]
    hop = responses[0]
    assert hop[3] == "/ok/after-redirect" and hop[5] == b""
    assert hop[4] == "length"  # aiohttp's 301 carries a short text body, not read
    assert ("request", server.url("/redirect-ok")) in {r[:2] for r in records}
    assert b"Parliament passes" in read_response(result.warc_file, result.warc_offset).body
