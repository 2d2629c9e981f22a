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


# pages where trafilatura's author pruning decides the answer: bylines inside discarded blocks, <time>/<figure>
# inside a byline (their tail text stays), nested discards, every XPath's own tests, and the root's attributes
AUTHOR_PRUNING_PAGES = [
    '<div class="comments"><span class="author">Commenter Name</span></div><p class="byline">By Dana Whitfield</p>',
    '<aside><div class="sidebar-widget"><span class="author-name">Other Writer</span></div></aside>'
    '<div class="writer">Dana<time>2024</time>Whitfield</div>',
    '<span class="byline">By<figure><figcaption>Photo: X</figcaption></figure> Dana <time>May</time>Whitfield</span>',
    '<figure><div class="quote"><span class="author">Quoted Person</span></div></figure><p rel="author">Dana Whitfield</p>',
    '<div id="comments-list"><a rel="author">Reader One</a></div><div data-component="Byline">Dana Whitfield</div>',
    '<div class="title"><span class="authorName">In A Title</span></div><h4 class="author">Dana Whitfield</h4>',
    '<span class="date"><a class="author">x</a></span><span itemprop="author">ab</span><p class="BBL">Dana Whitfield</p>',
    '<div data-component="Figure-Wrap"><span class="byl">Figure Author</span></div><div class="meta-date">'
    '<span id="Author">Dated Author</span></div><strong data-testid="AuthorURL">Dana Whitfield</strong>',
    '<section class="print-only"><span class="author">Print Name</span></section>'
    '<address class="xauthor-name">Dana Whitfield</address>',
    '<div class="is-hidden">hidden</div><a class="posted-by">' + "Dana Whitfield " * 12 + "</a><span class='author'>"
    "D. W.</span>",
    '<div class="ProductReviews"><span id="author">x</span></div><link rel="author" href="/x"><p>text</p>',
]


def _author_page(body: str, root_attrs: str = "") -> str:
    return (f"<html{root_attrs}><head><title>Budget vote</title></head><body><article><h1>Budget vote</h1>{body}"
            "<p>The parliament passed the budget on Monday after a long debate.</p></article></body></html>")


@pytest.mark.parametrize("body", AUTHOR_PRUNING_PAGES)
def test_author_search_prunes_like_trafilatura(body):
    from lxml.html import tostring
    from trafilatura import metadata as tm

    for html in (_author_page(body), _author_page(body, ' class="author"')):
        ours_tree, their_tree = extract._parse(html), extract._parse(html)
        ours = extract._author_search(ours_tree)
        theirs = tm.extract_metainfo(tm.prune_unwanted_nodes(their_tree, tm.AUTHOR_DISCARD_XPATHS),
                                     tm.AUTHOR_XPATHS, len_limit=120)
        assert ours is not extract._SLOW_PATH
        assert ours[0] == theirs
        if theirs is not None:  # the tree was pruned as trafilatura prunes it
            assert tostring(ours_tree) == tostring(their_tree)
        # each XPath's elements, from the pruned tree, in document order
        scan = extract._author_candidates(extract._parse(html))
        gone, found = extract._author_prune(*scan)
        pruned = tm.prune_unwanted_nodes(extract._parse(html), tm.AUTHOR_DISCARD_XPATHS)
        for elements, xpath in zip(found, tm.AUTHOR_XPATHS, strict=True):
            kept = [el for el in elements if el not in gone and gone.isdisjoint(el.iterancestors())]
            assert [tostring(el) for el in kept] == [tostring(el) for el in xpath(pruned)] or not any(found)


def test_author_search_hands_back_what_it_cannot_stand_in_for(monkeypatch):
    from trafilatura import metadata as tm

    # an element named rel (the first XPath reads a rel child's text), and a fragment of a document
    rel_page = _author_page('<p>By <rel>me</rel></p><span class="writer">Dana Whitfield</span>')
    assert extract._author_search(extract._parse(rel_page)) is extract._SLOW_PATH
    fragment = extract._parse("<div class='html-fragment'><span class='author'>Dana Whitfield</span></div>")
    assert fragment.getroottree().getroot() is not fragment
    assert extract._author_search(fragment) is extract._SLOW_PATH
    for html in (rel_page, _page_with(BYLINE_VARIANTS[0]), "<div class='html-fragment'><p class='byline'>By A B</p></div>"):
        assert extract._author_from_page(extract._parse(html), html) == tm.extract_author(extract._parse(html))
    # a trafilatura whose XPaths or functions differ from the ones the pass was written against
    assert extract._author_xpaths_known()
    monkeypatch.setattr(extract, "_author_xpaths_known", lambda: False)
    assert extract._author_search(extract._parse(_page_with(BYLINE_VARIANTS[0]))) is extract._SLOW_PATH


def test_author_markup_test_near_the_element_is_the_whole_page_test():
    from lxml.html import fromstring

    def page(byline: str, filler: str = "<p>filler line</p>\n") -> str:
        return "<html>\n<body>\n" + filler * 50 + byline + "\n" + "<p>z</p>\n" * 5 + "</body></html>"

    for html in (page('<div class="byline">By X Y</div>'), page("<div class='byline'>By X Y</div>"),
                 page('<div class=byline>By X Y</div>'), page("<author>X Y</author>", "<p>one</p>"),
                 page('<span class="x">By X Y</span>', '<i id="author"></i>\n'), page('<p class="">X</p>')):
        truth = extract._AUTHOR_MARKUP.search(html) is not None
        tree = fromstring(html)
        for element in tree.iter():
            assert extract._has_author_markup(html, element) is truth, (html[:80], element.tag)
    assert not extract._AUTHOR_MARKUP.search(page('<p class="">X</p>'))
    # the element's value first occurs in tags without a match; a match only past a stretch's end, or cut by it
    html = '<p title="byline">a</p>\n' * 3 + "x" * 5000 + '<div class="byline">By X Y</div>'
    element = fromstring(html).find(".//div")
    assert list(extract._tag_positions(html, element))[:3] == [0, 0, 0]
    assert extract._has_author_markup(html, element)
    cut = '<b title="q">x</b>' + " " * (extract._TAG_STRETCH - 230) + "<author"
    for tail in ("x>A B</authorx>", ">A B</author>"):
        html = cut + tail
        element = fromstring(html).find(".//b")
        assert extract._has_author_markup(html, element) is (extract._AUTHOR_MARKUP.search(html) is not None)


def test_author_is_none_when_the_markup_test_fails():
    # the tree has a byline (the protected text trafilatura parsed dropped a control character), the markup does not
    html = _author_page('<span class="aut\x01hor">Dana Whitfield</span>')
    assert extract._AUTHOR_MARKUP.search(html) is None
    assert extract._author_search(extract._parse(html))[0] == "Dana Whitfield"
    assert extract._author_from_page(extract._parse(html), html) is None


CATSTAG_BLOCKS = [
    ("div", "post-info"), ("div", "postmeta x"), ("div", "entry-utility"), ("div", "metadata"), ("div", "row"),
    ("div", "tags"), ("div", "Row"), ("p", "postmeta"), ("p", "entry-categories"), ("p", "postinfo"),
    ("p", "entry-tags more"), ("footer", "entry-meta"), ("footer", "entry-footer"), ("li", "post-category"),
    ("span", "x cat-links"), ("span", "entry-category"), ("header", "entry-header"), ("section", "topics"),
    ("div", "jp-relatedposts"), ("div", "tag-list"), ("section", "tags-links"), ("ul", "entry-meta"), ("div", ""),
]


@pytest.mark.parametrize("kind", ["category", "tag"])
def test_catstags_from_links_is_trafilaturas_search(kind):
    from trafilatura import metadata as tm

    assert extract._catstags_known()
    hrefs = ["/category/a/", "/categories/b", "/tag/c/", "/tags/d/", "/tagged/e/", "https://x.example/category/f/"]
    pattern = "/" + kind.rstrip("y") + "(?:y|ies|s)?/"
    checked = found = 0
    for i in range(len(CATSTAG_BLOCKS)):
        # the first i blocks in turn, with links of every kind inside, and one page with ids instead of classes
        blocks = "".join(f'<{tag} class="{cls}"><span><a href="{hrefs[(j + i) % len(hrefs)]}">L {j}</a></span></{tag}>'
                         for j, (tag, cls) in enumerate(CATSTAG_BLOCKS[i:]))
        extra = '<div id="postpath-1"><a href="/category/g/">G</a></div><p id="filedunder"><a href="/tag/h/">H</a></p>'
        for html in (_every_test_page()[0].replace("<article>", blocks + "<article>"),
                     f"<html><head></head><body>{extra if i % 2 else ''}{blocks}</body></html>"):
            ours = extract._catstags_from_links(kind, extract._parse(html), pattern)
            assert ours == tm.extract_catstags(kind, extract._parse(html))
            checked += 1
            found += bool(ours)
    assert found >= checked // 2


def test_page_facts_read_the_first_heading_title_and_site_name():
    html = ('<html lang="de"><head><title> Erster  Titel </title><title>Zweiter</title>'
            '<meta property="og:site_name"><meta property="og:site_name" content=" Die Seite ">'
            '<meta property="og:site_name" content="Andere"></head><body><h1>Erste Schlagzeile</h1><h1>Zweite</h1>'
            '<a href="/a">ein langer Linktext</a><a href="/b">kurz</a></body></html>')
    facts = extract._page_facts(extract._parse(html))
    assert facts["lang"] == "de" and facts["h1"] == "Erste Schlagzeile" and facts["title"] == "Erster Titel"
    assert facts["og_site_name"] == "Die Seite"
    assert facts["anchors"] == frozenset({"ein langer Linktext"})
    empty = extract._page_facts(extract._parse('<html><head><meta property="og:site_name" content=""></head>'
                                               "<body><p>x</p></body></html>"))
    assert empty["og_site_name"] == "" and empty["h1"] is None and empty["title"] is None


def test_simhash_digests_are_blake2b_of_each_shingle():
    import hashlib
    import random

    import numpy as np

    from newsflow import dedup

    def reference(body: str) -> int:  # the plain form of the fingerprint
        shingles = dedup._shingles(body)
        if not shingles:
            return 0
        digests = b"".join(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest() for s in shingles)
        bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1, bitorder="little")
        votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(shingles)
        return int(sum(1 << i for i in np.nonzero(votes > 0)[0].tolist()))

    rnd = random.Random(8)
    words = ["the", "council", "voted", "Straße", "число", "新华社", "مجهز", "x" * 14, "", "ǅ", "İstanbul", "😀", "12"]
    bodies = ["", "one", "two words", *(" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 80))) for _ in range(200))]
    for body in bodies:
        shingles = dedup._shingles(body)
        words = dedup._WORD.findall(body.casefold())
        if len(words) >= 3 and sum(map(len, words)) / len(words) <= 12:
            assert shingles == [f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)]
        assert dedup._digests(shingles) == [hashlib.blake2b(s.encode(), digest_size=8).digest() for s in shingles]
        assert dedup.simhash(body) == reference(body)
    assert len({dedup.simhash(b) for b in bodies}) > 100


# JSON-LD in the forms trafilatura's reader handles: an article with nested objects, a @graph, broken JSON (its regex
# fallback), settings+json, escapes, surrogate pairs, markup in strings, blanks inside and outside strings, scripts of
# other types, an unterminated string and a backslash before a line break
JSON_LD_SCRIPTS = [
    """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
      "headline" : "Budget   vote \\u00e9t\\u00e9 \\ud83d\\ude00 <b>passed</b>", "articleSection": ["Politics"],
      "author": {"@type": "Person", "name": "Dana Whitfield"}, "publisher": {"@type": "Organization",
      "name": "The Daily Herald"}, "url": "https:\\/\\/example.org\\/a"}</script>""",
    """<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage","name":"W"},
      {"@type":"Article","headline":"Storm hits coast","author":[{"name":"A B"},{"name":"C D"}]}]}</script>""",
    """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Article",
      "headline": "He said "no" to it", "author": {"name": "Dana Whitfield"}, "articleSection": "Local"}</script>""",
    """<script type="application/settings+json">{"@context": "http://schema.org", "@type": "WebSite",
      "name": "Settings\tSite"}</script>""",
    """<script type="text/javascript">{"@context": "https://schema.org", "headline": "Not read"}</script>
      <script type="application/ld+json "> {"headline": "type with a blank"}</script><script type="application/ld+json"></script>""",
    """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Article", "headline": "Open
      string \\
      "author": "x</script>""",
]


def _json_ld_pages() -> list[str]:
    pages = [f"<html><head><title>T</title>{script}</head><body><p>Text.</p>{script}</body></html>"
             for script in JSON_LD_SCRIPTS]
    return pages + ["<html><head>" + "".join(JSON_LD_SCRIPTS) + "</head><body><p>All.</p></body></html>"]


def _document_fields(doc) -> dict:
    return {name: getattr(doc, name, None) for name in doc.__slots__ if name not in ("body", "commentsbody")}


def test_json_minify_keeps_what_trafilaturas_substitution_keeps():
    import random

    from trafilatura import metadata as tm

    texts = [script.split(">", 1)[1].rsplit("<", 1)[0] for script in JSON_LD_SCRIPTS]
    rnd = random.Random(3)
    pieces = ['"', "\\", " ", "\n", "\t", "\r", "\u00a0", "\u2028", "\u3000", "\x1c", "a", "{", "}", ":", ",", "é", '\\"']
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30))) for _ in range(50000)]
    for text in texts:
        assert extract._json_minify(text) == tm.JSON_MINIFY.sub(r"\1", text), repr(text)


def test_normalize_json_is_trafilaturas():
    import random

    from trafilatura import metadata as tm

    rnd = random.Random(5)
    pieces = ["\\", "n", "r", "t", "u", "00e9", "d83d", "\\ude00", "&amp;", "&#x27;", "<b>", "</b>", " ", "\n", "x",
              '"', "\ud800", "\\u12"]
    for _ in range(50000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 25)))
        assert extract._normalize_json(text) == tm.normalize_json(text), repr(text)


def test_json_ld_reader_gives_trafilaturas_metadata(monkeypatch):
    from trafilatura import metadata as tm
    from trafilatura.settings import Document

    assert extract._meta_json_known()
    read = 0
    for html in _every_test_page() + _json_ld_pages():
        tree = extract._parse(html)
        ours = extract._meta_json(tree, Document(), extract._page_facts(tree)["elements"]["script"])
        assert _document_fields(ours) == _document_fields(tm.extract_meta_json(extract._parse(html), Document()))
        read += bool(ours.title or ours.author)
    assert read >= len(JSON_LD_SCRIPTS) - 1
    # a trafilatura whose reader differs from the one _meta_json was written against reads the page itself
    monkeypatch.setattr(extract, "_meta_json_known", lambda: False)
    monkeypatch.setattr(tm, "extract_meta_json", lambda tree, doc: "trafilatura's")
    tree = extract._parse(_json_ld_pages()[0])
    assert extract._meta_json(tree, Document(), extract._page_facts(tree)["elements"]["script"]) == "trafilatura's"


def _element_pages() -> list[str]:
    return _every_test_page() + _json_ld_pages() + [
        '<html><head><meta name="subject" content="A"><meta name="x-subjects" content="B"><meta name="subject">'
        '<meta property="article:section" content=""><noscript><meta property="article:section" content="C">'
        '</noscript></head><body><meta property="article:section" content="D"><a>x</a><a href="/tag/y/">'
        "<b>tag</b> y</a><script>var a = 1;</script></body></html>",
    ]


def test_page_elements_are_what_the_metadata_searches_find():
    from lxml.etree import XPath

    for html in _element_pages():
        tree = extract._parse(html)
        elements = extract._page_facts(tree)["elements"]
        assert elements["a"] == list(tree.iter("a"))
        assert elements["href"] == [a.get("href") or "" for a in tree.iter("a")]
        assert elements["meta"] == XPath(".//meta")(tree) and elements["script"] == XPath(".//script")(tree)
        assert extract._section_metas(tree, elements["meta"]) == tree.xpath(extract._SECTION_METAS)
    fragment = extract._parse("<div class='html-fragment'><a href='/tag/x/'>x</a></div>")
    assert fragment.getroottree().getroot() is not fragment
    assert extract._page_facts(fragment)["elements"] is None


# links whose decoded href matches while the markup does not (an entity), markup that matches in no link, and a link
# whose text is elsewhere in the markup too
CATSTAGS_EDGE_PAGES = [
    '<html><body><div class="tags"><a href="&#47;tags&#47;budget&#47;">budget</a></div>'
    '<div class="post-info"><a href="/categor&#105;es/x/">x</a></div><p>text</p></body></html>',
    '<html><head><meta property="article:section" content="Sport"></head><body><script>var u = "/tags/a/";'
    '</script><p>/category/ in a sentence</p><a href="/other/">other</a></body></html>',
    '<html><body><p>see /tags/</p><div class="tags"><a href="https://x.example/tags/a/">a</a></div></body></html>',
]


@pytest.mark.parametrize("kind", ["category", "tag"])
def test_catstags_from_the_page_elements_is_the_markup_gated_answer(kind):
    from trafilatura import metadata as tm

    for html in _element_pages() + CATSTAGS_EDGE_PAGES:
        tree = extract._parse(html)
        elements = extract._page_facts(tree)["elements"]
        assert extract._catstags(kind, tree, html, elements) == extract._catstags(kind, extract._parse(html), html)
        for markup in (html, None):
            ours = extract._metadata(extract._parse(html), "https://x.example/a", markup, elements)
            theirs = extract._metadata(extract._parse(html), "https://x.example/a", markup)
            assert _document_fields(ours) == _document_fields(theirs)
    # the entity page: the markup test keeps the answer empty, as before the links were looked at first
    tree = extract._parse(CATSTAGS_EDGE_PAGES[0])
    assert extract._catstags(kind, tree, CATSTAGS_EDGE_PAGES[0], extract._page_facts(tree)["elements"]) == []
    assert tm.extract_catstags(kind, extract._parse(CATSTAGS_EDGE_PAGES[0]))


def test_text_content_shortcut_is_text_content():
    from lxml import etree

    checked = 0
    for html in _element_pages() + ["<html><body><a>x<!-- c -->y</a><a><![CDATA[z]]></a><a></a><p>a<?pi x?>b</p>"
                                    "</body></html>"]:
        for tree in (extract._parse(html), __import__("lxml.html").html.fromstring(html)):
            for el in tree.iter(etree.Element):
                assert extract._text_content(el) == el.text_content()
                checked += not len(el)
    assert checked > 100
