"""Article extraction: trafilatura on the archived bytes, then newsflow's own date, title, source, credit,
language and fingerprint fields. Runs in worker processes; each worker reads its pages straight from the WARC.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from newsflow import __version__
from newsflow.archive import ArchiveRecordError, header, read_response
from newsflow.credits import find_credit
from newsflow.dedup import body_hash, simhash
from newsflow.encoding import decode_html, without_lone_surrogates
from newsflow.language import choose_language
from newsflow.titles import choose_title
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
    return json.dumps({**TRAFILATURA_OPTIONS, "fallback_min_chars": FALLBACK_MIN_CHARS, "metadata_dates": True,
                       "body_markup_repairs": True, "text_nfc": True}, sort_keys=True)


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
    """The page parsed once, the way trafilatura parses it (its public load_html); every later step reads this tree."""
    from trafilatura import load_html

    try:
        return load_html(html)
    except Exception:  # noqa: BLE001 - an unparsable page simply has no tree
        return None


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) or None if text else None


def _page_facts(tree, restore: dict[str, str] | None = None, url: str | None = None) -> dict:
    """What trafilatura does not report: the page's lang attribute, first h1, og:site_name, <title>, the texts of
    links to other pages (not to this one, `url`), and the short lines around the headline (dateline, "Source: …",
    byline) where a wire credit often sits."""
    facts = {"lang": None, "h1": None, "h1s": [], "og_site_name": None, "title": None, "anchors": frozenset(),
             "lead": None, "stated_titles": [], "access": None, "meta_author": None}
    if tree is None:
        return facts
    restore = restore or {}
    root = tree.getroottree().getroot()
    facts["lang"] = root.get("lang") or root.get("xml:lang")
    # one walk of the tree for the first h1, the first title, og:site_name and the links
    h1 = title = site = author = None
    links, h1s, stated, access = [], [], [], []
    for el in root.iter("a", "h1", "title", "meta", "script"):
        tag = el.tag
        if tag == "a":
            links.append(el)
        elif el is root:
            continue
        elif tag == "meta":
            prop = el.get("property") or el.get("name")
            if site is None and prop == "og:site_name":
                site = el.get("content")
            elif prop in _TITLE_METAS and el.get("content"):
                stated.append(el.get("content"))
            elif prop == "article:content_tier" and el.get("content"):
                access.append(_TIERS.get(el.get("content").strip().lower()))
            elif author is None and prop == "author" and el.get("content"):
                author = el.get("content")
        elif tag == "script":
            if "ld+json" in (el.get("type") or "") and el.text and ("headline" in el.text
                                                                    or "isAccessibleForFree" in el.text):
                headlines, free = _jsonld_facts(el.text)
                stated[:0] = headlines
                access += free
        elif tag == "h1":
            h1 = el if h1 is None else h1
            if len(h1s) < 5:
                h1s.append(el)
        elif tag == "title":
            title = el if title is None else title
    if h1 is not None:
        facts["h1"] = _restore(_clean(h1.text_content()), restore)
        facts["lead"] = _restore(_headline_area(h1), restore)
    facts["og_site_name"] = _restore(site.strip(), restore) if site is not None else None
    if title is not None:
        facts["title"] = _restore(_clean(title.text_content()), restore)
    facts["h1s"] = [t for t in (_restore(_clean(el.text_content()), restore) for el in h1s) if t]
    facts["stated_titles"] = [_restore(_clean(s), restore) for s in stated]
    facts["access"] = next((level for level in ("paywalled", "metered", "free") if level in access), None)
    facts["meta_author"] = _restore(_clean(author), restore)
    here = _same_page_key(url) if url else None
    keys: dict[str, tuple[str, str] | None] = {}
    facts["anchors"] = frozenset(
        _restore(text, restore)
        for text, a in ((" ".join(_text_content(a).split()), a) for a in links)
        if len(text) >= 8 and (here is None or _link_key(a.get("href") or "", url, here, keys) != here)
    )
    return facts


_TITLE_METAS = frozenset({"og:title", "twitter:title"})
# A name in Chinese, Japanese or Korean is written without a space ("张伟", "김민준"). trafilatura keeps a page's
# <meta name="author"> only when it holds one (a single word there is often a CMS's "admin"), so every such byline
# was lost; a name of those scripts alone (or several, "张伟、李娜") is taken as the page states it.
_UNSPACED_NAME = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af·・]{2,20}")


def _unspaced_author(stated: str | None, site: str | None = None) -> str | None:
    names = re.split(r"\s*[、，,;；]\s*", stated.strip()) if stated else []
    # an outlet that names itself as the author ("人民网" on 人民网's pages) has told no byline
    if stated and site and stated.strip() in (site.strip(), *re.split(r"\s*[-|_–—]\s*", site.strip())):
        return None
    if names and all(_UNSPACED_NAME.fullmatch(name) for name in names):
        return "; ".join(names)
    return None


_ARTICLE_TYPES = re.compile(r"Article|Posting|Report", re.I)


# What a page states of its access (`access`): Open Graph's article:content_tier, and schema.org's
# isAccessibleForFree on the article or on a part of it (hasPart: Google's markup for paywalled content)
_TIERS = {"free": "free", "metered": "metered", "locked": "paywalled"}


def _jsonld_facts(text: str) -> tuple[list[str], list[str]]:
    """The headline of each article-like object in a JSON-LD script, and what the script states of access ("free",
    "paywalled": isAccessibleForFree of an article or of a part of one); nothing from broken JSON."""
    try:
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError):  # a nesting bomb ("[[[[...") raises the latter
        return [], []
    found, access, stack = [], [], [(data, False)]
    while stack and len(found) < 5:
        node, in_article = stack.pop()
        if isinstance(node, list):
            stack.extend((item, in_article) for item in reversed(node))
        elif isinstance(node, dict):
            kind = node.get("@type")
            kind = " ".join(kind) if isinstance(kind, list) else str(kind or "")
            article = bool(_ARTICLE_TYPES.search(kind))
            if isinstance(node.get("headline"), str) and article and not in_article:  # a part's is not the page's
                found.append(node["headline"])
            if (article or in_article) and (free := _boolean(node.get("isAccessibleForFree"))) is not None:
                access.append("free" if free else "paywalled")
            children = node.get("@graph") if isinstance(node.get("@graph"), list) else []
            parts = node.get("hasPart") if article and isinstance(node.get("hasPart"), list | dict) else []
            stack.extend((child, False) for child in reversed(children))
            stack.append((parts, True))
    return found, access


def _boolean(value) -> bool | None:
    # JSON-LD writes a schema.org Boolean as true, "True", "false" or "http://schema.org/False"
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().rsplit("/", 1)[-1].lower()
        return {"true": True, "false": False}.get(word)
    return None


def _same_page_key(href: str, base: str | None = None) -> tuple[str, str] | None:
    """(host, path) an href leads to, resolved against base: links to the page itself (its headline and lead
    repeated in a "most read" box, a share link) are not links away from it."""
    from urllib.parse import urljoin, urlsplit

    try:
        parts = urlsplit(urljoin(base, href) if base else href)
    except ValueError:
        return None
    return parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/") or "/"


def _link_key(href: str, base: str, here: tuple[str, str], keys: dict) -> tuple[str, str] | None:
    """_same_page_key(href, base) for one link of the page at `base` (whose key is `here`), without urljoin (~10 µs,
    most of _page_facts' time) where its answer is known on an http(s) page: an empty or fragment-only href is the page
    itself, an absolute http(s) href is returned by urljoin as it is, and a path without dot segments stays on the
    page's host. `keys` remembers the other hrefs of the page."""
    if not base.startswith(("http://", "https://")):
        pass  # urljoin resolves nothing against a base of another scheme
    elif not href or href[0] == "#":
        return here
    elif (absolute := href.startswith(("http://", "https://"))) or (
            href[0] == "/" and href[:2] != "//" and "/." not in href):
        try:
            parts = urlsplit(href)
        except ValueError:
            return None
        if absolute and parts.netloc:
            return parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/") or "/"
        if not absolute:  # a path on this host, with no dot segments for urljoin to resolve
            return here[0], parts.path.rstrip("/") or "/"
    if href not in keys:
        keys[href] = _same_page_key(href, base)
    return keys[href]


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


# A section or index page is a list of links: fewer link lines than this in a body are a short article whose
# headline, lead or a "read also" line is also a link elsewhere on the page, not a list.
MIN_LINK_LINES = 4


def link_density(body: str, anchors: frozenset[str]) -> float:
    """Share of the body's characters in lines that are just texts of links to other pages: near 1.0 on section and
    index pages; 0.0 when fewer than MIN_LINK_LINES lines are such links."""
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if line]
    total = sum(len(line) for line in lines)
    if not total:
        return 0.0
    linked = [line for line in lines if line in anchors or line.lstrip("-•* ") in anchors]
    if len(linked) < MIN_LINK_LINES:
        return 0.0
    return round(sum(len(line) for line in linked) / total, 3)


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


def _main_text(tree, url: str | None, options: dict, fallback_chars: int, fallback: str = "recall",
               date_params: dict | None = None):
    """(trafilatura's Document, the main text). With date_params the Document holds the page's metadata (title,
    author, sitename, categories, tags, and htmldate's date run with those parameters); without, none."""
    import trafilatura

    from newsflow.body_markup import repaired

    # the body is read from a repaired copy where the page needs one (newsflow.body_markup); the repairs drop
    # spans and links the metadata readers look at (a byline's author span), so the metadata is then read on its
    # own from the page as published. Otherwise one call reads both, on one copy (the split costs ~15% a page).
    body_tree = repaired(tree)
    split = body_tree is not tree and date_params is not None
    with_metadata = date_params is not None and not split
    try:
        doc = trafilatura.bare_extraction(body_tree, url=url, with_metadata=with_metadata,
                                          date_extraction_params=date_params if with_metadata else None,
                                          config=_trafilatura_config(), **options)
    except ValueError:
        if not with_metadata or not _has_impossible_offset(tree):
            raise
        # the body read on its own, the metadata below from a copy without those offsets
        split = True
        doc = trafilatura.bare_extraction(body_tree, url=url, config=_trafilatura_config(), **options)
    text = ((doc.text if doc is not None else None) or "").strip()
    if fallback_chars and len(text) < fallback_chars:
        if fallback == "baseline":
            _body, other, _n = trafilatura.baseline(body_tree)
        else:
            # the rescue pass runs trafilatura in full: recall mode and its readability/jusText comparison, which
            # the fast main pass leaves out
            retry = {**options, "favor_precision": False, "favor_recall": True, "fast": False}
            other_doc = trafilatura.bare_extraction(body_tree, url=url, config=_trafilatura_config(), **retry)
            other = (other_doc.text if other_doc is not None else None) or ""
        other = other.strip()
        if len(other) > len(text):
            text = other
    if date_params is not None and (split or doc is None):
        # what bare_extraction(with_metadata=True) reads first on its copy of the page (it passes extensive=fast,
        # True here; extract_metadata only reads the tree); bare_extraction gives no Document at all for a page
        # without text, metadata included: a shell with a title, author and date still gets them recorded
        try:
            doc = trafilatura.extract_metadata(tree, default_url=url, date_config=date_params)
        except ValueError:
            if not _has_impossible_offset(tree):
                raise
            doc = trafilatura.extract_metadata(_without_impossible_offsets(tree), default_url=url,
                                               date_config=date_params)
    return doc, text


# A time with a UTC offset of 24 hours or more ("2024-05-02T10:00:00+24:00", a template's bug): htmldate parses it
# and then fails on it with a ValueError (Python allows offsets under 24 h), which failed the whole page, its good
# JSON-LD date and body with it. Only trafilatura's metadata is read from a copy without such offsets; newsflow's
# own date readers (newsflow.dates) pass over the impossible value and take the others.
# (hours of 24 or more, with or without minutes; or minutes of 60 or more)
_IMPOSSIBLE_OFFSET = re.compile(
    r"(\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s?[+-](?:(?:2[4-9]|[3-9]\d)(?::?\d\d)?|\d\d:?[6-9]\d)(?!\d)")


def _has_impossible_offset(tree) -> bool:
    return any(_IMPOSSIBLE_OFFSET.search(text) for text in _texts(tree))


def _texts(tree):
    for element in tree.iter():
        yield from element.attrib.values()
        if isinstance(element.text, str):
            yield element.text
        if isinstance(element.tail, str):
            yield element.tail


def _without_impossible_offsets(tree):
    from copy import deepcopy

    copy = deepcopy(tree)
    for element in copy.iter():
        for name, value in element.attrib.items():
            if _IMPOSSIBLE_OFFSET.search(value):
                element.set(name, _IMPOSSIBLE_OFFSET.sub(r"\1", value))
        if isinstance(element.text, str) and _IMPOSSIBLE_OFFSET.search(element.text):
            element.text = _IMPOSSIBLE_OFFSET.sub(r"\1", element.text)
        if isinstance(element.tail, str) and _IMPOSSIBLE_OFFSET.search(element.tail):
            element.tail = _IMPOSSIBLE_OFFSET.sub(r"\1", element.tail)
    return copy


def extract_body(html: str, *, url: str | None = None, options: dict | None = None, fallback_chars: int | None = None,
                 fallback: str = "recall") -> str:
    """The main text alone, as extract_html gets it (joiner protection, options, fallback)."""
    protected, restore = _protect_joiners(html)
    tree = _parse(protected)
    if tree is None:
        return ""
    opts = {**TRAFILATURA_OPTIONS, **(options or {})}
    chars = FALLBACK_MIN_CHARS if fallback_chars is None else fallback_chars
    return _restore(_main_text(tree, url, opts, chars, fallback)[1], restore)


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

    # composed (NFC) text, as nearly every page sends it: a page written decomposed (an editor on macOS: "e" and a
    # combining acute for "é") stored bodies that no search for "café" found, and month names the date parsers
    # did not read. ~0.7 ms for a 160 KB page, most of it the check that the page is already composed.
    html = unicodedata.normalize("NFC", html)
    protected, restore = _protect_joiners(html)
    tree = _parse(protected)
    # trafilatura works on its own copy of the tree (bare_extraction copies a tree it is given)
    facts = _page_facts(tree, restore, url)
    doc, body = None, ""
    if tree is not None:
        doc, body = _main_text(tree, url, TRAFILATURA_OPTIONS, FALLBACK_MIN_CHARS, date_params=_date_params(fetched_at))
        body = _restore(body, restore)
        if doc is not None:
            for attr in ("title", "author", "sitename"):
                setattr(doc, attr, _restore(getattr(doc, attr), restore))
            # the page's lists too: a Persian tag's zero-width non-joiner was stored as its stand-in ("استان⸻ها")
            for attr in ("categories", "tags"):
                value = getattr(doc, attr)
                setattr(doc, attr, [_restore(v, restore) for v in value] if isinstance(value, list)
                        else _restore(value, restore))
    site_names = [n for n in (doc.sitename if doc else None, facts["og_site_name"], registered_domain(url).split(".")[0]) if n]
    # the headline the page shows: an <h1> that trafilatura's title, the feed's, <title>, JSON-LD or og:title
    # confirms; else trafilatura's title (or the next) without its site-name parts
    statements = [doc.title if doc else None, hint_title, facts["title"], *facts["stated_titles"]]
    title = choose_title(facts["h1s"], statements, site_names=site_names)
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
        htmldate_date=doc.date if doc is not None else None,
        # the page's tree, which trafilatura only read (it works on copies) and nothing reads after the dates; not
        # when joiners were swapped for stand-ins in it (date labels are matched on the page's own text)
        root=tree if not restore else None,
        fetched_at=fetched_at,
        tz=timezone,
    )
    chosen = dates.choose_publication_date(candidates, fetched_at=fetched_at, tz=timezone)
    record = {
        "url": url,
        "source": source,
        "source_domain": registered_domain(url),
        "sitename": (doc.sitename if doc else None) or facts["og_site_name"],
        "title": title,
        "author": (doc.author if doc else None) or _unspaced_author(
            facts["meta_author"], site=(doc.sitename if doc else None) or facts["og_site_name"]),
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
        "access": facts["access"],
        "categories": _split_list(doc.categories if doc else None),
        "tags": _split_list(doc.tags if doc else None),
        "extractor_version": extractor_version(),
        "extractor_settings": extractor_settings(),
    }
    # JSON-LD may spell half an emoji ("\\ud83d"): a lone surrogate in a headline or a date's raw text made the
    # staging write fail, and with it the whole source's fetch stage
    for key, value in record.items():
        if isinstance(value, str):
            record[key] = without_lone_surrogates(value)
        elif isinstance(value, list):
            record[key] = [without_lone_surrogates(v) if isinstance(v, str) else v for v in value]
    return record


def _date_params(fetched_at: datetime) -> dict:
    """htmldate's parameters for trafilatura's metadata pass: the original (not the last-modified) date, and no date
    later than the day after the fetch, so re-extracting an archived page dates it as it was fetched."""
    latest = (fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=UTC)) + timedelta(days=1)
    return {"original_date": True, "extensive_search": True, "max_date": latest.strftime("%Y-%m-%d"),
            "outputformat": "%Y-%m-%d"}


_LIST_SEPARATORS = re.compile(r"[,，、;；،]")


def _split_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = [value]
    # trafilatura gives a list whose items hold a page's keywords as written, "教育,新闻" or "economy, politics",
    # "教育，新闻" or "教育、新闻" (the full-width and the enumeration comma), "سياسة، اقتصاد" (the Arabic comma)
    value = [part for v in value if v for part in _LIST_SEPARATORS.split(v)]
    return [v.strip() for v in value if v.strip()][:50]


class ExtractionTimeout(BaseException):
    """A page used up its CPU time limit (settings.extract_time_limit_s). A BaseException, like Airflow's own task
    timeout: the libraries' `except Exception` around their heuristics must not swallow it."""


@contextmanager
def cpu_time_limit(seconds: float | None):
    """Raise ExtractionTimeout inside the block once this process has spent `seconds` of CPU time in it.

    Some markup makes the extractor crawl: 2.4 MB of 50,000 short paragraphs that each hold a link take ~16 CPU s
    (the cost grows faster than their number), a 10 MB page minutes, holding a worker (or the task) while every
    other page waits. CPU time, not wall time: a busy machine slows every page alike and must not fail them. SIGPROF, because Airflow's execution_timeout owns SIGALRM in the
    task process (where small batches are extracted). Python runs the handler between bytecodes, so a single
    long call into C ends first; the signal repeats each second in case a bare `except:` swallowed it. Outside the
    main thread signals cannot be set: no limit there.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ExtractionTimeout(f"over {seconds:g} CPU s")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds, 1.0)
    try:
        yield
    finally:
        while True:  # the signal may land here, before the timer is off: its exception must not skip the reset
            try:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, previous)
                break
            except ExtractionTimeout:
                continue


def extract_item(item: dict) -> dict:
    """Worker entry point: read one archived response and extract it. Never raises: errors become a reason."""
    result = {"seq": item["seq"], "error": None, "record": None}
    try:
        response = read_response(item["warc_file"], item["warc_offset"])
        _check_record_is_the_page(response, item)
        html, _encoding = decode_html(response.body, header(response.headers, "Content-Type"))
        fetched_at = item.get("fetched_at") or _parse_warc_date(response.warc_date) or datetime.now(UTC)
        with cpu_time_limit(item.get("time_limit_s")):
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
            listing_date=item.get("hint_date"),
            listing_title=item.get("hint_title"),
        )
        result["record"] = record
    except ExtractionTimeout as exc:
        log.warning("extraction of %s stopped: %s", item.get("url"), exc)
        result["error"] = "extract_timeout"
    except ArchiveRecordError as exc:
        log.warning("%s: %s", item.get("url"), exc)
        result["error"] = exc.reason
    except FileNotFoundError as exc:
        log.warning("%s: its archive is gone (%s)", item.get("url"), exc)
        result["error"] = "warc_not_found"
    except Exception as exc:  # noqa: BLE001 - one hostile page must not stop the batch
        log.warning("extraction failed for %s: %s", item.get("url"), exc, exc_info=True)
        result["error"] = f"extract_error:{type(exc).__name__}"
    return result


def _check_record_is_the_page(response, item: dict) -> None:
    """The record at a stored offset must be the page stored from it: a crawler that wrote another file under the
    same name (the same pages in another order) made a reprocess store every article with another page's text."""
    from newsflow.urls import BadURL, article_id, canonicalize

    if not response.url or not item.get("article_id"):
        return
    try:
        canonical = canonicalize(response.url)
    except BadURL:
        return
    expected = {item["article_id"]} | ({article_id(item["canonical_url"])} if item.get("canonical_url") else set())
    if article_id(canonical) not in expected:
        raise ArchiveRecordError("warc_mismatch", f"the record at {item['warc_file']}@{item['warc_offset']} is "
                                 f"{response.url}, not this page")


def _parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
