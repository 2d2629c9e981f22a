"""extract_html on realistic multilingual pages: the sample site's articles and tests/fixtures/pages, checked for
title, date, language, credit and body; plus the body step's fallback and the record's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow import extract
from newsflow.credits import canonical
from newsflow.extract import extract_body, extract_html
from newsflow.sample_site.server import SITE_DIR

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "fixtures" / "pages"
FIXTURES = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
SAMPLE = SITE_DIR.parent
SOURCES = json.loads((SAMPLE / "sources.json").read_text(encoding="utf-8"))
LOADED = {
    e["path"]: e
    for e in json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    if e["outcome"] == "loaded" and "?" not in e["path"]
}
BASE = "http://127.0.0.1:8000"
FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)

RECORD_KEYS = {
    "url", "source", "source_domain", "sitename", "title", "author", "published_at", "published_date",
    "date_source", "date_disagreement", "date_reason", "date_candidates", "language", "language_source", "body",
    "body_chars", "link_density", "body_hash", "simhash", "credit", "categories", "tags", "extractor_version",
    "extractor_settings",
}


def _sample_html(path: str) -> str:
    file = SITE_DIR / path.lstrip("/")
    if not file.suffix:
        file = file.with_name(file.name + ".html")
    return file.read_text(encoding="utf-8").replace("{{BASE}}", BASE)


@pytest.mark.parametrize("path", sorted(LOADED))
def test_sample_site_article(path):
    e = LOADED[path]
    spec = SOURCES[e["source"]]
    record = extract_html(_sample_html(path), url=BASE + path, source=e["source"], fetched_at=FETCHED_AT,
                          language_hint=spec["language"], timezone=spec["timezone"])
    assert record["title"] == e["title"]
    assert str(record["published_date"]) == e["published_date"]
    assert record["language"] == e["language"]
    assert record["credit"] == (canonical(e["credit"]) if e["credit"] else None)
    assert e["body_contains"] in record["body"]
    for unwanted in e["body_excludes"]:
        assert unwanted not in record["body"]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_page(name):
    e = FIXTURES[name]
    record = extract_html((PAGES / name).read_text(encoding="utf-8"), url=e["url"], source="fixture",
                          fetched_at=FETCHED_AT, language_hint=e["language_hint"], timezone=e["timezone"])
    assert set(record) == RECORD_KEYS
    assert record["title"] == e["title"]
    assert str(record["published_date"]) == e["published_date"]
    assert record["language"] == e["language"]
    assert record["credit"] == e["credit"]
    assert e["body_contains"] in record["body"]
    for unwanted in e["body_excludes"]:
        assert unwanted not in record["body"]


def test_persian_joiners_survive_extraction():
    e = FIXTURES["fa_isna_library.html"]
    record = extract_html((PAGES / "fa_isna_library.html").read_text(encoding="utf-8"), url=e["url"],
                          source="fixture", fetched_at=FETCHED_AT)
    assert "موزه‌ی" in record["title"] and "\u200c" in record["body"]


def test_comments_and_teasers_stay_out_of_the_body():
    html = (
        "<html lang='en'><head><title>Harbour Road lanes approved | Herald</title></head><body><article>"
        "<h1>Harbour Road lanes approved</h1>"
        + "".join(f"<p>Paragraph {i} of the story about the cycle lanes approved by the council on Monday.</p>"
                  for i in range(8))
        + "</article><section id='comments' class='comments'><h3>Comments</h3>"
        "<div class='comment'><p>I think this is a terrible waste of money and nobody cycles here anyway.</p></div>"
        "</section><div class='read-more'><h3>Read more</h3><ul><li><a href='/x'>Council budget vote: live "
        "updates from the town hall</a></li></ul></div></body></html>"
    )
    record = extract_html(html, url="https://herald.example/news/lanes", source="t", fetched_at=FETCHED_AT)
    assert "Paragraph 7" in record["body"]
    assert "terrible waste" not in record["body"] and "live updates" not in record["body"]


def test_fallback_keeps_the_longer_text(monkeypatch):
    html = "<html><body><div><p>" + "Short story text here. " * 4 + "</p></div></body></html>"
    assert extract_body(html, url="https://x.example/a", fallback_chars=0)
    longer = extract_body(html, url="https://x.example/a", fallback_chars=10_000)
    assert len(longer) >= len(extract_body(html, url="https://x.example/a", fallback_chars=0))


def test_unparsable_page_gives_an_empty_record():
    record = extract_html("", url="https://x.example/a", source="t", fetched_at=FETCHED_AT)
    assert set(record) == RECORD_KEYS
    assert record["body"] == "" and record["title"] is None and record["credit"] is None


def test_settings_are_recorded():
    settings = json.loads(extract.extractor_settings())
    assert settings["include_comments"] is False and settings["metadata_dates"] is False


CATEGORY_PAGE = """<html><head><title>Budget vote</title>
<meta property="article:section" content="Politics"></head><body>
<div class="post-info">Filed under <a href="/category/politics/">Politics</a>, <a href="/category/economy/">Economy</a>
Tags: <a href="/tags/budget/">budget</a> <a href="/tag/parliament/">parliament</a></div>
<article><h1>Budget vote</h1><p>The parliament passed the budget on Monday after a long debate.</p></article>
</body></html>"""

META_ONLY_PAGE = """<html><head><title>Storm</title><meta name="subject" content="Weather">
<meta property="article:section" content="Local news"></head><body><article><h1>Storm</h1>
<p>A storm hit the coast overnight. <a href="/2024/03/04/more.html">More</a></p></article></body></html>"""


def _every_test_page() -> list[str]:
    pages = [CATEGORY_PAGE, META_ONLY_PAGE]
    pages += [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parents[1] / "fixtures" / "pages").glob("*.html"))]
    pages += [p.read_text(encoding="utf-8") for p in sorted(SITE_DIR.rglob("*.html"))[:20]]
    return pages


@pytest.mark.parametrize("kind", ["category", "tag"])
def test_category_and_tag_shortcut_gives_trafilaturas_answer(kind):
    # newsflow skips trafilatura's link search when no href can match; the answer must not change
    from trafilatura import metadata as tm

    answers = []
    for html in _every_test_page():
        tree = extract._parse(html)
        answers.append(extract._catstags(kind, tree, html))
        assert answers[-1] == tm.extract_catstags(kind, extract._parse(html))
    assert any(answers), "the pages exercise nothing"
    if kind == "category":
        # links when the page has them, the section and subject meta tags when it has none
        assert answers[:2] == [["Politics", "Economy"], ["Weather", "Local news"]]


# bylines in every form trafilatura's author XPaths accept, and markup that must not stop the search
BYLINE_VARIANTS = [
    '<div CLASS=byline>By Dana Whitfield</div>',
    '<span class="Author-Name">Dana Whitfield</span>',
    "<p class='c-screenname'>Dana Whitfield</p>",
    '<author>Dana Whitfield</author>',
    '<div data-component="Byline">Dana Whitfield</div>',
    '<span itemprop="author name">Dana Whitfield</span>',
    '<a rel = "author" href="/staff/dana">Dana Whitfield</a>',
    '<span id="zuozhe">王小明</span>',
    '<div class="post-&#97;uthor">Dana Whitfield</div>',
    '<div data-testid="AuthorCard">Dana Whitfield</div>',
]


def _page_with(byline: str) -> str:
    return (f"<html><head><title>Budget vote</title></head><body><article><h1>Budget vote</h1>{byline}"
            "<p>The parliament passed the budget on Monday after a long debate.</p></article></body></html>")


def test_author_from_the_page_matches_trafilaturas_search():
    from trafilatura import metadata as tm

    found = skipped = 0
    pages = _every_test_page() + [_page_with(b) for b in BYLINE_VARIANTS]
    for html in pages:
        ours = extract._author_from_page(extract._parse(html), html)
        assert ours == tm.extract_author(extract._parse(html)), html[:300]
        found += ours is not None
        skipped += extract._AUTHOR_MARKUP.search(html) is None
    assert found >= len(BYLINE_VARIANTS), "no page has a byline to find"
    assert skipped, "no page lets the search be skipped"


@pytest.mark.parametrize("byline", BYLINE_VARIANTS)
def test_author_markup_filter_lets_every_byline_form_through(byline):
    html = _page_with(byline)
    assert extract._AUTHOR_MARKUP.search(html)
    assert extract._author_from_page(extract._parse(html), html)


def test_extractor_version_names_the_installed_trafilatura():
    import trafilatura

    from newsflow import __version__

    assert extract.extractor_version() == f"newsflow-{__version__}+trafilatura-{trafilatura.__version__}"
