"""Canonical URLs: tracking parameters, fragments, host case and default ports never split one article in two."""

from __future__ import annotations

import pytest

from newsflow.urls import BadURL, article_id, canonicalize, redirect_target, registered_domain


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTP://Example.COM:80/a/b.html#top", "http://example.com/a/b.html"),
        ("https://example.com:443/x?utm_source=rss&utm_medium=feed&id=7", "https://example.com/x?id=7"),
        ("https://example.com/x?b=2&a=1&fbclid=zz", "https://example.com/x?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/%7Euser/", "https://example.com/~user/"),
        ("http://127.0.0.1:8765/alhadath/a.html?utm_campaign=x", "http://127.0.0.1:8765/alhadath/a.html"),
        ("https://bücher.example/نص", "https://xn--bcher-kva.example/%D9%86%D8%B5"),
        ("https://example.com/m%c3%bcnchen.html", "https://example.com/m%C3%BCnchen.html"),
        ("https://example.com/münchen.html", "https://example.com/m%C3%BCnchen.html"),
        # escapes that are not UTF-8 (a legacy ISO-8859-1 site) keep their bytes
        ("https://example.com/m%fcnchen.html?ort=k%F6ln", "https://example.com/m%FCnchen.html?ort=k%F6ln"),
        # an escaped slash is part of one segment, not a slash (RFC 3986 2.2); other escapes are normalised
        ("https://example.com/tag/AC%2fDC%2C%20live", "https://example.com/tag/AC%2FDC,%20live"),
        ("https://example.com/a%252Fb", "https://example.com/a%252Fb"),
        # tracking parameters in any case: a newsletter tool's UTM_Source is still tracking
        ("https://example.com/x?UTM_Source=Newsletter&id=7&FBCLID=zz", "https://example.com/x?id=7"),
        # a blank value is a value: `?print=` may select another rendering of the page than no parameter at all
        ("https://example.com/x?print=&id=7", "https://example.com/x?id=7&print="),
        # the root label's dot names the same host
        ("https://Example.COM./x", "https://example.com/x"),
    ],
)
def test_canonicalize(raw, canonical):
    assert canonicalize(raw) == canonical


@pytest.mark.parametrize("host", ["faß.de", "straße.example", "ΟΔΟΣ.gr", "пример.рф", "موقع.example", "新闻.cn",
                                  "ＢＵＣＨＥＲ.example"])
def test_the_canonical_host_is_the_host_aiohttp_requests(host):
    """IDNA 2008 (UTS 46), as yarl encodes the host aiohttp connects to: the idna codec's IDNA 2003 took faß.de to
    fass.de, another registered domain than the one fetched, and merged the two sites' pages."""
    from yarl import URL

    url = f"https://{host}/a"
    assert canonicalize(url) == f"https://{URL(url).raw_host}/a"


def test_an_idn_with_sharp_s_and_its_ss_spelling_are_two_sites():
    assert canonicalize("http://faß.de/x") == "http://xn--fa-hia.de/x"
    assert article_id(canonicalize("http://faß.de/x")) != article_id(canonicalize("http://fass.de/x"))


def test_an_escaped_slash_and_a_slash_are_two_articles():
    """Merged, the second page was taken for a duplicate of the first and never stored."""
    assert canonicalize("https://example.com/tag/AC%2FDC") != canonicalize("https://example.com/tag/AC/DC")
    assert article_id(canonicalize("https://example.com/tag/AC%2FDC")) != article_id(
        canonicalize("https://example.com/tag/AC/DC"))


@pytest.mark.parametrize("raw", ["file:///etc/passwd", "ftp://example.com/a", "data:text/html,hi", "gopher://x/", "/relative"])
def test_non_http_schemes_are_refused(raw):
    with pytest.raises(BadURL):
        canonicalize(raw)


@pytest.mark.parametrize("raw", ["http://a.example/caf\udce9", "http://a.example/?q=\udcff", "http://\udcff.example/"])
def test_undecodable_bytes_are_a_bad_url_not_a_unicode_error(raw):
    """Lone surrogates (how Python keeps undecodable header bytes) cannot be quoted: BadURL, not UnicodeEncodeError."""
    with pytest.raises(BadURL, match="undecodable"):
        canonicalize(raw)


def test_distinct_legacy_escapes_stay_distinct_articles():
    """Decoded as UTF-8, every ISO-8859-1 escape became U+FFFD: "?ort=%FC" and "?ort=%F6" shared one article id."""
    urls = ["https://example.de/m%FCnchen.html", "https://example.de/k%F6ln.html", "https://example.de/?ort=%FC",
            "https://example.de/?ort=%F6"]
    assert len({article_id(canonicalize(u)) for u in urls}) == 4


def test_article_id_is_stable_and_shared_by_equivalent_urls():
    a = article_id(canonicalize("https://Example.com/story?utm_source=x"))
    b = article_id(canonicalize("https://example.com/story#comments"))
    assert a == b and len(a) == 20


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.bbc.co.uk/news/x", "bbc.co.uk"),
        ("https://news.alhadath.net/a", "alhadath.net"),
        ("http://127.0.0.1:8765/a", "127.0.0.1"),
        ("https://lenta.ru/news/", "lenta.ru"),
    ],
)
def test_registered_domain_uses_bundled_suffix_list(url, domain):
    assert registered_domain(url) == domain


@pytest.mark.parametrize(("link", "target"), [
    # Google Alerts' feed links, and search results' click-throughs, on any Google domain
    ("https://www.google.com/url?rct=j&sa=t&url=https://www.aljazeera.net/news/2024/5/21/x&ct=ga&cd=CAIy&usg=AOvV",
     "https://www.aljazeera.net/news/2024/5/21/x"),
    ("https://www.google.co.uk/url?q=https://example.org/a%3Fb%3D1&sa=U&ved=2ah", "https://example.org/a?b=1"),
    ("https://google.de/url?url=https%3A%2F%2Fwww.spiegel.de%2Fpolitik%2Fa-1.html", "https://www.spiegel.de/politik/a-1.html"),
    ("http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=9&url=https%3a%2f%2fnews.example%2fstory&c=1&mkt=en-us",
     "https://news.example/story"),
    ("https://duckduckgo.com/l/?uddg=https%3A%2F%2Fria.example%2F20240521%2Fmost.html&rut=ab", "https://ria.example/20240521/most.html"),
    # nested: a Facebook click-through of a Google one
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.google.com%2Furl%3Furl%3Dhttps%3A%2F%2Fx.example%2Fy&h=AT",
     "https://x.example/y"),
    # not redirector links, or naming nothing fetchable
    ("https://www.google.com/search?q=https://x.example/", None),
    ("https://www.google.com/url?q=javascript:alert(1)", None),
    ("https://www.google.com/url?url=https://[::1/x", None),
    ("https://notgoogle.com/url?url=https://x.example/", None),
    ("https://news.example/url?url=https://x.example/", None),
    ("https://www.google.com/url", None),
    ("https://[bad/url?url=https://x.example/", None),
])
def test_redirect_target_of_click_through_links(link, target):
    assert redirect_target(link) == target
