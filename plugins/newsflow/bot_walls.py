"""Tell a bot wall (a CDN's or WAF's challenge or block page, a consent or login gate) from the page asked for, so
that a run records `blocked:<vendor>` instead of an anonymous http_403 or a "short article".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from urllib.parse import SplitResult, unquote, urlsplit

# Headers the vendors document for their challenge responses: definitive, whatever the status (Cloudflare answers
# 403, Vercel 429, AWS WAF 202 or 405, and a challenge may come with 200)
_HEADER_SIGNALS = (
    ("cf-mitigated", "challenge", "cloudflare"),  # developers.cloudflare.com: "challenge is the only valid value"
    ("x-vercel-mitigated", "challenge", "vercel"),
    ("x-amzn-waf-action", "challenge", "aws_waf"),
    ("x-amzn-waf-action", "captcha", "aws_waf"),
)

# Markers of the vendors' own block and captcha pages, looked for only in a refusal (401, 403, 405) and only in its
# first 64 KiB: an article may mention Cloudflare, and a healthy page's Content-Security-Policy names captcha
# hosts, so neither a header's mention nor a 200 page's text counts
_BODY_SIGNALS = (
    (re.compile(rb"/cdn-cgi/challenge-platform/|<title>Just a moment\.\.\.</title>|Attention Required! \| Cloudflare"),
     "cloudflare"),
    (re.compile(rb"captcha-delivery\.com"), "datadome"),
    (re.compile(rb"px-captcha|captcha\.px-cdn\.net|_pxAppId"), "perimeterx"),
    (re.compile(rb"Incapsula incident ID|_Incapsula_Resource"), "imperva"),
    # Akamai writes its block page's URLs and reference with character references ("errors&#46;edgesuite&#46;net")
    (re.compile(rb"errors(?:\.|&#46;)edgesuite(?:\.|&#46;)net|Reference&#32;&#35;\d+&#46;"), "akamai"),
    (re.compile(rb"Sucuri WebSite Firewall"), "sucuri"),
    (re.compile(rb"DDoS-Guard", re.I), "ddos_guard"),
)
_REFUSALS = frozenset({401, 403, 405})
BODY_SCAN_BYTES = 64 * 1024


def by_headers(headers: Mapping[str, str]) -> str | None:
    """The vendor whose challenge a response is, by the header the vendor documents for it; else None."""
    for name, value, vendor in _HEADER_SIGNALS:
        if (headers.get(name) or "").strip().lower() == value:
            return vendor
    return None


def by_body(status: int, body: bytes) -> str | None:
    """The vendor whose block or captcha page a refusal (401, 403, 405) carries; else None."""
    if status not in _REFUSALS:
        return None
    head = body[:BODY_SCAN_BYTES]
    for pattern, vendor in _BODY_SIGNALS:
        if pattern.search(head):
            return vendor
    return None


# What a consent or login page's address calls it, in a subdomain (consent.google.com, myprivacy.dpgmedia.nl,
# login.example.com) or a short path segment (/consent, /v2/collectConsent, /privacy-gate, /account/login,
# /ServiceLogin, /wp-login.php, /users/sign_in, /oauth/authorize)
_GATE_WORDS = frozenset({"consent", "consents", "gdpr", "privacy", "cookie", "cookies", "login", "logon", "signin",
                         "auth", "oauth", "authorize", "sso", "account", "accounts",
                         # the same in the languages of the sites that gate this way (ZEIT's /zustimmung?url=…)
                         "zustimmung", "einwilligung", "anmelden", "anmeldung", "consentement",
                         "connexion", "consenso", "accedi", "toestemming", "inloggen", "aanmelden", "consentimiento",
                         "iniciarsesion", "zgoda", "logowanie"})
# words long and plain enough to be looked for inside a subdomain, which is lower case and unsplit ("myprivacy")
_HOST_WORDS = ("consent", "privacy", "login", "signin")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")  # camelCase split too: ServiceLogin, collectConsent


def _gate_address(parts: SplitResult) -> bool:
    """Whether an address names itself a consent or login page. A path segment counts only when short: an article's
    slug is a headline ("consent-decree-upheld-by-court"), a gate's segment a word or two."""
    host = (parts.hostname or "").split(".")[:-2]  # the site's own name, the last two, could be anything
    if any(word in label for label in host for word in _HOST_WORDS):
        return True
    for piece in host + unquote(parts.path).split("/"):
        words = [w.lower() for w in _WORD.findall(piece.split(".", 1)[0])]
        # "sign_in", "log-in" are one word split in two
        if len(words) <= 3 and _GATE_WORDS.intersection(words + [a + b for a, b in pairwise(words)]):
            return True
    return False


def is_gate(asked: str, landed: str) -> bool:
    """Whether the page a redirect chain from `asked` landed on is a consent or login gate: a page whose address
    names it one (a consent, privacy or login host or path segment) and whose query carries the URL asked for (or
    its path), to send the reader back once they have clicked. Yahoo's `guce.yahoo.com/consent?…&done=https%3A%2F%2F…`,
    Google's `consent.google.com/m?continue=…`, DPG Media's privacy gate (the path inside a URL inside the query, so
    escapes are undone up to three times), a site's `/login?next=…`. An article renamed since, whose new address
    carries the old one (`/story-renamed?redirectedfrom=/story`), is none."""
    asked_parts, landed_parts = urlsplit(asked), urlsplit(landed)
    # a gate lives at a path of its own (/consent, /m, /login): the article itself, moved to https or www. with the
    # old address on its query for analytics, is no gate
    if (landed_parts.path.rstrip("/") == asked_parts.path.rstrip("/") or not landed_parts.query
            or not _gate_address(landed_parts)):
        return False
    path = asked_parts.path + (f"?{asked_parts.query}" if asked_parts.query else "")
    # the path alone only when long enough not to turn up in any query by chance ("/a" in "?x=/ab")
    needles = [asked.split("#", 1)[0]] + ([path] if len(path) >= 8 else [])
    query = landed_parts.query
    for _ in range(3):
        if any(needle in query for needle in needles):
            return True
        unescaped = unquote(query)
        if unescaped == query:
            return False
        query = unescaped
    return any(needle in query for needle in needles)
