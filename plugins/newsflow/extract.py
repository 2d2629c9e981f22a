"""Article extraction: trafilatura on the archived bytes, then newsflow's own date, title, source, credit,
language and fingerprint fields. Runs in worker processes; each worker reads its pages straight from the WARC.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache

from newsflow import __version__
from newsflow.archive import header, read_response
from newsflow.credits import find_credit
from newsflow.dedup import body_hash, simhash
from newsflow.encoding import decode_html
from newsflow.language import choose_language
from newsflow.titles import clean_title
from newsflow.urls import registered_domain

log = logging.getLogger(__name__)

# trafilatura options: kept in one place so every row can record what produced it.
# Precision first: it drops teasers, "read more" boxes and link lists that balanced mode lets through (body F1 on
# the article-extraction-benchmark 0.959 -> 0.965, see docs/benchmarks.md). Precision mode also switches off
# trafilatura's own rescue steps for short results, so newsflow adds one back: FALLBACK_MIN_CHARS below.
# Fast: the main pass skips trafilatura's readability/jusText comparison (a third of the page's extraction time,
# F1 0.968 -> 0.970 on the benchmark); the pages where it matters come out short, and the rescue pass for those
# runs trafilatura in full.
TRAFILATURA_OPTIONS = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
    "favor_precision": True,
    "favor_recall": False,
    "deduplicate": False,
}


@lru_cache(maxsize=1)
def extractor_version() -> str:
    from importlib.metadata import version

    # from package metadata: a run with nothing to extract records the version without importing trafilatura (~0.3 s)
    return f"newsflow-{__version__}+trafilatura-{version('trafilatura')}"


@lru_cache(maxsize=1)
def extractor_settings() -> str:
    return json.dumps({**TRAFILATURA_OPTIONS, "fallback_min_chars": FALLBACK_MIN_CHARS, "metadata_dates": False},
                      sort_keys=True)


@lru_cache(maxsize=1)
def _trafilatura_config():
    from trafilatura.settings import use_config

    config = use_config()
    # no per-call timeouts via signals inside worker processes; newsflow bounds page size instead
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


# trafilatura drops every non-printable character, including the zero-width non-joiner and joiner that Persian,
# Kurdish and Indic spelling depend on ("می‌شود" is not "میشود"). They ride through as rare printable stand-ins.
_JOINERS = {"\u200c": ("\u2e3b", "\u2e3a", "\U00016fe0"), "\u200d": ("\u2e39", "\u2e38", "\U00016fe1")}


def _protect_joiners(html: str) -> tuple[str, dict[str, str]]:
    restore: dict[str, str] = {}
    for joiner, stand_ins in _JOINERS.items():
        if joiner not in html:
            continue
        stand_in = next((c for c in stand_ins if c not in html), None)
        if stand_in is None:
            continue
        html = html.replace(joiner, stand_in)
        restore[stand_in] = joiner
    return html, restore


def _restore(text, restore: dict[str, str]):
    if not text or not restore or not isinstance(text, str):
        return text
    for stand_in, joiner in restore.items():
        text = text.replace(stand_in, joiner)
    return text


def _parse(html: str):
    """The page parsed once, the way trafilatura parses it; every later step reads this tree."""
    from trafilatura.utils import load_html

    try:
        return load_html(html)
    except Exception:  # noqa: BLE001 - an unparsable page simply has no tree
        return None


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None


def _page_facts(tree, restore: dict[str, str] | None = None) -> dict:
    """What trafilatura does not report: the page's lang attribute, first h1, og:site_name, <title>, link texts,
    and the short lines around the headline (dateline, "Source: …", byline) where a wire credit often sits. Also
    "elements": the page's links (and their hrefs), meta and script elements for the metadata readers (_metadata),
    from the same walk; None when the tree is a fragment of its document."""
    facts = {"lang": None, "h1": None, "og_site_name": None, "title": None, "anchors": frozenset(), "lead": None,
             "elements": None}
    if tree is None:
        return facts
    restore = restore or {}
    root = tree.getroottree().getroot()
    facts["lang"] = root.get("lang") or root.get("xml:lang")
    # one walk of the tree for the first h1, the first title, og:site_name, the links, metas and scripts, where
    # root.find(".//h1"), root.find(".//title"), XPaths and root.iter("a") took one each (~0.1 ms on a news page)
    h1 = title = site = None
    links, hrefs, metas, scripts = [], [], [], []
    for el in root.iter("a", "h1", "title", "meta", "script"):
        tag = el.tag
        if tag == "a":
            links.append(el)
            hrefs.append(el.get("href") or "")
        elif el is root:
            continue  # .//h1, .//title, .//meta and .//script are below the root
        elif tag == "meta":
            metas.append(el)
            if site is None and el.get("property") == "og:site_name":
                site = el.get("content")
        elif tag == "script":
            scripts.append(el)
        elif tag == "h1":
            h1 = el if h1 is None else h1
        elif tag == "title":
            title = el if title is None else title
    if h1 is not None:
        facts["h1"] = _restore(_clean(h1.text_content()), restore)
        facts["lead"] = _restore(_headline_area(h1), restore)
    facts["og_site_name"] = _restore(site.strip(), restore) if site is not None else None
    if title is not None:
        facts["title"] = _restore(_clean(title.text_content()), restore)
    facts["anchors"] = frozenset(
        _restore(text, restore) for text in (" ".join(_text_content(a).split()) for a in links) if len(text) >= 8
    )
    if tree is root:
        # trafilatura's metadata XPaths search below the tree they are given: all of the page only from its root
        facts["elements"] = {"a": links, "href": hrefs, "meta": metas, "script": scripts}
    return facts


def _text_content(el) -> str:
    """el.text_content(), which runs an XPath (~1 µs) even for the plain text of a link. len() counts every child
    node but text, so an element where it is 0 holds its own text and nothing else."""
    return el.text_content() if len(el) else el.text or ""


_LEAD_SIBLINGS = 3  # elements on either side of the headline that can hold its dateline and source slot
_LEAD_LINE_MAX = 200  # longer texts are story paragraphs or teasers, not a source slot


def _headline_area(h1) -> str | None:
    """Short texts just before and after the headline (its siblings, and its parent's when the headline sits alone
    in a header block): one line per element, so a credit slot is a line of its own."""
    lines: list[str] = []
    node = h1
    for _level in range(2):
        parent = node.getparent()
        if parent is None:
            break
        siblings = [el for el in parent if isinstance(el.tag, str)]
        at = siblings.index(node)
        for el in siblings[max(0, at - _LEAD_SIBLINGS): at] + siblings[at + 1: at + 1 + _LEAD_SIBLINGS]:
            if el.tag in ("script", "style", "nav", "ul", "ol", "form", "aside", "h1"):
                continue
            for part in _slot_lines(el):
                if part not in lines:
                    lines.append(part)
        if len(siblings) > 2:
            break
        node = parent
    return "\n".join(lines) or None


def _slot_lines(el) -> list[str]:
    text = _clean(el.text_content())
    if not text or len(text) > _LEAD_LINE_MAX:
        return []
    # a meta bar of several spans ("date | source"): each child is its own slot
    children = [c for c in el if isinstance(c.tag, str)]
    if len(children) > 1:
        parts = [_clean(c.text_content()) for c in children]
        return [text] + [p for p in parts if p and p != text]
    return [text]


def link_density(body: str, anchors: frozenset[str]) -> float:
    """Share of the body's characters in lines that are just link texts: near 1.0 on section and index pages."""
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if line]
    total = sum(len(line) for line in lines)
    if not total:
        return 0.0
    linked = sum(len(line) for line in lines if line in anchors or line.lstrip("-•* ") in anchors)
    return round(linked / total, 3)


def _catstags(kind: str, tree, html: str | None, elements: dict | None = None) -> list[str]:
    """trafilatura's extract_catstags, skipping its link search (several whole-tree XPaths, ~1.5 ms a page) when no
    link on the page can match: it only keeps links whose href has /category/, /tags/ and the like. `elements`:
    _page_facts' lists of the page's links and metas, which spare the walks of the tree."""
    from trafilatura import metadata as tm

    pattern = "/" + kind.rstrip("y") + "(?:y|ies|s)?/"
    if elements is not None and _catstags_known():
        # the links first, the page's markup after: without a matching link the answer is the same either way (the
        # section metas or nothing), and a search of the whole markup costs more than a look at the links' hrefs.
        # The markup has the pattern if it has the very text a link's href matched, a cheaper search.
        links, matched = _pattern_links(elements["a"], elements["href"], pattern)
        if links and (html is None or matched in html or re.search(pattern, html)):
            return _catstags_from_links(kind, tree, pattern, links, elements["meta"])
    elif html is None or re.search(pattern, html):
        if not _catstags_known():
            return tm.extract_catstags(kind, tree)
        return _catstags_from_links(kind, tree, pattern)
    if kind != "category":
        return []
    found = _section_metas(tree, elements["meta"] if elements is not None else None)
    return [r for r in dict.fromkeys(tm.line_processing(el.attrib["content"]) for el in found if el.attrib["content"])
            if r]


_SECTION_METAS = './/head//meta[@property="article:section" or contains(@name, "subject")][@content]'


def _section_metas(tree, metas: list | None = None) -> list:
    """tree.xpath(_SECTION_METAS), the metas extract_catstags falls back on for a category; from `metas`, the meta
    elements below the tree in document order, when given."""
    if metas is None:
        return tree.xpath(_SECTION_METAS)
    return [el for el in metas
            if (el.get("property") == "article:section" or "subject" in (el.get("name") or ""))
            and el.get("content") is not None and any(a.tag == "head" and a is not tree for a in el.iterancestors())]


def _pattern_links(links, hrefs, pattern: str) -> tuple[list, str | None]:
    """The links whose href (hrefs: each link's, "" for none) the pattern matches, in document order, and the first
    href's match. Every such href contains the pattern's literal start ("/categor", "/tag"), a cheaper test to run
    first."""
    prefix = pattern[: pattern.index("(")]
    found, first = [], None
    for a, href in zip(links, hrefs, strict=True):
        if prefix in href and (match := re.search(pattern, href)):
            found.append(a)
            first = first or match[0]
    return found, first


# extract_catstags tries XPaths of the form //X[P]//a[@href] in turn (up to six whole-tree searches, ~0.5 ms a page,
# more on deeply nested layouts) and keeps the links whose href matches its pattern. _catstags_from_links finds those
# few links first and gives each XPath the ones it selects: the links with an ancestor X for which P holds, P tested
# on the same attributes (an absent attribute is "" to XPath's string functions; re:test is re.search). Written
# against these exact XPaths and extract_catstags; a trafilatura where they differ gets its own function.
_CATSTAGS_SHA256 = "98fc0827c751ee2787ac5e3247d787296f735e8beb97b96d1f5c254bc91157e5"
_CATEGORY_META = re.compile("^(?:post-?info|post-?meta|meta|entry-meta|entry-info|entry-utility)")
_TAG_META = re.compile("^(?:tag|postmeta|meta)")
# (CATEGORIES_XPATHS, TAGS_XPATHS): each XPath's X[P] as a test of (tag, class, id)
_CATSTAGS_BLOCKS = {
    "category": (
        lambda tag, cls, ident: tag == "div" and (_CATEGORY_META.search(cls) is not None or ident.startswith("postpath")),
        lambda tag, cls, ident: tag == "p" and (cls.startswith(("postmeta", "entry-categories")) or cls == "postinfo"
                                                or ident == "filedunder"),
        lambda tag, cls, ident: tag == "footer" and cls.startswith(("entry-meta", "entry-footer")),
        lambda tag, cls, ident: tag in ("li", "span") and (cls in ("post-category", "postcategory", "entry-category")
                                                           or "cat-links" in cls),
        lambda tag, cls, ident: tag == "header" and cls == "entry-header",
        lambda tag, cls, ident: tag == "div" and cls in ("row", "tags"),
    ),
    "tag": (
        lambda tag, cls, ident: tag == "div" and cls == "tags",
        lambda tag, cls, ident: tag == "p" and cls.startswith("entry-tags"),
        lambda tag, cls, ident: tag == "div" and (cls in ("row", "jp-relatedposts", "entry-utility")
                                                  or _TAG_META.search(cls) is not None),
        lambda tag, cls, ident: cls == "entry-meta" or "topics" in cls or "tags-links" in cls,
    ),
}


@lru_cache(maxsize=4096)
def _catstags_block_hits(kind: str, tag: str, cls: str, ident: str) -> tuple[bool, ...]:
    return tuple(block(tag, cls, ident) for block in _CATSTAGS_BLOCKS[kind])


@lru_cache(maxsize=1)
def _catstags_known() -> bool:
    from trafilatura import metadata as tm

    return _source_digest((*tm.CATEGORIES_XPATHS, *tm.TAGS_XPATHS), (tm.extract_catstags,)) == _CATSTAGS_SHA256


def _catstags_from_links(kind: str, tree, pattern: str, links: list | None = None,
                         metas: list | None = None) -> list[str]:
    """tm.extract_catstags(kind, tree) for kind "category" or "tag". `links`: the page's links whose href matches the
    pattern, when known (_pattern_links); `metas`: the meta elements below the tree (_section_metas)."""
    from trafilatura import metadata as tm

    if links is None:
        # //a[@href] whose href the pattern matches, in document order
        every = list(tree.getroottree().getroot().iter("a"))
        links, _ = _pattern_links(every, [a.get("href") or "" for a in every], pattern)
    kind = "category" if kind == "category" else "tag"
    # links share most of their ancestors: each distinct (tag, class, id) is tested once
    ancestors = [[_catstags_block_hits(kind, el.tag, el.get("class") or "", el.get("id") or "")
                  for el in a.iterancestors()] for a in links]
    results: list[str] = []
    for i in range(len(_CATSTAGS_BLOCKS[kind])):
        results.extend(tm.block_text(a) for a, up in zip(links, ancestors, strict=True) if any(hits[i] for hits in up))
        if results:
            break
    if kind == "category" and not results:
        results.extend(element.attrib["content"] for element in _section_metas(tree, metas))
    return [r for r in dict.fromkeys(tm.line_processing(x) for x in results if x) if r]


def _metadata(tree, url: str | None, html: str | None = None, elements: dict | None = None):
    """trafilatura's metadata (title, author, sitename, categories, tags) without its htmldate run: newsflow dates
    pages itself (newsflow.dates), and htmldate was the costliest part of trafilatura's metadata step. An author
    missing from the page's metadata is searched in the page text later, by _author_from_page. `elements`: the
    page's links, metas and scripts (_page_facts), when the tree is the whole page."""
    from trafilatura import metadata as tm
    from trafilatura.settings import Document

    try:
        doc = tm.examine_meta(tree)
        if doc.author and " " not in doc.author:
            doc.author = None
        try:
            doc = _meta_json(tree, doc, elements["script"] if elements is not None else None)
        except Exception:  # noqa: BLE001 - trafilatura's JSON-LD reader on hostile JSON
            pass
        if not doc.title:
            doc.title = tm.extract_title(tree)
        if not doc.url:
            doc.url = tm.extract_url(tree, url)
        if not doc.sitename:
            doc.sitename = tm.extract_sitename(tree)
        if doc.sitename:
            doc.sitename = doc.sitename.lstrip("@")
            if doc.sitename and "." not in doc.sitename and not doc.sitename[0].isupper():
                doc.sitename = doc.sitename.title()
        elif doc.url:
            match = tm.META_URL.match(doc.url)
            if match:
                doc.sitename = match[1]
        if not doc.categories:
            doc.categories = _catstags("category", tree, html, elements)
        if not doc.tags:
            doc.tags = _catstags("tag", tree, html, elements)
        doc.clean_and_trim()
        return doc
    except Exception:  # noqa: BLE001 - metadata is best effort; the body must still come out
        log.debug("metadata extraction failed for %s", url, exc_info=True)
        return Document()


# tm.extract_meta_json finds its scripts with an XPath (a walk of the whole tree, ~0.2 ms a page), minifies their
# JSON with JSON_MINIFY.sub(r"\1", text), a Python call for every string and every blank in it (~0.15 ms), and
# normalize_json drops surrogates with a Python test per character (~0.05 ms). _meta_json takes the scripts
# _page_facts found; _json_minify keeps what the substitution keeps, in one findall: each string as JSON_MINIFY
# matches it, a quote that starts no string, and the runs of other characters but blanks between them;
# _normalize_json drops the surrogates with one regex. Written against these extract_meta_json, JSON_MINIFY and
# normalize_json; a trafilatura where they differ gets its own functions.
_META_JSON_SHA256 = "f07bdc548778040b64e3e487ea82a950eacdc00cb40caafaed2eb31d6770d158"
_JSON_SCRIPT_TYPES = ("application/ld+json", "application/settings+json")
_JSON_KEPT = re.compile(r'"(?:\\.|[^"\\])*"|"|[^"\s]+')
_SURROGATES = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=1)
def _meta_json_known() -> bool:
    from trafilatura import metadata as tm

    return _source_digest((tm.JSON_MINIFY.pattern,), (tm.extract_meta_json, tm.normalize_json)) == _META_JSON_SHA256


def _json_minify(text: str) -> str:
    """tm.JSON_MINIFY.sub(r"\\1", text): the text without its blanks outside JSON strings."""
    return "".join(_JSON_KEPT.findall(text))


def _normalize_json(string: str) -> str:
    """tm.normalize_json(string)."""
    from trafilatura import json_metadata as tj

    if "\\" in string:
        string = string.replace("\\n", "").replace("\\r", "").replace("\\t", "")
        string = tj.JSON_UNICODE_REPLACE.sub(lambda match: chr(int(match[1], 16)), string)
        string = _SURROGATES.sub("", string)
        string = tj.unescape(string)
    return tj.trim(tj.HTML_STRIP_TAGS.sub("", string))


def _meta_json(tree, doc, scripts: list | None = None):
    """tm.extract_meta_json(tree, doc); `scripts`: the script elements below the tree, in document order."""
    from trafilatura import metadata as tm

    if scripts is None or not _meta_json_known():
        return tm.extract_meta_json(tree, doc)
    for elem in scripts:
        if elem.get("type") not in _JSON_SCRIPT_TYPES or not elem.text:
            continue
        element_text = _normalize_json(_json_minify(elem.text))
        try:
            schema = json.loads(element_text, strict=False)
            doc = tm.extract_json(schema, doc)
        except json.JSONDecodeError:
            doc = tm.extract_json_parse_error(element_text, doc)
    return doc


# trafilatura's author XPaths (xpaths.AUTHOR_XPATHS) only match an element named author (or rel), or one whose class,
# id, rel, itemprop, data-testid or data-component attribute holds one of these words in some case. Markup with none
# of them cannot give an author; an attribute value with an entity in it is searched anyway (lxml decodes it).
_AUTHOR_WORDS = ("author|byl|bbl|username|zuozhe|bianji|xiaobian|channel-name|submitted-by|posted-by|journalist-name|"
                 "screenname|writer|&")
_AUTHOR_MARKUP = re.compile(
    r"<(?:author|rel)\b|\b(?:class|id|rel|itemprop|data-testid|data-component)\s*=\s*"
    rf"""(?:"[^"]*?(?:{_AUTHOR_WORDS})|'[^']*?(?:{_AUTHOR_WORDS})|[^\s"'>]*?(?:{_AUTHOR_WORDS}))""",
    re.IGNORECASE,
)


def _author_from_page(tree, html: str | None = None) -> str | None:
    """trafilatura's author search in the page (bylines etc.), done as its extract_author does but on the tree itself
    instead of a deep copy: it prunes the tree, so it runs after every other reader is done with it. None as well
    when the page's markup (html, the text the tree was parsed from) has no author-like attribute (_AUTHOR_MARKUP)."""
    from trafilatura import metadata as tm

    try:
        found = _author_search(tree)
        if found is _SLOW_PATH:
            if html is not None and not _AUTHOR_MARKUP.search(html):
                return None
            author = tm.extract_metainfo(tm.prune_unwanted_nodes(tree, tm.AUTHOR_DISCARD_XPATHS), tm.AUTHOR_XPATHS,
                                         len_limit=120)
        else:
            author, element = found
            if author and html is not None and not _has_author_markup(html, element):
                return None
        return tm.normalize_authors(None, author) if author else None
    except Exception:  # noqa: BLE001 - best effort, like the rest of the metadata
        return None


def _has_author_markup(html: str, element) -> bool:
    """_AUTHOR_MARKUP.search(html) is not None. The search is ~4 ms on a whole news page, so it is only run once the
    author search found something (element), and first in short stretches of html where that element's start tag may
    be, where a match usually is. A match there is a match in the page: search(html, pos, endpos) still sees the text
    before pos, and a match ending before endpos did not need to look past it."""
    for start in _tag_positions(html, element):
        end = min(len(html), start + _TAG_STRETCH)
        match = _AUTHOR_MARKUP.search(html, start, end)
        if match and (match.end() < end or end == len(html)):
            return True
    return _AUTHOR_MARKUP.search(html) is not None


_AUTHOR_ATTRS = ("class", "id", "itemprop", "rel", "data-testid", "data-component")
_TAG_STRETCH = 1200  # characters searched from each place the element's tag may start
_TAG_TRIES = 6  # occurrences of each attribute value tried


def _tag_positions(html: str, element):
    """Places shortly before where the element's start tag may be in html (the text its tree was parsed from): where
    its quoted attribute values occur, then the start of the line above its own."""
    for name in _AUTHOR_ATTRS:
        value = element.get(name)
        if not value:
            continue
        for quoted in (f'"{value}"', f"'{value}'"):
            at = -1
            for _ in range(_TAG_TRIES):
                at = html.find(quoted, at + 1)
                if at < 0:
                    break
                yield max(0, at - 200)
    line = element.sourceline
    if line and line > 2:
        yield len(html) - len(html.split("\n", line - 3)[-1])


# trafilatura's author XPaths (AUTHOR_XPATHS, AUTHOR_DISCARD_XPATHS) cost ~2 ms each on a news page: libxml2 evaluates
# every predicate on every element and calls back into Python for each re:test. _author_search gives the same answer
# from one Python pass: it tests the same attributes with the same regular expressions (lxml's re:test is re.search
# with the pattern as written), keeps trafilatura's pruning (with its tail-text merging) and its order of expressions
# and elements. It is written against these exact XPaths and functions; a trafilatura where they differ gets its
# own search.
_AUTHOR_XPATHS_SHA256 = "6697ca34dcffc205d317faa9514c5fa0ac272e76028e183b2b029e3f981ce8c6"
_SLOW_PATH = object()
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile("^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile("^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
                            "article-(?:share|support)|print|category|meta-date|meta-reviewer")
_BYLINE1_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_BYLINE1_CLASS = re.compile("author-?name|AuthorName|authorName")
_BYLINE2_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_BYLINE2_CLASSES = frozenset({"byline", "username", "byl", "BBL"})
_BYLINE2_ID = re.compile("author|zuozhe|bianji|xiaobian")
_BYLINE2_CLASS = re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
_BYLINE3_ID = re.compile("[Aa]uthor")
_BYLINE3_CLASS = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
_BYLINE1_TESTIDS = ("AuthorCard", "AuthorURL")
_AUTHOR_TAGS = frozenset({"rel", "author", "time", "figure"})
# which of the XPaths' class and id tests a value passes, as bits; pages repeat their class names, so each distinct
# value is tested once (per worker, up to _MASKS_MAX values)
_DISCARD, _BYLINE1, _BYLINE2, _BYLINE3 = 1, 2, 4, 8
_CLASS_MASKS: dict[str, int] = {}
_ID_MASKS: dict[str, int] = {}
_MASKS_MAX = 20000


def _class_mask(cls: str) -> int:
    return ((_DISCARD if cls in ("comments", "title", "date") or _DISCARD_CLASS.search(cls) else 0)
            | (_BYLINE1 if cls == "author" or _BYLINE1_CLASS.search(cls) else 0)
            | (_BYLINE2 if cls in _BYLINE2_CLASSES or _BYLINE2_CLASS.search(cls) else 0)
            | (_BYLINE3 if _BYLINE3_CLASS.search(cls) else 0))


def _id_mask(ident: str) -> int:
    return ((_DISCARD if ident == "comments" or _DISCARD_ID.search(ident) else 0)
            | (_BYLINE1 if ident == "author" else 0)
            | (_BYLINE2 if _BYLINE2_ID.search(ident) else 0)
            | (_BYLINE3 if _BYLINE3_ID.search(ident) else 0))


@lru_cache(maxsize=1)
def _author_xpaths_known() -> bool:
    from trafilatura import metadata as tm

    return _source_digest((*tm.AUTHOR_XPATHS, *tm.AUTHOR_DISCARD_XPATHS),
                          (tm.extract_metainfo, tm.prune_unwanted_nodes)) == _AUTHOR_XPATHS_SHA256


def _source_digest(xpaths, functions) -> str | None:
    """A digest of trafilatura XPaths' (or regular expressions') text and functions' source, to tell whether
    newsflow's stand-ins for them were written against this trafilatura; None when the source cannot be read."""
    import hashlib
    import inspect

    try:
        text = "\n".join(getattr(x, "path", x) for x in xpaths) + "".join(inspect.getsource(f) for f in functions)
    except (OSError, TypeError, AttributeError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _author_search(tree):
    """(extract_metainfo(prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS), AUTHOR_XPATHS, len_limit=120), the element
    it read), pruning the tree the same way; _SLOW_PATH where the pass cannot stand in for the XPaths."""
    from trafilatura.utils import trim

    scan = _author_candidates(tree)
    if scan is _SLOW_PATH:
        return _SLOW_PATH
    gone, found = _author_prune(*scan)
    for elements in found:
        for el in elements:
            if el in gone or not gone.isdisjoint(el.iterancestors()):
                continue
            content = trim(" ".join(el.itertext()))
            if content and 2 < len(content) < 120:
                return content, el
    return None, None


def _author_candidates(tree):
    """(the elements each of AUTHOR_DISCARD_XPATHS selects, the elements each of AUTHOR_XPATHS selects), all from the
    unpruned tree and in document order; _SLOW_PATH when the tree is a fragment of its document (the XPaths search
    the whole document), trafilatura's XPaths changed, or the page has an element named rel (the first XPath tests
    a rel child by its text, which pruning can change)."""
    from lxml import etree

    root = tree.getroottree().getroot()
    if tree is not root or root.getprevious() is not None or root.getnext() is not None or not _author_xpaths_known():
        return _SLOW_PATH
    discard: list = []  # .//* from the root: never the root itself
    figures: list = []
    found: tuple[list, list, list] = ([], [], [])
    class_masks, id_masks = _CLASS_MASKS, _ID_MASKS
    for masks in (class_masks, id_masks):
        if len(masks) > _MASKS_MAX:
            masks.clear()
    for el in root.iter(etree.Element):
        tag = el.tag
        if tag in _AUTHOR_TAGS:
            if tag == "rel":
                return _SLOW_PATH
            (found[0] if tag == "author" else figures).append(el)
        # the attribute names first: el.get of an absent attribute costs as much as of a present one
        keys = el.keys()
        if not keys:
            continue
        mask = 0
        if "class" in keys:
            value = el.get("class")
            mask = class_masks.get(value)
            if mask is None:
                mask = class_masks[value] = _class_mask(value)
        if "id" in keys:
            value = el.get("id")
            bits = id_masks.get(value)
            if bits is None:
                bits = id_masks[value] = _id_mask(value)
            mask |= bits
        if len(keys) > 1 or keys[0] not in ("class", "id"):
            if "itemprop" in keys:
                value = el.get("itemprop")
                if "author" in value:
                    mask |= (_BYLINE1 if value == "author name" else 0) | _BYLINE2 | _BYLINE3
            if "data-component" in keys:
                value = el.get("data-component")
                mask |= (_DISCARD if "Figure" in value else 0) | (_BYLINE3 if "Byline" in value else 0)
            if tag in _BYLINE1_TAGS and (("rel" in keys and el.get("rel") == "author")
                                         or ("data-testid" in keys and el.get("data-testid") in _BYLINE1_TESTIDS)):
                mask |= _BYLINE1
        if not mask:
            continue
        if mask & _DISCARD and tag in _DISCARD_TAGS and el is not root:
            discard.append(el)
        if mask & _BYLINE1 and tag in _BYLINE1_TAGS:
            found[0].append(el)
        if mask & _BYLINE2 and tag in _BYLINE2_TAGS:
            found[1].append(el)
        if mask & _BYLINE3:
            found[2].append(el)
    return (discard, figures), found


def _author_prune(discards: tuple[list, list], found: tuple[list, list, list]) -> tuple[set, tuple[list, list, list]]:
    """Prune as prune_unwanted_nodes does: the first XPath's elements in document order, then the second's, each
    deletion keeping its tail text. The second XPath runs on the pruned tree; a <time> or <figure> inside a pruned
    block is detached already, and deleting it there leaves the tree as the XPath would."""
    from trafilatura.xml import delete_element

    if not any(found):
        return set(), found  # nothing to read: the tree can stay as it is
    discard, figures = discards
    for el in (*discard, *figures):
        delete_element(el)
    return {*discard, *figures}, found


# A main extraction shorter than this (characters, twice trafilatura's MIN_EXTRACTED_SIZE) is retried in full recall
# mode (which brings back trafilatura's baseline rescue, recall escalation and external comparison) and the longer
# result kept. Short pages are where precision mode under-extracts; 250, 500 and 1000 all measured within 0.003 F1
# of each other.
FALLBACK_MIN_CHARS = 500

# Body-step variants measured by bench/extraction.py --variants (options over TRAFILATURA_OPTIONS, fallback size)
VARIANTS: dict[str, dict] = {
    "balanced (trafilatura default)": {"options": {"fast": False, "favor_precision": False}, "fallback_chars": 0},
    "balanced + recall retry < 500": {"options": {"fast": False, "favor_precision": False}, "fallback_chars": 500},
    "balanced + baseline retry < 500": {"options": {"fast": False, "favor_precision": False}, "fallback_chars": 500,
                                        "fallback": "baseline"},
    "favor_recall": {"options": {"fast": False, "favor_precision": False, "favor_recall": True}, "fallback_chars": 0},
    "favor_precision": {"options": {"fast": False}, "fallback_chars": 0},
    "precision + recall retry < 250": {"options": {"fast": False}, "fallback_chars": 250},
    "precision + recall retry < 500": {"options": {"fast": False}, "fallback_chars": 500},
    "precision + recall retry < 1000": {"options": {"fast": False}, "fallback_chars": 1000},
    "precision + baseline retry < 500": {"options": {"fast": False}, "fallback_chars": 500, "fallback": "baseline"},
    "precision, no tables": {"options": {"fast": False, "include_tables": False}, "fallback_chars": 500},
    "fast + precision, no retry": {"options": {}, "fallback_chars": 0},
    "fast + precision + full recall retry < 500 (chosen)": {"options": {}, "fallback_chars": 500},
}


def _main_text(tree, url: str | None, options: dict, fallback_chars: int, fallback: str = "recall") -> str:
    import trafilatura

    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, config=_trafilatura_config(), **options)
    text = ((doc.text if doc is not None else None) or "").strip()
    if fallback_chars and len(text) < fallback_chars:
        if fallback == "baseline":
            _body, other, _n = trafilatura.baseline(tree)
        else:
            # the rescue pass runs trafilatura in full: recall mode and its readability/jusText comparison, which
            # the fast main pass leaves out
            retry = {**options, "favor_precision": False, "favor_recall": True, "fast": False}
            other_doc = trafilatura.bare_extraction(tree, url=url, config=_trafilatura_config(), **retry)
            other = (other_doc.text if other_doc is not None else None) or ""
        other = other.strip()
        if len(other) > len(text):
            text = other
    return text


def extract_body(html: str, *, url: str | None = None, options: dict | None = None, fallback_chars: int | None = None,
                 fallback: str = "recall") -> str:
    """The main text alone, as extract_html gets it (joiner protection, options, fallback)."""
    protected, restore = _protect_joiners(html)
    tree = _parse(protected)
    if tree is None:
        return ""
    opts = {**TRAFILATURA_OPTIONS, **(options or {})}
    chars = FALLBACK_MIN_CHARS if fallback_chars is None else fallback_chars
    return _restore(_main_text(tree, url, opts, chars, fallback), restore)


def extract_html(
    html: str,
    *,
    url: str,
    source: str,
    fetched_at: datetime,
    hint_date: str | None = None,
    hint_title: str | None = None,
    warc_date: str | None = None,
    language_hint: str | None = None,
    timezone: str | None = None,
    url_kind_date_field: str = "feed",
) -> dict:
    """One article record (the ARTICLE staging schema's fields) from decoded HTML."""
    from newsflow import dates

    protected, restore = _protect_joiners(html)
    tree = _parse(protected)
    # page facts and metadata read the tree first; trafilatura's body step works on its own copy of it
    facts = _page_facts(tree, restore)
    if tree is not None:
        doc = _metadata(tree, url, protected, facts["elements"])
        for attr in ("title", "author", "sitename", "description"):
            setattr(doc, attr, _restore(getattr(doc, attr), restore))
        body = _restore(_main_text(tree, url, TRAFILATURA_OPTIONS, FALLBACK_MIN_CHARS), restore)
        if not doc.author:
            doc.author = _restore(_author_from_page(tree, protected), restore)
    else:
        doc, body = None, ""
    site_names = [n for n in (doc.sitename if doc else None, facts["og_site_name"], registered_domain(url).split(".")[0]) if n]
    title = clean_title(
        (doc.title if doc else None) or hint_title or facts["title"], h1=facts["h1"], site_names=site_names
    )
    page_lang = facts["lang"]
    language, language_source = choose_language(body, page_lang, language_hint) if body else (None, "none")

    candidates = dates.gather_candidates(
        html,
        url,
        body=body or None,
        feed_date=hint_date if url_kind_date_field == "feed" else None,
        sitemap_date=hint_date if url_kind_date_field == "sitemap" else None,
        warc_date=warc_date,
        lang=language,
    )
    chosen = dates.choose_publication_date(candidates, fetched_at=fetched_at, tz=timezone)
    return {
        "url": url,
        "source": source,
        "source_domain": registered_domain(url),
        "sitename": (doc.sitename if doc else None) or facts["og_site_name"],
        "title": title,
        "author": doc.author if doc else None,
        "published_at": chosen.published_at,
        "published_date": chosen.published_date,
        "date_source": chosen.date_source,
        "date_disagreement": chosen.disagreement,
        "date_reason": chosen.reason,
        "date_candidates": json.dumps(
            [{"source": c.source, "value": c.value.isoformat(), "raw": c.raw[:80]} for c in chosen.candidates][:20],
            ensure_ascii=False,
        ),
        "language": language,
        "language_source": language_source,
        "body": body,
        "body_chars": len(body),
        "link_density": link_density(body, facts["anchors"]),
        "body_hash": body_hash(body),
        "simhash": simhash(body) if body else None,
        "credit": find_credit(body, lead=facts["lead"], title=title),
        "categories": _split_list(doc.categories if doc else None),
        "tags": _split_list(doc.tags if doc else None),
        "extractor_version": extractor_version(),
        "extractor_settings": extractor_settings(),
    }


def _split_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()][:50]


def extract_item(item: dict) -> dict:
    """Worker entry point: read one archived response and extract it. Never raises: errors become a reason."""
    result = {"seq": item["seq"], "error": None, "record": None}
    try:
        response = read_response(item["warc_file"], item["warc_offset"])
        html, _encoding = decode_html(response.body, header(response.headers, "Content-Type"))
        fetched_at = item.get("fetched_at") or _parse_warc_date(response.warc_date) or datetime.now(UTC)
        record = extract_html(
            html,
            url=item["url"],
            source=item["source"],
            fetched_at=fetched_at,
            hint_date=item.get("hint_date"),
            hint_title=item.get("hint_title"),
            warc_date=item.get("warc_date") or response.warc_date,
            language_hint=item.get("language_hint"),
            timezone=item.get("timezone"),
            url_kind_date_field=item.get("hint_kind") or "feed",
        )
        record.update(
            seq=item["seq"],
            article_id=item["article_id"],
            canonical_url=item["canonical_url"],
            fetched_at=fetched_at,
            http_status=item.get("http_status") or response.status,
            warc_file=item["warc_file"],
            warc_offset=item["warc_offset"],
        )
        result["record"] = record
    except Exception as exc:  # noqa: BLE001 - one hostile page must not stop the batch
        log.warning("extraction failed for %s: %s", item.get("url"), exc, exc_info=True)
        result["error"] = f"extract_error:{type(exc).__name__}"
    return result


def _parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
