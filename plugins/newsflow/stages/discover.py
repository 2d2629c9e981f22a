"""The discover stage: a source's listing (feed, sitemap with nested indexes, URL list, WARC) becomes the run's
ledger of article URLs, canonicalised, de-duplicated and capped; every listing document fetched gets a row too.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urldefrag, urljoin

from newsflow import staging
from newsflow.stages.http import archiver, fetch_fields, host_gate_dir, http_cache, parse_iso, safe_canonical
from newsflow.stages.job import Job
from newsflow.urls import article_id, redirect_target, scheme_of, url_problem

log = logging.getLogger(__name__)


async def _discover_listing(job: Job, archive, doc_rows: list[dict], robots=None) -> list:
    """Fetch a feed, sitemap (with nested index) or remote URL list; every document fetched gets a ledger row."""
    from newsflow import discover
    from newsflow.encoding import charset_from_content_type, decode_text
    from newsflow.fetch import Fetcher

    source = job.source
    kind = {"feed": "feed", "sitemap": "sitemap", "urls": "urls"}[source.kind]
    start_url = source.url if source.kind != "urls" else source.urls_file
    entries: list = []
    # the sitemap protocol allows 50 MiB uncompressed (~19 MB for 50,000 URLs with news: tags): a listing sent plain
    # or with Content-Encoding is held to that, as a .gz one is inflated to it, not to an article page's max_bytes
    listing_max_bytes = max(job.settings.max_bytes, discover.MAX_UNCOMPRESSED)
    cache = http_cache([safe_canonical(start_url)], job.warehouse)
    async with Fetcher(job.settings, on_response=archiver(archive), host_gate_dir=host_gate_dir(),
                       robots=robots) as fetcher:
        queue = [(start_url, 0)]
        seen = set()
        announced: set[str] = set()  # listings queued because a web page led to them (feed_linked, robots.txt)
        row_kind = kind if kind != "urls" else "url_list"
        while queue and len(seen) < discover.MAX_SITEMAP_DOCS:
            url, depth = queue[0]
            # a fragment never reaches the server: `index.xml#again` is the index, read once
            asked = urldefrag(url).url
            if asked in seen:
                queue.pop(0)
                # named again (an index naming itself, a month twice or with a `#fragment`): not asked again, but a
                # URL the listing named, so a row of its own, as a duplicate article URL has
                doc_rows.append(staging.ledger_row(len(doc_rows), row_kind, url, canonical_url=safe_canonical(url),
                                                   outcome="skipped", reason="duplicate"))
                continue
            if depth > discover.MAX_SITEMAP_DEPTH:
                break  # breadth first: everything left in the queue is as deep
            queue.pop(0)
            seen.add(asked)
            canonical = safe_canonical(url)
            validators = cache.get(canonical or "", {})
            result = await fetcher.get(
                asked, kind=kind, etag=validators.get("etag"), last_modified=validators.get("last_modified"),
                previous_sha1=validators.get("content_sha1"), validated_url=validators.get("final_url"),
                max_bytes=listing_max_bytes,
            )
            row = staging.ledger_row(len(doc_rows), row_kind, url, canonical_url=canonical, **fetch_fields(result))
            doc_rows.append(row)
            body = result.body
            if result.outcome == "not_modified":
                # the listing is unchanged, but its entries are still re-checked (conditionally) so that an
                # article that failed last time is retried: read the listing back from the archive
                row.update(outcome="unchanged", reason=result.reason)
                body = body or _archived_body(validators)
                if body is None:
                    result = await fetcher.get(url, kind=kind, max_bytes=listing_max_bytes)
                    row.update(fetch_fields(result), outcome=None, reason=None)
                    body = result.body
            if result.outcome not in ("ok", "not_modified"):
                row.update(outcome=result.outcome, reason=result.reason)
                continue
            charset = charset_from_content_type(result.content_type)
            unlinked: list[str] = []
            notes: list[str] = []  # what the reason adds: sitemaps=N, recovered
            try:
                if source.kind == "feed":
                    found = discover.parse_feed(body, charset, unlinked, notes)
                elif source.kind == "sitemap":
                    found, children = discover.parse_sitemap(body, charset, unlinked, notes)
                    # kept as listed (the ledger's URL); read once without their fragment (above)
                    children = [resolve_link(result.final_url, child) for child in children]
                    if url in announced and children and not found and all(
                            _leads_back(child, url, result.final_url, seen) for child in children):
                        # the robots.txt of a page given as a sitemap names only that page (or itself): as one
                        # that names no sitemap, nothing is left to read
                        log.warning("%s names only sitemaps already read: %s", url, ", ".join(children[:3]))
                        raise discover.DiscoveryError("not_a_sitemap", "names no sitemap that was not read already")
                    # child sitemaps are asked conditionally too: an index of monthly sitemaps mostly lists old,
                    # unchanged ones, which a scheduled run would otherwise download in full every time
                    cache.update(http_cache([safe_canonical(child) for child in children], job.warehouse))
                    queue.extend((child, depth + 1) for child in children)
                else:
                    found = discover.parse_url_list_file(decode_text(body))
            except discover.DiscoveryError as exc:
                listing = _announced_listing(source.kind, body, result, exc) if depth == 0 else None
                if listing and _leads_back(listing[1], url, result.final_url, seen):
                    # a page announcing itself as its feed (or a feed address that redirects to the home page
                    # announcing that address) has no feed to offer: queued, it was dropped as already read, and
                    # the source ended `loaded` with nothing listed and no failure
                    log.warning("%s is a web page whose announced %s, %s, leads back to a listing already read",
                                url, "feed" if source.kind == "feed" else "robots.txt", listing[1])
                    row.update(outcome="failed", reason=exc.reason)
                    continue
                if listing:
                    announced.add(listing[1])
                    # the site's page where its feed or sitemap was expected: read the feed it announces (as feed
                    # readers do), or the sitemaps its robots.txt names (as search engines find them)
                    reason, listing = listing
                    log.warning("%s is a web page; reading %s instead", url, listing)
                    row.update(outcome="loaded", reason=reason)
                    cache.update(http_cache([safe_canonical(listing)], job.warehouse))
                    queue.append((listing, depth + 1))
                else:
                    row.update(outcome="failed", reason=exc.reason)
                continue
            for entry in found:
                entry.url = resolve_link(result.final_url, entry.url)
            if "recovered" in notes:
                log.warning("%s: not well-formed, read by the recovering parser: entries after the damage may be "
                            "missing", url)
            if unlinked:  # items that name no page: nothing to fetch, but the listing says they were there
                log.warning("%s: %d item(s) without a link, e.g. %r", url, len(unlinked), next(filter(None, unlinked), ""))
            if row["outcome"] is None:
                row.update(outcome="loaded", reason=discover.listing_reason(len(found), len(unlinked), notes))
            entries.extend(found)
        _unread_sitemaps(queue, seen, kind, doc_rows)
    return entries


def _announced_listing(kind: str, body: bytes, result, exc) -> tuple[str, str] | None:
    """(ledger reason, URL) of the listing a web page given as a source leads to: the first feed it announces for
    a feed source, its site's robots.txt for a sitemap source; None for anything but a web page."""
    from newsflow import discover

    if exc.reason != "html_page":
        return None
    if kind == "feed":
        feed = discover.linked_feed(body, result.content_type)
        return ("feed_linked", resolve_link(result.final_url, feed)) if feed else None
    if kind == "sitemap":
        return "sitemaps_from_robots", resolve_link(result.final_url, "/robots.txt")
    return None


def _leads_back(listing: str, url: str, final_url: str | None, seen: set[str]) -> bool:
    """Whether `listing`, which the document at `url` (landed at `final_url`) leads to, is that document or one this
    source read already: compared as canonical URLs, so `/feed` and `/feed#top` are one document."""
    read = {safe_canonical(u) or u for u in (*seen, url, final_url) if u}
    return (safe_canonical(listing) or listing) in read


def _unread_sitemaps(queue: list[tuple[str, int]], seen: set[str], kind: str, doc_rows: list[dict]) -> None:
    """The child sitemaps the limits left unread, each a ledger row, so that an index of 500 monthly sitemaps says
    which ones this source never reads (skipped: over_limit past MAX_SITEMAP_DOCS, too_deep past MAX_SITEMAP_DEPTH)
    instead of dropping them without a word."""
    from newsflow import discover

    unread = []
    for url, depth in queue:
        # a document named again (read already, or left unread above) has its row too, as in the loop that reads
        asked = urldefrag(url).url
        again = asked in seen
        seen.add(asked)
        reason = "duplicate" if again else "too_deep" if depth > discover.MAX_SITEMAP_DEPTH else "over_limit"
        doc_rows.append(staging.ledger_row(len(doc_rows), kind, url, canonical_url=safe_canonical(url),
                                           outcome="skipped", reason=reason))
        if not again:
            unread.append(url)
    if unread:
        log.warning("%d child sitemap(s) left unread: more than %d listing documents or %d levels deep", len(unread),
                    discover.MAX_SITEMAP_DOCS, discover.MAX_SITEMAP_DEPTH)


def resolve_link(base: str, link: str) -> str:
    """A listed link made absolute; a link urljoin cannot parse (bad IPv6 brackets...) is kept as listed, so it
    still gets its own ledger row (invalid_url) instead of failing the listing. Tabs and line breaks inside it are
    removed first, as the WHATWG URL parser every browser uses does, and so is the indentation around a line break:
    a <link> or <loc> a CMS wrapped over two lines was skipped as invalid_url."""
    link = _EXTRA_SLASHES.sub(r"\1//", _WRAPPED.sub("", link))
    if _NO_HOST.match(link):
        # "http://" joined to the feed's address gave the feed itself (urljoin drops an empty authority), which
        # was then fetched as an article; the WHATWG parser refuses a URL whose host is missing
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return link


_WRAPPED = re.compile(r"[ \t]*[\r\n][ \t]*|\t")
_NO_HOST = re.compile(r"\s*(?:[a-z][a-z0-9+.-]*:)?//+(?:[?#]|\s*$)", re.I)
# the WHATWG parser skips any further slashes after an http(s) scheme: "https:///host/path" is https://host/path
_EXTRA_SLASHES = re.compile(r"^(\s*https?:)/{3,}(?=[^/?#\s])", re.I)


def _archived_body(validators: dict) -> bytes | None:
    from newsflow.archive import read_response

    if not validators.get("warc_file") or validators.get("warc_offset") is None:
        return None
    try:
        return read_response(validators["warc_file"], validators["warc_offset"]).body
    except (OSError, ValueError):
        return None


def warc_file_outcome(scan) -> dict:
    """A WARC file's own ledger row: `loaded` with what it listed, or `failed` naming the first damage (its kind,
    offset, where reading resumed) with the count of records read and of damaged stretches."""
    counts = (f"records={scan.records};responses={scan.responses}" + (f";revisits={scan.revisits}" if scan.revisits else "")
              + (f";truncated={scan.truncated}" if scan.truncated else "") + (";format=arc" if scan.legacy_arc else ""))
    if not scan.damage:
        return {"outcome": "loaded", "reason": f"listed:{scan.responses + scan.revisits};{counts}"}
    first = scan.damage[0]
    resumed = f";resumed_at={first.resumed_at}" if first.resumed_at is not None else ""
    log.warning("%s: %s at offset %d (%s); %s, %d damaged stretch(es)", scan.warc_file, first.reason, first.offset,
                first.detail, counts, len(scan.damage))
    return {"outcome": "failed",
            "reason": f"{first.reason}:at={first.offset}{resumed};{counts};damaged={len(scan.damage)}"}


async def _listed_entries(job: Job, doc_rows: list[dict], robots=None) -> list:
    from newsflow import discover
    from newsflow.archive import WarcArchive
    from newsflow.encoding import decode_text

    source = job.source
    base_dir = Path(job.sources_file).parent
    if source.kind == "warc":
        scans: list = []
        try:
            entries = discover.warc_entries(source.path, base_dir=base_dir, scans=scans)
        except discover.DiscoveryError as exc:
            doc_rows.append(staging.ledger_row(0, "warc", source.path, outcome="failed", reason=exc.reason))
            return []
        for scan in scans:
            doc_rows.append(staging.ledger_row(len(doc_rows), "warc", scan.warc_file, **warc_file_outcome(scan)))
        return entries
    if source.kind == "urls" and source.urls:
        return [discover.Entry(url=u) for u in source.urls]
    if source.kind == "urls" and source.urls_file and scheme_of(source.urls_file) not in ("http", "https"):
        path = Path(source.urls_file)
        if not path.is_absolute():
            path = base_dir / path
        try:
            return discover.parse_url_list_file(decode_text(path.read_bytes()))
        except OSError as exc:
            doc_rows.append(staging.ledger_row(0, "url_list", str(path), outcome="failed",
                                               reason=f"unreadable:{exc.strerror}"))
            return []
        except discover.DiscoveryError as exc:
            doc_rows.append(staging.ledger_row(0, "url_list", str(path), outcome="failed", reason=exc.reason))
            return []
    archive_file = staging.archive_path(job.run_id, source.name)
    with WarcArchive(archive_file.with_name(archive_file.name.replace(".warc.gz", ".listing.warc.gz"))) as archive:
        return await _discover_listing(job, archive, doc_rows, robots)


def discover_source(job: Job) -> Job:
    return asyncio.run(discover_source_async(job))


async def discover_source_async(job: Job, robots=None) -> Job:
    """discover_source on a running event loop, beside other sources' (`newsflow check`), sharing their robots.txt
    answers (newsflow.fetch.SharedRobots)."""
    source = job.source
    doc_rows: list[dict] = []
    entries = await _listed_entries(job, doc_rows, robots)
    rows: list[dict] = []
    seen: dict[str, int] = {}
    # a URL an archive holds both as a page and as a redirect, an error or a damaged record is that page: the
    # others are its duplicates, not failures (only archives have such entries: a listing pays nothing for this)
    pages: set[str | None] = set()
    if any(e.failure for e in entries):
        pages = {safe_canonical(e.url) for e in entries if not e.failure} - {None}
    # an archive holding one page captured on several dates (one crawl file or several) is that page's latest
    # capture: the others are its duplicates, whatever the order of the files and records. Listing order would make
    # the text stored depend on file names, and on whether the files came in one run or one after another (a
    # later run never replaces the newer text stored with an older one: superseded)
    latest: dict[str, int] = {}
    if source.kind == "warc":
        newest: dict[str, object] = {}
        for seq, entry in enumerate(entries):
            canonical = None if entry.failure else safe_canonical(entry.url)
            when = parse_iso(entry.warc_date)
            if canonical is None or when is None:
                continue
            if canonical not in newest or when > newest[canonical]:
                newest[canonical], latest[canonical] = when, seq
    for seq, entry in enumerate(entries):
        row = staging.ledger_row(
            seq, "article", entry.url, hint_date=entry.date, hint_title=entry.title,
            warc_file=entry.warc_file, warc_offset=entry.warc_offset, warc_date=entry.warc_date,
            final_url=entry.target,
        )
        if entry.failure:
            if safe_canonical(entry.url) in pages:
                row.update(outcome="skipped", reason="duplicate")
            else:
                row.update(outcome=entry.outcome, reason=entry.failure)
            rows.append(row)
            continue
        # a click-through redirector's link (Google Alerts') is the page it names: keyed and fetched there
        canonical = safe_canonical(source.kind != "warc" and redirect_target(entry.url) or entry.url)
        if canonical is None:
            row.update(outcome="skipped", reason=url_problem(entry.url))
            rows.append(row)
            continue
        row.update(canonical_url=canonical, article_id=article_id(canonical))
        if canonical in seen or latest.get(canonical, seq) != seq:
            row.update(outcome="skipped", reason="duplicate")
        else:
            seen[canonical] = seq
        rows.append(row)
    staging.write(doc_rows + rows, staging.LEDGER, job.staging / staging.DISCOVER_LEDGER_FILE)
    counts = Counter(r["outcome"] or "pending" for r in rows)
    log.info("%s: discovered %d URL(s) (%s); %d listing document(s)", source.name, len(rows), dict(counts),
             len(doc_rows))
    return job.with_summary(discovered=len(rows), documents=len(doc_rows), pending=counts.get("pending", 0))
