"""Bot walls and gates told from pages (newsflow.bot_walls), on the shapes the vendors answer with."""

from __future__ import annotations

import pytest

from newsflow.bot_walls import by_body, by_headers, is_gate
from tests.support.faultserver import BOT_WALLS


@pytest.mark.parametrize(("headers", "vendor"), [
    ({"cf-mitigated": "challenge"}, "cloudflare"),
    ({"x-vercel-mitigated": "challenge"}, "vercel"),
    ({"x-amzn-waf-action": "captcha"}, "aws_waf"),
    # a healthy page's policy naming captcha and CDN hosts is no challenge
    ({"content-security-policy": "script-src https://www.google.com/recaptcha/ https://cdnjs.cloudflare.com/"}, None),
    ({"server": "cloudflare", "cf-ray": "8a1b2c3d4e5f-FRA"}, None),
])
def test_walls_by_the_headers_vendors_document(headers, vendor):
    assert by_headers(headers) == vendor


@pytest.mark.parametrize("case", ["datadome", "akamai", "cloudflare"])
def test_block_pages_in_a_refusal(case):
    status, _headers, body = BOT_WALLS[case]
    assert by_body(status, body) == case
    assert by_body(200, body) is None  # the same words in a page served normally are an article's


def test_a_plain_refusal_is_no_wall():
    status, _headers, body = BOT_WALLS["plain-403"]
    assert by_body(status, body) is None


@pytest.mark.parametrize(("asked", "landed", "gate"), [
    ("https://news.yahoo.com/budget-vote-123.html",
     "https://guce.yahoo.com/consent?brandType=eu&gcrumb=AbC&done=https%3A%2F%2Fnews.yahoo.com%2Fbudget-vote-123.html",
     True),
    ("https://news.google.com/articles/CBMiX2h0dHBz?hl=de",
     "https://consent.google.com/m?continue=https://news.google.com/articles/CBMiX2h0dHBz?hl%3Dde&gl=DE&m=0", True),
    ("https://www.ad.nl/binnenland/brug-dicht~a1b2c3/",
     "https://myprivacy.dpgmedia.nl/consent?siteKey=x&callbackUrl=https%3A%2F%2Fwww.ad.nl%2Fprivacy-gate%2Faccept-tcf2"
     "%3FredirectUri%3D%252Fbinnenland%252Fbrug-dicht~a1b2c3%252F", True),
    ("https://www.example.com/login-required/story", "https://www.example.com/account/login?return=%2Flogin-required%2Fstory",
     True),
    # not gates: the article moved, took a campaign, went to https, or a home page sent elsewhere
    ("http://herald.example/2024/03/story", "https://herald.example/2024/03/story", False),
    ("https://herald.example/story", "https://herald.example/story?utm_source=x", False),
    ("http://herald.example/story", "https://www.herald.example/story/?ref=http%3A%2F%2Fherald.example%2Fstory", False),
    ("https://herald.example/s/123", "https://herald.example/2024/03/14/story-123.html", False),
    ("https://herald.example/", "https://herald.example/en/?from=/", False),
    ("https://herald.example/a", "https://herald.example/b?next=/ab", False),
])
def test_a_gate_carries_the_url_asked_for(asked, landed, gate):
    assert is_gate(asked, landed) is gate
