"""Article extraction: trafilatura on the archived bytes, then newsflow's own date, title, source, credit,
language and fingerprint fields. Runs in worker processes; each worker reads its pages straight from the WARC.
"""

from __future__ import annotations

import json
import logging
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

# trafilatura options: kept in one place so every row can record what produced it
TRAFILATURA_OPTIONS = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
}


@lru_cache(maxsize=1)
def extractor_version() -> str:
    import trafilatura

    return f"newsflow-{__version__}+trafilatura-{trafilatura.__version__}"


@lru_cache(maxsize=1)
def extractor_settings() -> str:
    return json.dumps(TRAFILATURA_OPTIONS, sort_keys=True)


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


def _page_facts(html: str) -> dict:
    """What trafilatura does not report: the page's lang attribute, first h1, og:site_name, <title>."""
    from lxml import html as lxml_html

    facts = {"lang": None, "h1": None, "og_site_name": None, "title": None, "anchors": frozenset()}
    try:
        tree = lxml_html.document_fromstring(html[:2_000_000])
    except Exception:  # noqa: BLE001 - an unparsable page simply has no facts
        return facts
    facts["lang"] = tree.get("lang") or tree.get("xml:lang")
    h1 = tree.find(".//h1")
    if h1 is not None:
        facts["h1"] = " ".join(h1.text_content().split()) or None
    site = tree.xpath('//meta[@property="og:site_name"]/@content')
    facts["og_site_name"] = site[0].strip() if site else None
    title = tree.find(".//title")
    if title is not None:
        facts["title"] = " ".join(title.text_content().split()) or None
    facts["anchors"] = frozenset(
        text for text in (" ".join(a.text_content().split()) for a in tree.iter("a")) if len(text) >= 8
    )
    return facts


def link_density(body: str, anchors: frozenset[str]) -> float:
    """Share of the body's characters in lines that are just link texts: near 1.0 on section and index pages."""
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if line]
    total = sum(len(line) for line in lines)
    if not total:
        return 0.0
    linked = sum(len(line) for line in lines if line in anchors or line.lstrip("-•* ") in anchors)
    return round(linked / total, 3)


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
    import trafilatura

    from newsflow import dates

    protected, restore = _protect_joiners(html)
    doc = trafilatura.bare_extraction(
        protected, url=url, with_metadata=True, config=_trafilatura_config(), **TRAFILATURA_OPTIONS
    )
    if doc is not None and restore:
        for attr in ("text", "title", "author", "sitename", "description"):
            setattr(doc, attr, _restore(getattr(doc, attr), restore))
    facts = _page_facts(html)
    body = (doc.text if doc is not None else None) or ""
    body = body.strip()
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
        "credit": find_credit(body),
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
