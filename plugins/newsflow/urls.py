"""URL hygiene: canonical forms for deduplication and article keys, registered domains, allowed schemes.

The canonical URL is the article's identity; the URL as discovered is kept untouched for the fetch log.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

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


def canonicalize(url: str) -> str:
    """A stable form of an http(s) URL: lower-case host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        raise BadURL(f"scheme {scheme or 'missing'!r} is not http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BadURL("no host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    try:
        port = parts.port
    except ValueError:
        raise BadURL("invalid port") from None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # re-quote so that %7E and ~ (and other equivalent spellings) end up identical
    path = quote(unquote(parts.path or "/"), safe="/:@!$&'()*+,;=-._~")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


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
