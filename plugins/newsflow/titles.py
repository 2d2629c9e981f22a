"""Headlines as the page shows them: site-name prefixes and suffixes ("Headline - Site", "Site | Headline")
are removed using the sitename, og:site_name, the domain and the source's other titles.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|«|»|·|•|/|:)\s+")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


def _is_site_part(part: str, site_names: list[str]) -> bool:
    key = _norm(part)
    if not key:
        return True
    for name in site_names:
        other = _norm(name)
        if other and (key == other or (len(key) >= 3 and (key in other or other in key) and len(key) < 40)):
            return True
    return False


def clean_title(title: str | None, *, h1: str | None = None, site_names: list[str] | None = None) -> str | None:
    """Strip site names around a title; prefer the page's h1 when the title contains it."""
    names = [n for n in (site_names or []) if n]
    title = " ".join(title.split()) if title else None
    h1 = " ".join(h1.split()) if h1 else None
    if h1 and title and _norm(h1) and _norm(h1) in _norm(title):
        return h1
    if not title:
        return h1
    parts = _SEPARATORS.split(title)
    if len(parts) > 1:
        kept = [p for p in parts if not _is_site_part(p, names)]
        if kept and len(kept) < len(parts):
            title = " - ".join(kept) if len(kept) > 1 else kept[0]
    return title.strip() or h1


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
