"""The fetch and extract stages: pending article URLs are fetched politely and archived to WARC, and each archived
page goes straight to the extraction workers, so fetching (network, one core) overlaps extraction (every core).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from newsflow import staging
from newsflow.stages.extraction_pool import (
    SERIAL_EXTRACTION_BELOW,
    ExtractionStream,
    run_extraction,
    worker_count,
)
from newsflow.stages.http import archiver, fetch_fields, host_gate_dir, http_cache, parse_iso, safe_canonical
from newsflow.stages.job import Job, peak_rss_mb
from newsflow.stages.revisit import asked_in_vain, skip_not_due
from newsflow.urls import article_id, redirect_target

log = logging.getLogger(__name__)


# fetch_extract's execution_timeout is 2 h (ingest_dag). A site's robots.txt Crawl-delay paces its requests (2 s:
# 1,800 an hour), and under `max_articles` (5,000) the task hit its limit at every run, each retry starting over on
# the same newest pages: nothing loaded, ever. Requests start for this long; the URLs left are
# `skipped: out_of_time`, and the next run asks for them (the ones fetched are known by then). The half hour left is
# for the extraction still queued, validation and the staging files.
FETCH_TIME_BUDGET_S = 90 * 60


async def _fetch_all(pending: list[dict], settings, archive, cache: dict, on_fetched=None) -> None:
    """Fetch every pending article concurrently; `on_fetched(row)` sees each page as soon as it is archived."""
    from newsflow.fetch import Fetcher

    done = 0
    started = time.monotonic()

    async with Fetcher(settings, on_response=archiver(archive), host_gate_dir=host_gate_dir(),
                       stop_at=started + FETCH_TIME_BUDGET_S) as fetcher:

        async def one(row: dict) -> None:
            nonlocal done
            validators = cache.get(row["canonical_url"], {})
            # a click-through redirector's link is asked where it points (its canonical URL is the target's)
            result = await fetcher.get(
                redirect_target(row["url"]) or row["url"], etag=validators.get("etag"),
                last_modified=validators.get("last_modified"),
                previous_sha1=validators.get("content_sha1"), validated_url=validators.get("final_url"),
            )
            row.update(fetch_fields(result))
            if result.outcome == "not_modified":
                row.update(outcome="unchanged", reason=result.reason)
                _land(row)
            elif result.outcome in ("failed", "skipped"):
                row.update(outcome=result.outcome, reason=result.reason)
            else:
                _land(row)
                if on_fetched is not None:
                    on_fetched(row)
            done += 1
            if done % 100 == 0:
                log.info("fetched %d/%d (%.1f pages/s)", done, len(pending), done / (time.monotonic() - started))

        await asyncio.gather(*(one(row) for row in pending))


def landing(row: dict) -> tuple[str, str] | None:
    """Where a listed link's page was fetched when that was not the link itself (its redirects, HTTP or a refresh
    shell, ended elsewhere; or it was a click-through redirector's link, asked at its target): (that URL, its
    canonical form); None when it stayed put."""
    final = row.get("final_url")
    if not final or final == row["url"]:
        return None
    canonical = safe_canonical(final)
    return None if canonical is None else (final, canonical)


def _land(row: dict) -> None:
    """The article is the page a link landed on, not the link: a feed's click-tracker that redirects, an http://
    link moved to https://, a short link, an old address. The ledger row keeps the URL as listed (and its canonical form,
    the key of its validators), and takes the id of the landing page, so fetch_log names the article it gave and
    the load remembers the link as that article's alias (sql/loads/11_article_aliases.sql)."""
    landed = landing(row)
    if landed is not None and landed[1] != row["canonical_url"]:
        row["article_id"] = article_id(landed[1])


def _fetch_rows(job: Job, rows: list[dict], on_fetched=None, answered: dict | None = None) -> None:
    """The fetch stage on the ledger rows (updated in place): pending article URLs fetched and archived. The
    validators an earlier execution of this run stored (a page it was answered in full, `answered`) are not sent:
    that execution sent none for it, or older ones the page no longer matched. A page it found `unchanged` (the same
    bytes, or a server that ignores If-None-Match) keeps them: they are the ones it sent, and asked without them the
    page is read and judged again (a page rejected before, rejected anew in the run's ledger and rejections)."""
    from newsflow.archive import WarcArchive

    pending = [r for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    if job.source.kind == "warc":
        # pages come from the archive given: nothing to fetch, the WARC-Date is the fetch time
        now = datetime.now(UTC)
        for row in pending:
            # a crawler's clock set years ahead would make its pages newer than every later capture (each of them
            # `superseded`): a fetch time is never later than now
            row["fetched_at"] = min(parse_iso(row["warc_date"]) or now, now)
            row["http_status"] = 200
            if on_fetched is not None:
                on_fetched(row)
        return
    if pending:
        cache = http_cache([r["canonical_url"] for r in pending], job.warehouse)
        for url, (outcome, _, status) in (answered or {}).items():
            if status is not None and 200 <= status < 300 and outcome != "unchanged":
                cache.pop(url, None)
        with WarcArchive(staging.archive_path(job.run_id, job.name)) as archive:
            asyncio.run(_fetch_all(pending, job.settings, archive, cache, on_fetched))


def _skip_not_due(job: Job, rows: list[dict]) -> dict:
    """A known article is fetched again only when its revisit is due; the others cost no request. Decided before
    anything counts the pages to fetch, so a run with a few due pages among many known ones extracts serially.
    Returns what an earlier execution of this run answered (revisit.answered_in_this_run), for the fetch."""
    if job.source.kind == "warc":  # pages of a WARC source come from the archive given, never the network
        return {}
    return skip_not_due(job, [r for r in rows if r["url_kind"] == "article" and r["outcome"] is None])


def listed_at(hint: str | None) -> datetime | None:
    """When the listing says an entry was published: ISO 8601 (sitemaps, Atom, JSON Feed) or RFC 822 (RSS pubDate,
    "Tue, 20 Nov 2026 10:00:00 GMT"). Read as ISO only, every RSS item was undated, and an oldest-first feed over
    max_articles fetched its oldest items and left the newest for later."""
    if parsed := parse_iso(hint):
        return parsed
    try:
        parsed = parsedate_to_datetime(hint or "")
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cap_articles(job: Job, rows: list[dict]) -> None:
    """`max_articles`: how many article pages one run of the source fetches. Counted after the revisit check, so
    known articles that are not due take no share and a listing longer than the cap is worked through over the
    next runs, the newest listed first (the listing's own date, then listing order), except URLs asked in vain
    (revisit.asked_in_vain: two earlier runs or more asked, none loaded), which go after all the others. The rest
    are `skipped: over_limit` this time. A rejected or failed page is asked again at every run: first in line, a
    few that never pass (a live blog, a video page, a dead link) took the whole cap at every run and the rest of
    the listing was never fetched. Without a cap, a first run on a 50,000-URL sitemap at one
    request a second would outrun fetch_extract's 2-hour limit in every run and never load anything. A WARC source
    makes no request: only its own max_articles caps it, so an archive is imported whole."""
    if job.source.kind == "warc":
        limit = job.source.max_articles
    else:
        limit = job.source.max_articles or job.settings.max_articles
    pending = [r for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    if limit is None or len(pending) <= limit:
        return
    in_vain = asked_in_vain(job, [r["canonical_url"] for r in pending])
    undated = datetime.min.replace(tzinfo=UTC)
    newest = sorted(pending, key=lambda r: listed_at(r["hint_date"]) or undated, reverse=True)  # stable: ties keep order
    ordered = sorted(newest, key=lambda r: r["canonical_url"] in in_vain)  # stable: each part stays newest first
    for row in ordered[limit:]:
        row.update(outcome="skipped", reason="over_limit")
    log.info("%s: %d article(s) to fetch, %d left for the next runs (max_articles %d)", job.name, limit,
             len(pending) - limit, limit)


def _fetch_counts(rows: list[dict]) -> Counter:
    return Counter(r["outcome"] or "fetched" for r in rows if r["url_kind"] == "article")


def fetch_source(job: Job) -> Job:
    """Fetch only (the ledger for a separate extract_source); news_ingest uses fetch_extract_source."""
    rows = staging.rows(job.staging / staging.DISCOVER_LEDGER_FILE, staging.LEDGER)
    answered = _skip_not_due(job, rows)
    cap_articles(job, rows)
    _fetch_rows(job, rows, answered=answered)
    staging.write(rows, staging.LEDGER, job.staging / staging.FETCH_LEDGER_FILE)
    counts = _fetch_counts(rows)
    log.info("%s: fetch outcomes %s (peak RSS %d MB)", job.name, dict(counts), peak_rss_mb())
    return job.with_summary(fetched=counts.get("fetched", 0), fetch_outcomes=dict(counts))


def extraction_item(row: dict, job: Job) -> dict:
    """What a worker needs to extract one page: where it is archived, the listing's hints, the source's hints. The
    page's URL is where the link landed (its links, its URL date and its domain are that page's)."""
    url, canonical = landing(row) or (row["url"], row["canonical_url"])
    return {
        "seq": row["seq"], "url": url, "canonical_url": canonical, "article_id": row["article_id"],
        "warc_file": row["warc_file"], "warc_offset": row["warc_offset"], "hint_date": row["hint_date"],
        "hint_title": row["hint_title"], "hint_kind": "sitemap" if job.source.kind == "sitemap" else "feed",
        "warc_date": row["warc_date"], "fetched_at": row["fetched_at"], "http_status": row["http_status"],
        "source": job.name, "language_hint": job.source.language, "timezone": job.timezone,
        "time_limit_s": job.settings.extract_time_limit_s,
    }


class ArticleSink:
    """Extraction results to articles.parquet (500 rows at a time); a page that failed marks its ledger row."""

    def __init__(self, folder: Path, rows: list[dict], source: str, expected: int):
        self._by_seq = {r["seq"]: r for r in rows if r["url_kind"] == "article"}
        self._writer = staging.BatchWriter(folder / staging.ARTICLES_FILE, staging.ARTICLE)
        self.source, self.expected = source, expected
        self.done = self.extracted = 0
        self.started = time.monotonic()

    def __enter__(self) -> ArticleSink:
        return self

    def __exit__(self, *exc) -> None:
        self._writer.__exit__(*exc)

    def add_all(self, results) -> None:
        for result in results:
            self.done += 1
            if result["error"]:
                self._by_seq[result["seq"]].update(outcome="failed", reason=result["error"])
            else:
                self._writer.add(result["record"])
                self.extracted += 1
            if self.done % 500 == 0:
                log.info("%s: extracted %d/%d (%.1f pages/s)", self.source, self.done, self.expected,
                         self.done / (time.monotonic() - self.started))

    def summary(self) -> dict:
        log.info("%s: extracted %d page(s) in %.1fs, %d failed (peak RSS %d MB)", self.source, self.extracted,
                 time.monotonic() - self.started, self.done - self.extracted, peak_rss_mb())
        return {"extracted": self.extracted, "extract_failed": self.done - self.extracted}


def extract_source(job: Job) -> Job:
    """Extract every fetched page of the ledger (news_reprocess, or after a separate fetch_source)."""
    rows = staging.rows(job.staging / staging.FETCH_LEDGER_FILE, staging.LEDGER)
    items = [extraction_item(r, job) for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    with ArticleSink(job.staging, rows, job.name, len(items)) as sink:
        sink.add_all(run_extraction(items, worker_count(job.settings)))
    staging.write(rows, staging.LEDGER, job.staging / staging.EXTRACT_LEDGER_FILE)
    return job.with_summary(**sink.summary())


def fetch_extract_source(job: Job) -> Job:
    """Fetch and extract in one stage: each page goes to the extraction workers as soon as it is archived."""
    rows = staging.rows(job.staging / staging.DISCOVER_LEDGER_FILE, staging.LEDGER)
    answered = _skip_not_due(job, rows)
    cap_articles(job, rows)
    pending = sum(1 for r in rows if r["url_kind"] == "article" and r["outcome"] is None)
    with ArticleSink(job.staging, rows, job.name, pending) as sink, \
            ExtractionStream(worker_count(job.settings), serial=pending < SERIAL_EXTRACTION_BELOW) as stream:
        _fetch_rows(job, rows, on_fetched=lambda row: sink.add_all(stream.submit(extraction_item(row, job))),
                    answered=answered)
        counts = _fetch_counts(rows)
        log.info("%s: fetch outcomes %s (peak RSS %d MB)", job.name, dict(counts), peak_rss_mb())
        sink.add_all(stream.finish())
    staging.write(rows, staging.LEDGER, job.staging / staging.EXTRACT_LEDGER_FILE)
    return job.with_summary(fetched=counts.get("fetched", 0), fetch_outcomes=dict(counts), **sink.summary())
