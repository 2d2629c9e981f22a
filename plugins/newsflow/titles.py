"""Headlines as the page shows them: site-name prefixes and suffixes ("Headline - Site", "Site | Headline")
are removed using the sitename, og:site_name, the domain and the source's other titles.
"""

from __future__ import annotations

import re
import unicodedata

from newsflow.language import CJK_LETTERS

_CJK = CJK_LETTERS + "\uff00-\uffef"  # and full-width forms
_SEPARATORS = re.compile(
    r"\s+(?:\||-|–|—|::|«|»|·|•|/|:|>)\s+"
    r"|\s*[|｜]\s*"  # a pipe separates even without spaces ("标题｜网站")
    rf"|(?<=[{_CJK}])\s*[-–—_]\s*|\s*[-–—_]\s*(?=[{_CJK}])"  # CJK titles put "-" straight between the parts
    r"|(?<=\w):\s+"  # "Site: Headline" (stripped only when the part before is a site name)
)

# what still divides a title once its site part is gone ("Headline | Section"): a pipe, and "_" between Chinese or
# Japanese parts (portals title a story "标题_频道_网站"; no headline there holds an underscore)
_LEFTOVER_SEPARATORS = re.compile(rf"\s*[|｜]\s*|(?<=[{_CJK}])\s*_\s*|\s*_\s*(?=[{_CJK}])")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _site_keys(text: str) -> set[str]:
    """_norm(text) without accents, and with German umlauts written out too: a domain spells "Dalloz Actualité"
    dalloz-actualite and "Erzbistum Köln" erzbistum-koeln."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    keys = set()
    for variant in (folded, folded.translate(_UMLAUTS)):
        bare = "".join(c for c in unicodedata.normalize("NFKD", variant) if not unicodedata.combining(c))
        keys.add(re.sub(r"[\W_]+", "", bare))
    return keys - {""}


_MAX_SITE_PART_WORDS = 4


def _is_site_part(part: str, site_names: list[str], exact: bool = False) -> bool:
    keys = _site_keys(part)
    if not keys:
        return True
    words = _WORD.findall(part.casefold())
    for name in site_names:
        for other in _site_keys(name):
            for key in keys:
                if exact:  # "Site: Headline" - a colon is too common in headlines ("Brexit: what next") to guess
                    if key == other:
                        return True
                    continue
                if key == other or (len(key) >= 3 and key in other and len(key) < 40):
                    return True
                # the site's name inside a longer part ("BBC News Online"): a short part only; a headline that
                # names its site ("comwrap auf der DMEXCO 2018" on comwrap.com) is the headline
                if len(other) >= 3 and other in key and len(key) < 40 and len(words) <= _MAX_SITE_PART_WORDS:
                    return True
            # a domain label that starts with the part's first word ("Sputnik International", sputniknews): a
            # short part only, and only against a domain-like name (no blanks)
            if (not exact and " " not in name.strip() and 1 < len(words) <= 3 and len(words[0]) >= 4
                    and any(other.startswith(first) for first in _site_keys(words[0]))):
                return True
    return False


def clean_title(title: str | None, *, h1: str | None = None, site_names: list[str] | None = None) -> str | None:
    """Strip site names around a title; prefer the page's h1 when the title contains it.

    Only whole separator-delimited parts at either end are removed, and only when they name the site; the rest of
    the title is kept as written ("US - China talks" stays whole). A "Headline | Section" left over keeps its longest
    pipe-delimited part (or "_"-delimited, between CJK parts).
    """
    names = [n for n in (site_names or []) if n]
    title = " ".join(title.split()) if title else None
    h1 = " ".join(h1.split()) if h1 else None
    if h1 and title and _norm(h1) and _norm(h1) in _norm(title):
        return h1
    if not title:
        return h1
    title = _without_whole_name(title, names)
    spans = _parts(title)
    if len(spans) > 1:
        lo, hi = 0, len(spans)
        while hi - lo > 1 and _is_site_part(title[spans[lo][0]:spans[lo][1]], names,
                                            exact=title[spans[lo][1]:spans[lo + 1][0]].strip() == ":"):
            lo += 1
        while hi - lo > 1 and _is_site_part(title[spans[hi - 1][0]:spans[hi - 1][1]], names):
            hi -= 1
        if (lo, hi) != (0, len(spans)):
            title = title[spans[lo][0]:spans[hi - 1][1]]
            pipes = [p.strip() for p in _LEFTOVER_SEPARATORS.split(title) if p.strip()]
            if len(pipes) > 1:
                title = max(pipes, key=len)
    return title.strip() or h1


def _without_whole_name(title: str, names: list[str]) -> str:
    """The title without a site name that holds a separator itself ("LinkNaija | Nigeria's popular news platform:
    Headline"): split into parts, its tagline would look like the headline's first part."""
    for name in names:
        name = " ".join(name.split())
        if len(_parts(name)) < 2 or len(name) >= len(title):
            continue
        size, folded = len(name), name.casefold()
        if title[:size].casefold() == folded:
            after = _SEPARATORS.match(title, size)
            if after and after.end() < len(title):
                return title[after.end():]
        if title[-size:].casefold() == folded:
            before = next((m for m in _SEPARATORS.finditer(title) if m.end() == len(title) - size), None)
            if before and before.start() > 0:
                return title[:before.start()]
    return title


def _parts(title: str, separators: re.Pattern = _SEPARATORS) -> list[tuple[int, int]]:
    """(start, end) of each separator-delimited part of a title."""
    spans, start = [], 0
    for match in separators.finditer(title):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(title):
        spans.append((start, len(title)))
    return spans


def common_affixes(titles: list[str]) -> list[str]:
    """Segments that begin or end most of a source's titles: its site name even when no metadata says so."""
    counts: dict[str, int] = {}
    for title in titles:
        parts = _SEPARATORS.split(" ".join(title.split()))
        if len(parts) < 2:
            continue
        for part in {parts[0], parts[-1]}:
            counts[part] = counts.get(part, 0) + 1
    threshold = max(2, int(len(titles) * 0.6))
    return [part for part, n in counts.items() if n >= threshold]


_WORD = re.compile(r"\w+")
# An <h1> is the headline the page shows when a statement of the page's metadata confirms it: the same text, the
# text inside a longer title ("Headline | Section | Site"), or most of the same words (an SEO title that shortens
# or lengthens the displayed headline by a few words). Below these it is a logo, a section name or another story.
_MIN_SHARE_OF_TITLE = 0.3
_MIN_WORD_OVERLAP = 0.6


def _words(text: str) -> set[str]:
    return set(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def confirms(h1: str, statement: str) -> bool:
    """Whether a metadata statement of the title (JSON-LD headline, og:title, <title>...) confirms an <h1> as the
    article's headline."""
    a, b = _norm(h1), _norm(statement)
    if not a or not b:
        return False
    if a == b or (a in b and len(a) >= _MIN_SHARE_OF_TITLE * len(b)):
        return True
    wa, wb = _words(h1), _words(statement)
    if len(wa) < 3 or not wb:
        return False  # one or two words ("Politik", "Home") are a section or a logo, however they overlap
    return len(wa & wb) / len(wa | wb) >= _MIN_WORD_OVERLAP


_PIPES = re.compile(r"\s*[|｜]\s*")


def _stated_part(h1: str, said: list[str], names: list[str]) -> str:
    """The pipe-delimited part of an <h1> that a statement gives exactly, when the <h1> holds more around it: a
    section link ("Local News | Headline", a chain of US dailies) or a visually hidden site name ("Headline<span
    class="element-invisible"> | Site</span>", Drupal) inside the <h1> element. A pipe is no headline's
    punctuation; other separators are ("Brexit: what next"), so they are left alone. A part that is the site's name
    (a <title> of the site's name alone states it too) is never the headline."""
    keys = {_norm(s) for s in said}
    spans = _parts(h1, _PIPES)
    # every run of consecutive parts but the whole <h1>
    runs = [h1[spans[i][0]:spans[j][1]] for i in range(len(spans)) for j in range(i, len(spans))
            if (i, j) != (0, len(spans) - 1)]
    found = [run for run in runs
             if _norm(run) in keys and not (names and _is_site_part(run, names, exact=True))]
    return max(found, key=len) if found else h1


def choose_title(h1s: list[str], statements: list[str | None], *, site_names: list[str] | None = None) -> str | None:
    """The headline as the page shows it: the first <h1> that a metadata statement confirms (confirms()), without a
    section or site name a statement leaves out (_stated_part); else the first statement with site-name parts
    stripped (clean_title), or the first <h1> when there is no statement."""
    said = [" ".join(s.split()) for s in statements if s and s.strip()]
    names = [n for n in (site_names or []) if n]
    for h1 in h1s:
        h1 = " ".join(h1.split()) if h1 else ""
        # a logo <h1> is in every title of the site
        if h1 and not (names and _is_site_part(h1, names, exact=True)) and any(confirms(h1, s) for s in said):
            return _stated_part(h1, said, names)
    title = clean_title(said[0] if said else None, h1=h1s[0] if h1s else None, site_names=site_names)
    if title and names and _is_site_part(title, names, exact=True):
        # a title that is only the site's name ("ADAC") is no headline: the page's own <h1> is, if it has one
        shown = next((h for h in (" ".join(h.split()) for h in h1s if h)
                      if not _is_site_part(h, names, exact=True) and len(_words(h)) >= 3), None)
        return shown or title
    return title
