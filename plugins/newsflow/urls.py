"""URL hygiene: canonical forms for deduplication and article keys, registered domains, allowed schemes.

The canonical URL is the article's identity; the URL as discovered is kept untouched for the fetch log.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlencode, urlsplit, urlunsplit

import idna

from newsflow.encoding import LONE_SURROGATE

FETCHABLE_SCHEMES = frozenset({"http", "https"})

# Parameters that only say how a reader arrived; they never change the article.
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "__hs", "_hs")
_TRACKING_NAMES = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid",
        "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ncid", "ocid", "sr_share", "at_medium", "at_campaign",
        "spm",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadURL(ValueError):
    pass


def scheme_of(url: str) -> str:
    return urlsplit(url.strip()).scheme.lower()


MAX_URL_CHARS = 8192  # browsers and servers give up around here; longer "URLs" are junk in a listing
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# C0 and C1 controls and DEL are never part of a real URL (a browser drops them, a server would see them);
# a space in a path is sloppy but common and gets percent-encoded, in the host it is not a name at all
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")
_ESCAPED_SLASH = re.compile("%2f", re.I)


def _ascii_host(host: str) -> str:
    """The host as the DNS sees it: an IP literal, or IDNA labels of 1-63 characters, 253 at most in all."""
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            raise BadURL("invalid IPv6 address") from None
        return f"[{address.compressed}]"
    host = host.rstrip(".").lower()
    if not host:
        raise BadURL("no host")
    labels = []
    for label in host.split("."):
        try:
            # IDNA 2008 with UTS 46 mapping, as yarl encodes the host aiohttp requests: Python's idna codec is IDNA
            # 2003, which takes faß.de to fass.de, another domain than the one fetched (xn--fa-hia.de)
            ascii_label = label if label.isascii() else idna.encode(label, uts46=True).decode("ascii").lower()
        except UnicodeError:  # idna.IDNAError is one
            raise BadURL(f"invalid host label {label[:70]!r}") from None
        if not _HOST_LABEL.match(ascii_label):
            raise BadURL(f"invalid host label {label[:70]!r}")
        labels.append(ascii_label)
    ascii_host = ".".join(labels)
    if len(ascii_host) > 253:
        raise BadURL("host name over 253 characters")
    return ascii_host


def canonicalize(url: str) -> str:
    """A stable form of an http(s) URL: lower-case host, no default port, no fragment, no tracking parameters.

    Anything that is not a usable http(s) URL raises BadURL (a ValueError), never another exception: bad IPv6
    brackets, empty or over-long host labels, controls or spaces inside, ports out of range, over-long URLs.
    """
    if not isinstance(url, str):
        raise BadURL("not a string")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise BadURL(f"over {MAX_URL_CHARS} characters")
    if _CONTROLS.search(url):
        raise BadURL("control character inside")
    if LONE_SURROGATE.search(url):  # undecodable bytes as Python keeps them: no UTF-8 spells such a URL
        raise BadURL("undecodable bytes inside")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in FETCHABLE_SCHEMES:
            raise BadURL(f"scheme {scheme or 'missing'!r} is not http or https")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        raw_host = netloc[: netloc.index("]") + 1] if netloc.startswith("[") else netloc.split(":", 1)[0]
        port = parts.port
    except BadURL:
        raise
    except ValueError as exc:  # bad brackets, a port out of range or not a number
        raise BadURL(str(exc)[:200]) from None
    if _SPACE.search(raw_host):
        raise BadURL("space in the host")
    host = _ascii_host(raw_host)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # re-quote so that %7E and ~ (and other equivalent spellings) end up identical. Byte by byte: an escape that is
    # not UTF-8 (a legacy site's ISO-8859-1 "m%FCnchen") keeps its byte; decoded as text it became U+FFFD, and
    # "m%FCnchen" and "k%F6ln" one canonical URL, one article id, the second page a "duplicate"
    # An escaped slash is not a slash (RFC 3986 2.2): "/tag/AC%2FDC" is one segment, and servers route it apart
    # from "/tag/AC/DC", so it stays escaped
    path = "%2F".join(
        quote(unquote_to_bytes(piece), safe="/:@!$&'()*+,;=-._~") for piece in _ESCAPED_SLASH.split(parts.path or "/")
    )
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True, errors="surrogateescape")
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True, errors="surrogateescape"), ""))


def url_problem(url: str) -> str | None:
    """The ledger reason a URL cannot be fetched at all (`bad_scheme`, `invalid_url`), or None when it can."""
    try:
        canonicalize(url)
    except BadURL as exc:
        return "bad_scheme" if str(exc).startswith("scheme ") else "invalid_url"
    return None


# Click-through redirectors that name their target in the query: (host, path, parameters holding the target).
# Google Alerts' feeds link every item as www.google.<tld>/url?…&url=<the article>; search results as ?q=…
_REDIRECTORS = (
    (re.compile(r"(?:www\.)?google\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})"), "/url", ("url", "q")),
    (re.compile(r"(?:www\.)?bing\.com"), "/news/apiclick.aspx", ("url",)),
    (re.compile(r"lm?\.facebook\.com"), "/l.php", ("u",)),
    (re.compile(r"(?:html\.)?duckduckgo\.com"), "/l/", ("uddg",)),
)


def redirect_target(url: str) -> str | None:
    """The page a known click-through redirector's link names in its query (Google's /url, as Google Alerts' feeds
    link their items; Bing News' apiclick; Facebook's l.php; DuckDuckGo's /l/), or None for any other URL. Such a
    link is its target, as FeedBurner's origLink is the publisher's URL: the article is keyed by the target and
    fetched there, without a request to the redirector (which may refuse robots, answer with a script, or log the
    reader). Nested ones are followed up to three deep."""
    target = None
    for _ in range(3):
        try:
            parts = urlsplit(url.strip())
            host = (parts.hostname or "").lower()
        except ValueError:
            return target
        named = None
        for pattern, path, names in _REDIRECTORS:
            if parts.path == path and pattern.fullmatch(host) and parts.scheme.lower() in FETCHABLE_SCHEMES:
                query = dict(parse_qsl(parts.query))
                named = next((query[n] for n in names if query.get(n, "").lower().startswith(("http://", "https://"))),
                             None)
                break
        if named is None or url_problem(named):
            return target
        target = url = named
    return target


def article_id(canonical_url: str) -> str:
    return hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()[:20]


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # the bundled public-suffix snapshot: no download at run time
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=4096)
def registered_domain(url_or_host: str) -> str:
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
    host = (host or "").lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def host_port(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    host = (parts.hostname or "").lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
