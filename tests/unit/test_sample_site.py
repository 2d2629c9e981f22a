"""The bundled sample site over real HTTP: feeds list exactly the ground truth, pages are self-contained and
their stories survive bare trafilatura; the server honours validators, HEAD, 404 and refuses traversal."""

from __future__ import annotations

import difflib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html

from newsflow.sample_site.server import SITE_DIR

PKG = SITE_DIR.parent
EXPECTED = json.loads((PKG / "expected.json").read_text(encoding="utf-8"))
SOURCES = json.loads((PKG / "sources.json").read_text(encoding="utf-8"))
FETCHED = [e for e in EXPECTED if e["outcome"] in ("loaded", "rejected")]
LOADED = [e for e in EXPECTED if e["outcome"] == "loaded"]
REASONS = {
    "loaded": {None},
    "rejected": {"missing_date", "body_too_short", "navigation_page"},
    "failed": {"http_404"},
    "skipped": {"duplicate"},
}
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


def _ids(entries):
    return [e["path"] for e in entries]


def request(site, path, method="GET", headers=None):
    # http.client sends the path verbatim, so traversal attempts reach the server unnormalised
    conn = http.client.HTTPConnection(site.host, site.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def fold(text):
    # trafilatura drops U+200C (ZWNJ), which Persian spelling needs ("می‌شود" comes out as "میشود")
    return text.replace("\u200c", "")


@pytest.fixture(scope="module")
def pages(sample_site):
    out = {}
    for e in FETCHED:
        status, headers, body = request(sample_site, e["path"])
        out[e["path"]] = (status, headers, body.decode("utf-8"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Ground truth


def test_ground_truth_covers_the_required_cases():
    outcomes = Counter(e["outcome"] for e in EXPECTED)
    assert outcomes["loaded"] >= 20 and outcomes["rejected"] >= 3
    assert outcomes["failed"] >= 1 and outcomes["skipped"] >= 1
    for e in EXPECTED:
        assert e["reason"] in REASONS[e["outcome"]], e["path"]
        assert e["source"] in SOURCES
    assert {e["reason"] for e in EXPECTED if e["outcome"] == "rejected"} == REASONS["rejected"]
    assert {"ar", "en", "ru", "zh", "fa"} <= {e["language"] for e in LOADED}
    per_lang = Counter(e["language"] for e in LOADED)
    assert per_lang["ar"] >= 6 and per_lang["en"] >= 7 and per_lang["ru"] >= 5
    assert per_lang["zh"] >= 4 and per_lang["fa"] >= 2
    assert len({e["path"] for e in EXPECTED}) == len(EXPECTED)


def test_ground_truth_dates_spread_over_many_past_days():
    days = Counter(e["published_date"] for e in LOADED)
    assert len(days) >= 10 and max(days.values()) >= 3
    for e in LOADED:
        assert date(2018, 5, 1) <= date.fromisoformat(e["published_date"]) <= date(2018, 6, 30)
        assert e["published_local"].startswith(e["published_date"] + "T")
        assert e["body_starts_with"] and e["body_contains"] and e["title"]


def test_ground_truth_near_duplicate_points_across_sources():
    by_path = {e["path"]: e for e in EXPECTED}
    pairs = [(e, by_path[e["near_duplicate_of"]]) for e in EXPECTED if e["near_duplicate_of"]]
    assert pairs
    for copy, original in pairs:
        assert copy["outcome"] == original["outcome"] == "loaded"
        assert copy["source"] != original["source"] and copy["credit"] == original["credit"]


def test_sources_json_is_complete():
    kinds = {"feed", "sitemap", "urls"}
    for name, src in SOURCES.items():
        assert src["kind"] in kinds and src["path"].startswith(f"/{name}/")
        ZoneInfo(src["timezone"])
        assert src["language"] in {e["language"] for e in LOADED if e["source"] == name}
    assert SOURCES["xinwen"]["kind"] == "urls" and SOURCES["xinwen"]["path"] == "/xinwen/urls.txt"


# ---------------------------------------------------------------------------------------------------------
# Pages


@pytest.mark.parametrize("entry", FETCHED, ids=_ids(FETCHED))
def test_page_is_served_self_contained(entry, pages, sample_site):
    status, headers, text = pages[entry["path"]]
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(text.encode("utf-8"))
    assert '<meta charset="utf-8">' in text and "{{BASE}}" not in text
    root = lxml_html.fromstring(text)
    assert root.get("lang").split("-")[0] == entry["language"]
    assert [h.text_content().strip() for h in root.iter("h1")] == [entry["title"]]
    assert not root.xpath("//script[@src] | //img | //iframe | //link[@rel='stylesheet']")
    if entry["credit_text"]:
        assert entry["credit_text"] in " ".join(root.text_content().split())
    for el, attr, link, _ in root.iterlinks():
        if urlsplit(link).netloc:
            assert link.startswith(sample_site.base_url), (el.tag, attr, link)


def _machine_dates(root):
    values = [v for v in root.xpath("//meta[@property='article:published_time']/@content")]
    values += root.xpath("//time/@datetime")
    for script in root.xpath("//script[@type='application/ld+json']/text()"):
        values.append(json.loads(script)["datePublished"])
    return values


@pytest.mark.parametrize("entry", LOADED, ids=_ids(LOADED))
def test_machine_readable_dates_agree_with_ground_truth(entry, pages):
    root = lxml_html.fromstring(pages[entry["path"]][2])
    zone = ZoneInfo(SOURCES[entry["source"]]["timezone"])
    for value in _machine_dates(root):
        stamp = datetime.fromisoformat(value)
        assert stamp.utcoffset() is not None, value
        assert stamp.astimezone(zone).replace(tzinfo=None).isoformat() == entry["published_local"]


def test_some_arabic_pages_carry_only_a_visible_dateline(pages):
    bare = [
        e
        for e in LOADED
        if e["language"] == "ar"
        and not _machine_dates(lxml_html.fromstring(pages[e["path"]][2]))
        and not re.search(r"/20\d\d/", e["path"])
    ]
    assert len(bare) >= 2
    for e in bare:
        day = int(e["published_date"][8:])
        digits = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
        visible = lxml_html.fromstring(pages[e["path"]][2]).xpath("string(//*[@class='story-date'])")
        assert re.search(rf"\b{day} \D+ 2018\b", visible.translate(digits)), visible


@pytest.mark.parametrize("entry", [e for e in FETCHED if e["reason"] == "missing_date"])
def test_missing_date_page_has_no_date_anywhere(entry, pages):
    text = pages[entry["path"]][2]
    assert not re.search(r"(19|20)\d\d", text + entry["path"])
    assert not _machine_dates(lxml_html.fromstring(text))
    assert find_date(text, extensive_search=True, original_date=True) is None


@pytest.mark.parametrize("entry", LOADED, ids=_ids(LOADED))
def test_bare_trafilatura_keeps_the_story_and_drops_the_chrome(entry, pages):
    html = pages[entry["path"]][2]
    text = fold(trafilatura.extract(html) or "")
    assert fold(entry["body_contains"]) in text
    assert fold(entry["body_starts_with"]) in text
    # comment sections are appended by default (include_comments=True), so the chrome check disables that
    clean = fold(trafilatura.extract(html, include_comments=False) or "")
    for junk in entry["body_excludes"]:
        assert fold(junk) not in clean, junk


def test_near_duplicates_extract_to_nearly_the_same_body(pages):
    for e in (e for e in LOADED if e["near_duplicate_of"]):
        a = trafilatura.extract(pages[e["path"]][2], include_comments=False)
        b = trafilatura.extract(pages[e["near_duplicate_of"]][2], include_comments=False)
        assert a != b and difflib.SequenceMatcher(None, a, b).ratio() > 0.95


# ---------------------------------------------------------------------------------------------------------
# Discovery documents


def _listed_urls(source, body):
    if source["kind"] == "urls":
        return [line for line in body.decode("utf-8").splitlines() if line.strip()]
    root = etree.fromstring(body)
    if source["kind"] == "sitemap":
        return root.xpath("//sm:url/sm:loc/text()", namespaces=NS)
    if root.tag == "rss":
        return root.xpath("//item/link/text()")
    return root.xpath("//atom:entry/atom:link[@rel='alternate']/@href", namespaces=NS)


def _listed_dates(source, body):
    if source["kind"] == "urls":
        return {}
    root = etree.fromstring(body)
    if source["kind"] == "sitemap":
        return {
            u.findtext("sm:loc", namespaces=NS): datetime.fromisoformat(
                u.findtext(".//news:publication_date", namespaces=NS)
            )
            for u in root.xpath("//sm:url", namespaces=NS)
        }
    if root.tag == "rss":
        return {
            i.findtext("link"): parsedate_to_datetime(i.findtext("pubDate"))
            for i in root.xpath("//item[pubDate]")
        }
    return {
        e.xpath("atom:link/@href", namespaces=NS)[0]: datetime.fromisoformat(
            e.findtext("atom:published", namespaces=NS)
        )
        for e in root.xpath("//atom:entry", namespaces=NS)
    }


CONTENT_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "google-news-sitemap": "application/xml",
    "text": "text/plain; charset=utf-8",
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_discovery_document_lists_exactly_the_expected_urls(name, sample_site):
    source = SOURCES[name]
    status, headers, body = request(sample_site, source["path"])
    assert status == 200 and headers["content-type"] == CONTENT_TYPES[source["format"]]
    assert b"{{BASE}}" not in body
    listed = _listed_urls(source, body)
    expected = [sample_site.base_url + e["path"] for e in EXPECTED if e["source"] == name]
    assert sorted(listed) == sorted(expected)
    zone = ZoneInfo(source["timezone"])
    by_url = {sample_site.base_url + e["path"]: e for e in EXPECTED}
    for url, stamp in _listed_dates(source, body).items():
        want = by_url[url]["published_local"]
        if want is not None:
            assert stamp.utcoffset() is not None
            assert stamp.astimezone(zone).replace(tzinfo=None).isoformat() == want, url


def test_tracking_duplicate_serves_the_canonical_page(sample_site):
    for e in (e for e in EXPECTED if e["reason"] == "duplicate"):
        plain = e["path"].split("?")[0]
        assert "utm_source=" in e["path"] and any(x["path"] == plain for x in LOADED)
        status, _, body = request(sample_site, e["path"])
        assert status == 200 and body == request(sample_site, plain)[2]
        canonical = lxml_html.fromstring(body).xpath("//link[@rel='canonical']/@href")
        assert canonical == [sample_site.base_url + plain]


# ---------------------------------------------------------------------------------------------------------
# Server behaviour


def test_listed_but_missing_page_is_404(sample_site):
    for e in (e for e in EXPECTED if e["outcome"] == "failed"):
        assert request(sample_site, e["path"])[0] == 404
    assert request(sample_site, "/no/such/page.html")[0] == 404
    assert request(sample_site, "/" + "x" * 5000)[0] == 404


def test_head_matches_get_without_a_body(sample_site):
    path = LOADED[0]["path"]
    _, got, body = request(sample_site, path)
    status, head, empty = request(sample_site, path, method="HEAD")
    assert status == 200 and empty == b""
    assert head["content-length"] == got["content-length"] == str(len(body))
    assert head["etag"] == got["etag"] and head["last-modified"] == got["last-modified"]


def test_validators_give_304(sample_site):
    path = SOURCES["novosti"]["path"]
    _, headers, _ = request(sample_site, path)
    status, again, body = request(sample_site, path, headers={"If-None-Match": headers["etag"]})
    assert (status, body, again["etag"]) == (304, b"", headers["etag"])
    assert request(sample_site, path, headers={"If-None-Match": '"stale"'})[0] == 200
    assert request(sample_site, path, headers={"If-None-Match": "W/" + headers["etag"]})[0] == 304
    assert request(sample_site, path, headers={"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert request(sample_site, path, headers={"If-Modified-Since": formatdate(0, usegmt=True)})[0] == 200


def test_base_placeholder_follows_the_host_header(sample_site):
    _, _, body = request(sample_site, "/xinwen/urls.txt", headers={"Host": "news.test:9000"})
    assert body.decode().splitlines()[0].startswith("http://news.test:9000/xinwen/")


@pytest.mark.parametrize(
    "path",
    [
        "/../server.py",
        "/%2e%2e/server.py",
        "/alhadath/../../expected.json",
        "/..%2fserver.py",
        "/alhadath/%2E%2E/%2E%2E/sources.json",
    ],
)
def test_traversal_is_refused(sample_site, path):
    status, _, body = request(sample_site, path)
    assert status in (400, 403, 404)
    assert b"SampleSite" not in body and b"timezone" not in body


def test_extensionless_article_and_robots(sample_site):
    slugs = [e["path"] for e in LOADED if not os.path.splitext(e["path"])[1]]
    assert slugs and request(sample_site, slugs[0])[0] == 200
    status, headers, body = request(sample_site, "/robots.txt")
    assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
    assert "Disallow: /private/" in body.decode() and f"Sitemap: {sample_site.base_url}/" in body.decode()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# started with SIGINT ignored, as every process under a background job of a non-interactive shell is (a CI runner):
# Python then installs no Ctrl-C handler of its own, so the server has to
@pytest.mark.parametrize("started_ignoring_sigint", [False, True])
def test_module_entry_point_serves_until_interrupted(started_ignoring_sigint):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PKG.parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsflow.sample_site.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_ignore_sigint if started_ignoring_sigint else None,
    )
    try:
        line = proc.stdout.readline()
        base = re.search(r"http://[\d.]+:(\d+)", line)
        assert base, line
        conn = http.client.HTTPConnection("127.0.0.1", int(base.group(1)), timeout=10)
        conn.request("GET", "/robots.txt")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
