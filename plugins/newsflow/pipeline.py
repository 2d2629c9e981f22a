"""The stages of one news_ingest run, as plain functions the DAG's tasks call: plan, discover, fetch, extract,
validate, load, account. Each reads and writes Parquet in the run's staging folder and returns a small summary.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from newsflow import staging
from newsflow.config import SourcesFile, data_dir, load_sources
from newsflow.titles import clean_title, common_affixes
from newsflow.urls import BadURL, article_id, canonicalize, scheme_of

log = logging.getLogger(__name__)

OUTCOMES = ("loaded", "unchanged", "rejected", "failed", "skipped")
SERIAL_EXTRACTION_BELOW = 40  # starting worker processes costs more than extracting a handful of pages


def peak_rss_mb() -> int:
    """This process's peak memory so far: logged after each stage, so growth can be traced to a stage."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class AccountingError(RuntimeError):
    """Some discovered URL has no recorded outcome: the run must fail loudly."""


# -- plan ------------------------------------------------------------------------------------------------------
def resolve_sources_file(sources_file: str) -> str:
    """A relative path is looked up from the working directory, then from the project root (where the DAG's
    default `config/sources.yaml` lives), since workers do not all start in the same folder."""
    from newsflow.config import project_root

    path = Path(sources_file)
    if not path.is_absolute() and not path.exists() and (project_root() / path).exists():
        path = project_root() / path
    return str(path.resolve())


def plan_run(sources_file: str, source_filter: list[str] | str | None, run_id: str,
             warehouse: str | None = None) -> list[dict]:
    """The run's jobs, one per source. The warehouse (lake location) is decided here, once, and travels in every
    job: the default ($NEWSFLOW_WAREHOUSE or <data dir>/warehouse) is read at this boundary only."""
    from newsflow.config import warehouse_location

    warehouse = warehouse_location(warehouse)
    sources_file = resolve_sources_file(sources_file)
    config = load_sources(sources_file)
    if isinstance(source_filter, str):
        source_filter = [s.strip() for s in source_filter.split(",") if s.strip()]
    names = config.selected(source_filter or None)
    jobs = []
    for name in names:
        folder = staging.source_dir(run_id, name)
        jobs.append({"run_id": run_id, "source": name, "sources_file": str(Path(sources_file).resolve()), "staging": str(folder),
                     "warehouse": warehouse})
    log.info("run %s: %d source(s): %s", run_id, len(jobs), ", ".join(names))
    return jobs


def _config(job: dict) -> SourcesFile:
    return load_sources(job["sources_file"])


def _http_cache(urls: list[str], warehouse: str | None) -> dict[str, dict]:
    """Validators from earlier runs for conditional requests (empty on a new warehouse)."""
    from newsflow.warehouse import connect, exists

    if not urls or not exists(warehouse):
        return {}
    con = connect(warehouse, read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if "http_cache" not in tables:
            return {}
        # one list parameter: executemany inserted the URLs one statement each (0.27 s per 2,000 URLs)
        rows = con.execute(
            "select canonical_url, etag, last_modified, content_sha1, warc_file, warc_offset from http_cache "
            "where canonical_url in (select unnest(?::varchar[]))",
            [[u for u in urls if u]],
        ).fetchall()
    finally:
        con.close()
    keys = ("etag", "last_modified", "content_sha1", "warc_file", "warc_offset")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def _ledger_row(seq: int, url_kind: str, url: str, **fields) -> dict:
    row = dict.fromkeys(staging.LEDGER.names)
    row.update(seq=seq, url_kind=url_kind, url=url, **fields)
    return row


def _fetch_fields(result) -> dict:
    return {
        "http_status": result.status,
        "bytes": result.bytes,
        "duration_ms": result.duration_ms,
        "tries": result.tries,
        "fetched_at": result.fetched_at,
        "final_url": result.final_url,
        "content_type": result.content_type,
        "etag": result.etag,
        "last_modified": result.last_modified,
        "content_sha1": result.content_sha1,
        "warc_file": result.warc_file,
        "warc_offset": result.warc_offset,
    }


def host_gate_dir() -> Path:
    """Where every fetch task on this machine shares its per-host limits (newsflow.host_gate)."""
    return data_dir() / "host_gate"


# -- discover --------------------------------------------------------------------------------------------------
async def _discover_listing(source, settings, archive, doc_rows: list[dict], warehouse: str | None = None) -> list:
    """Fetch a feed, sitemap (with nested index) or remote URL list; every document fetched gets a ledger row."""
    from newsflow import discover
    from newsflow.fetch import Fetcher

    kind = {"feed": "feed", "sitemap": "sitemap", "urls": "urls"}[source.kind]
    start_url = source.url if source.kind != "urls" else source.urls_file
    entries: list = []
    cache = _http_cache([_safe_canonical(start_url)], warehouse)
    async with Fetcher(settings, on_response=_archiver(archive), host_gate_dir=host_gate_dir()) as fetcher:
        queue = [(start_url, 0)]
        seen = set()
        while queue and len(seen) < discover.MAX_SITEMAP_DOCS:
            url, depth = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            canonical = _safe_canonical(url)
            validators = cache.get(canonical or "", {}) if depth == 0 else {}
            result = await fetcher.get(
                url, kind=kind, etag=validators.get("etag"), last_modified=validators.get("last_modified"),
                previous_sha1=validators.get("content_sha1"),
            )
            row = _ledger_row(len(doc_rows), kind if kind != "urls" else "url_list", url, canonical_url=canonical, **_fetch_fields(result))
            doc_rows.append(row)
            body = result.body
            if result.outcome == "not_modified":
                # the listing is unchanged, but its entries are still re-checked (conditionally) so that an
                # article that failed last time is retried: read the listing back from the archive
                row.update(outcome="unchanged", reason=result.reason)
                body = body or _archived_body(validators)
                if body is None:
                    result = await fetcher.get(url, kind=kind)
                    row.update(_fetch_fields(result), outcome=None, reason=None)
                    body = result.body
            if result.outcome not in ("ok", "not_modified"):
                row.update(outcome=result.outcome, reason=result.reason)
                continue
            try:
                if source.kind == "feed":
                    found = discover.parse_feed(body)
                elif source.kind == "sitemap":
                    found, children = discover.parse_sitemap(body)
                    if depth < discover.MAX_SITEMAP_DEPTH:
                        queue.extend((urljoin(url, child), depth + 1) for child in children)
                else:
                    found = discover.parse_url_list(body.decode("utf-8", errors="replace"))
            except discover.DiscoveryError as exc:
                row.update(outcome="failed", reason=exc.reason)
                continue
            for entry in found:
                entry.url = urljoin(result.final_url, entry.url)
            if row["outcome"] is None:
                row.update(outcome="loaded", reason=f"listed:{len(found)}")
            entries.extend(found)
    return entries


def _archived_body(validators: dict) -> bytes | None:
    from newsflow.archive import read_response

    if not validators.get("warc_file") or validators.get("warc_offset") is None:
        return None
    try:
        return read_response(validators["warc_file"], validators["warc_offset"]).body
    except (OSError, ValueError):
        return None


def _safe_canonical(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return canonicalize(url)
    except BadURL:
        return None


def _archiver(archive):
    def write(result) -> None:
        if archive is None or result.body is None:
            return
        result.warc_file = str(archive.path)
        result.warc_offset = archive.write_exchange(
            result.final_url, "GET", result.request_headers, result.status or 0, result.reason_phrase,
            result.headers, result.body, decoded_from=result.decoded_from, peer_ip=result.peer_ip,
        )

    return write


def discover_source(job: dict) -> dict:
    from newsflow import discover
    from newsflow.archive import WarcArchive

    config = _config(job)
    source = config.source(job["source"])
    settings = config.settings
    folder = Path(job["staging"])
    doc_rows: list[dict] = []
    archive_file = staging.archive_path(job["run_id"], source.name)
    if source.kind == "warc":
        try:
            entries = discover.warc_entries(source.path, base_dir=Path(job["sources_file"]).parent)
        except discover.DiscoveryError as exc:
            doc_rows.append(_ledger_row(0, "warc", source.path, outcome="failed", reason=exc.reason))
            entries = []
    elif source.kind == "urls" and source.urls:
        entries = [discover.Entry(url=u) for u in source.urls]
    elif source.kind == "urls" and source.urls_file and scheme_of(source.urls_file) not in ("http", "https"):
        path = Path(source.urls_file)
        if not path.is_absolute():
            path = Path(job["sources_file"]).parent / path
        try:
            entries = discover.parse_url_list(path.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            doc_rows.append(_ledger_row(0, "url_list", str(path), outcome="failed", reason=f"unreadable:{exc.strerror}"))
            entries = []
    else:
        with WarcArchive(archive_file.with_name(archive_file.name.replace(".warc.gz", ".listing.warc.gz"))) as archive:
            entries = asyncio.run(_discover_listing(source, settings, archive, doc_rows, job.get("warehouse")))

    limit = source.max_articles or settings.max_articles
    rows: list[dict] = []
    seen: dict[str, int] = {}
    kept = 0
    for seq, entry in enumerate(entries):
        row = _ledger_row(
            seq, "article", entry.url, hint_date=entry.date, hint_title=entry.title,
            warc_file=entry.warc_file, warc_offset=entry.warc_offset, warc_date=entry.warc_date,
        )
        try:
            canonical = canonicalize(entry.url)
        except BadURL as exc:
            row.update(outcome="skipped", reason="bad_scheme" if "scheme" in str(exc) else "invalid_url")
            rows.append(row)
            continue
        row.update(canonical_url=canonical, article_id=article_id(canonical))
        if canonical in seen:
            row.update(outcome="skipped", reason="duplicate")
        elif limit is not None and kept >= limit:
            row.update(outcome="skipped", reason="over_limit")
        else:
            seen[canonical] = seq
            kept += 1
        rows.append(row)
    staging.write(doc_rows + rows, staging.LEDGER, folder / "ledger.discover.parquet")
    counts = Counter(r["outcome"] or "pending" for r in rows)
    log.info("%s: discovered %d URL(s) (%s); %d listing document(s)", source.name, len(rows), dict(counts), len(doc_rows))
    return {**job, "discovered": len(rows), "documents": len(doc_rows), "pending": counts.get("pending", 0)}


# -- fetch ----------------------------------------------------------------------------------------------------
async def _fetch_all(pending: list[dict], settings, archive, cache: dict, on_fetched=None) -> None:
    """Fetch every pending article concurrently; `on_fetched(row)` sees each page as soon as it is archived."""
    from newsflow.fetch import Fetcher

    done = 0
    started = time.monotonic()

    async with Fetcher(settings, on_response=_archiver(archive), host_gate_dir=host_gate_dir()) as fetcher:

        async def one(row: dict) -> None:
            nonlocal done
            validators = cache.get(row["canonical_url"], {})
            result = await fetcher.get(
                row["url"], etag=validators.get("etag"), last_modified=validators.get("last_modified"),
                previous_sha1=validators.get("content_sha1"),
            )
            row.update(_fetch_fields(result))
            if result.outcome == "not_modified":
                row.update(outcome="unchanged", reason=result.reason)
            elif result.outcome in ("failed", "skipped"):
                row.update(outcome=result.outcome, reason=result.reason)
            elif on_fetched is not None:
                on_fetched(row)
            done += 1
            if done % 100 == 0:
                log.info("fetched %d/%d (%.1f pages/s)", done, len(pending), done / (time.monotonic() - started))

        await asyncio.gather(*(one(row) for row in pending))


def _fetch_rows(job: dict, config: SourcesFile, source, rows: list[dict], on_fetched=None) -> None:
    """The fetch stage on the ledger rows (updated in place): pending article URLs fetched and archived."""
    from newsflow.archive import WarcArchive

    pending = [r for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    if source.kind == "warc":
        # pages come from the archive given: nothing to fetch, the WARC-Date is the fetch time
        for row in pending:
            row["fetched_at"] = _parse_iso(row["warc_date"]) or datetime.now(UTC)
            row["http_status"] = 200
            if on_fetched is not None:
                on_fetched(row)
    elif pending:
        cache = _http_cache([r["canonical_url"] for r in pending], job.get("warehouse"))
        with WarcArchive(staging.archive_path(job["run_id"], source.name)) as archive:
            asyncio.run(_fetch_all(pending, config.settings, archive, cache, on_fetched))


def _fetch_counts(rows: list[dict]) -> Counter:
    return Counter(r["outcome"] or "fetched" for r in rows if r["url_kind"] == "article")


def fetch_source(job: dict) -> dict:
    """Fetch only (the ledger for a separate extract_source); news_ingest uses fetch_extract_source."""
    config = _config(job)
    source = config.source(job["source"])
    folder = Path(job["staging"])
    rows = staging.rows(folder / "ledger.discover.parquet", staging.LEDGER)
    _fetch_rows(job, config, source, rows)
    staging.write(rows, staging.LEDGER, folder / "ledger.fetch.parquet")
    counts = _fetch_counts(rows)
    log.info("%s: fetch outcomes %s (peak RSS %d MB)", source.name, dict(counts), peak_rss_mb())
    return {**job, "fetched": counts.get("fetched", 0), "fetch_outcomes": dict(counts)}


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- extract ---------------------------------------------------------------------------------------------------
def _worker_count(settings) -> int:
    return settings.extract_workers or os.cpu_count() or 1


class ExtractionStream:
    """Pages in as they become available (archived), extraction results out as workers finish them.

    With several workers, pages go to a spawned process pool in batches of `chunk`; results of finished batches
    are handed back by `submit` and `finish`, so they are written out as the run goes and memory stays flat.
    With one worker (or `serial`), pages are extracted in this process when `finish` is called.
    A page that kills its worker process (a crash in a C extension, the kernel's OOM killer) breaks the pool:
    the unfinished pages are then redone one at a time, the killer is recorded as `extract_crashed`, and the
    stream goes on with a new pool.
    """

    def __init__(self, workers: int, *, serial: bool = False, chunk: int = 16, work=None):
        self.workers, self.chunk = workers, chunk
        self.serial = serial or workers <= 1
        self._work = work or _extract_batch
        self._batch: list[dict] = []
        self._queued: list[dict] = []
        self._batches: dict = {}  # in-flight future -> its pages, to redo them if the pool breaks
        self._finished: deque = deque()
        self._pool = None
        self.crashed = 0

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        import multiprocessing

        # spawn: a forked copy of an Airflow task process (threads, sockets, DB handles) is not safe to run in
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def __enter__(self) -> ExtractionStream:
        # the pool starts with the first batch: a run whose pages all come back unchanged (304 or same content)
        # spawns no worker processes, resource tracker or queues
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, item: dict) -> list[dict]:
        """Queue one page; returns the results that are ready by now (possibly none)."""
        if self.serial:
            self._queued.append(item)
            return []
        self._batch.append(item)
        if len(self._batch) >= self.chunk:
            self._send()
        return self._ready()

    def _send(self) -> None:
        if not self._batch:
            return
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        future = self._pool.submit(self._work, self._batch)
        self._batches[future] = self._batch
        # the pool's own thread runs this callback: a deque append is safe across threads
        future.add_done_callback(self._finished.append)
        self._batch = []

    def _ready(self) -> list[dict]:
        from concurrent.futures.process import BrokenProcessPool

        results: list[dict] = []
        while self._finished:
            future = self._finished.popleft()
            if future not in self._batches:
                continue
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                return results + self._recover()
            del self._batches[future]
        return results

    def _recover(self) -> list[dict]:
        from concurrent.futures import wait
        from concurrent.futures.process import BrokenProcessPool

        wait(list(self._batches))  # a broken pool fails every pending future at once
        results: list[dict] = []
        redo: list[dict] = []
        for future, batch in self._batches.items():
            try:
                results.extend(future.result())
            except BrokenProcessPool:
                redo.extend(batch)
        self._batches.clear()
        self._finished.clear()
        self._pool.shutdown(wait=True)
        log.warning("an extraction worker died; redoing %d page(s) one at a time to find the cause", len(redo))
        single = self._new_pool(1)
        try:
            for item in redo:
                try:
                    results.extend(single.submit(self._work, [item]).result())
                except BrokenProcessPool:
                    self.crashed += 1
                    log.error("extraction of %s killed its worker process; recorded as extract_crashed", item.get("url"))
                    results.append({"seq": item["seq"], "error": "extract_crashed", "record": None})
                    single.shutdown(wait=True)
                    single = self._new_pool(1)
        finally:
            single.shutdown(wait=True)
        self._pool = self._new_pool(self.workers)
        return results

    def finish(self):
        """Every remaining result, as batches complete."""
        from concurrent.futures import FIRST_COMPLETED, wait

        if self.serial:
            queued, self._queued = self._queued, []
            if queued:  # the extractor's imports are for pages that need extracting, not for unchanged ones
                from newsflow.extract import extract_item

                yield from (extract_item(item) for item in queued)
            return
        self._send()
        yield from self._ready()
        while self._batches:
            done, _ = wait(list(self._batches), return_when=FIRST_COMPLETED)
            # the done-callbacks may not have run yet; _ready skips a future it has already handled
            self._finished.extend(done)
            yield from self._ready()


def run_extraction(items: list[dict], workers: int, chunk: int = 16):
    """Yield extraction results of `items` from `workers` processes (workers read the pages from the WARC)."""
    with ExtractionStream(workers, serial=len(items) < SERIAL_EXTRACTION_BELOW, chunk=chunk) as stream:
        for item in items:
            yield from stream.submit(item)
        yield from stream.finish()


def _extract_batch(items: list[dict]) -> list[dict]:
    from newsflow.extract import extract_item

    return [extract_item(item) for item in items]


def _extraction_item(row: dict, source, config: SourcesFile) -> dict:
    return {
        "seq": row["seq"], "url": row["url"], "canonical_url": row["canonical_url"], "article_id": row["article_id"],
        "warc_file": row["warc_file"], "warc_offset": row["warc_offset"], "hint_date": row["hint_date"],
        "hint_title": row["hint_title"], "hint_kind": "sitemap" if source.kind == "sitemap" else "feed",
        "warc_date": row["warc_date"], "fetched_at": row["fetched_at"], "http_status": row["http_status"],
        "source": source.name, "language_hint": source.language,
        "timezone": source.timezone or config.settings.timezone,
    }


class _ArticleSink:
    """Extraction results to articles.parquet (500 rows at a time); a page that failed marks its ledger row."""

    def __init__(self, folder: Path, rows: list[dict], source: str, expected: int):
        self._by_seq = {r["seq"]: r for r in rows if r["url_kind"] == "article"}
        self._writer = staging.BatchWriter(folder / "articles.parquet", staging.ARTICLE)
        self.source, self.expected = source, expected
        self.done = self.extracted = 0
        self.started = time.monotonic()

    def __enter__(self) -> _ArticleSink:
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


def extract_source(job: dict) -> dict:
    """Extract every fetched page of the ledger (news_reprocess, or after a separate fetch_source)."""
    config = _config(job)
    source = config.source(job["source"])
    folder = Path(job["staging"])
    rows = staging.rows(folder / "ledger.fetch.parquet", staging.LEDGER)
    items = [_extraction_item(r, source, config) for r in rows if r["url_kind"] == "article" and r["outcome"] is None]
    if len(items) >= SERIAL_EXTRACTION_BELOW:
        from newsflow.quality import prewarm_in_background

        prewarm_in_background()  # this process only waits on its workers from here on
    with _ArticleSink(folder, rows, source.name, len(items)) as sink:
        sink.add_all(run_extraction(items, _worker_count(config.settings)))
    staging.write(rows, staging.LEDGER, folder / "ledger.extract.parquet")
    return {**job, **sink.summary()}


def fetch_extract_source(job: dict) -> dict:
    """Fetch and extract in one stage: each page goes to the extraction workers as soon as it is archived, so
    fetching (one core, mostly waiting on the network) overlaps extraction (every core)."""
    config = _config(job)
    source = config.source(job["source"])
    folder = Path(job["staging"])
    rows = staging.rows(folder / "ledger.discover.parquet", staging.LEDGER)
    pending = sum(1 for r in rows if r["url_kind"] == "article" and r["outcome"] is None)
    workers = _worker_count(config.settings)
    with _ArticleSink(folder, rows, source.name, pending) as sink, \
            ExtractionStream(workers, serial=pending < SERIAL_EXTRACTION_BELOW) as stream:
        _fetch_rows(job, config, source, rows,
                    on_fetched=lambda row: sink.add_all(stream.submit(_extraction_item(row, source, config))))
        counts = _fetch_counts(rows)
        log.info("%s: fetch outcomes %s (peak RSS %d MB)", source.name, dict(counts), peak_rss_mb())
        if counts.get("fetched"):
            # this process now only waits on the workers: validation's imports can happen meanwhile
            from newsflow.quality import prewarm_in_background

            prewarm_in_background()
        sink.add_all(stream.finish())
    staging.write(rows, staging.LEDGER, folder / "ledger.extract.parquet")
    return {**job, "fetched": counts.get("fetched", 0), "fetch_outcomes": dict(counts), **sink.summary()}


# -- validate --------------------------------------------------------------------------------------------------
VALIDATION_BATCH_ROWS = 2000


def _source_title_affixes(path: Path) -> list[str]:
    """A site name no metadata declared still shows as the segment most of a source's titles share."""
    import pyarrow.parquet as pq

    if not path.exists():
        return []
    titles = [t for t in pq.read_table(path, columns=["title"]).column("title").to_pylist() if t]
    return common_affixes(titles) if len(titles) >= 3 else []


def validate_source(job: dict) -> dict:
    """Great Expectations over the extracted records, in batches (flat memory); results summed per expectation."""
    from newsflow.quality import ArticleValidator, merge_results

    config = _config(job)
    folder = Path(job["staging"])
    rows = staging.rows(folder / "ledger.extract.parquet", staging.LEDGER)
    by_seq = {r["seq"]: r for r in rows if r["url_kind"] == "article"}
    results: list[dict] = []
    site_affixes = _source_title_affixes(folder / "articles.parquet")
    validator = ArticleValidator(
        source=job["source"],
        known_sources=[s.name for s in config.sources],
        min_body_chars=config.settings.min_body_chars,
        max_body_chars=config.settings.max_body_chars,
    )
    with staging.BatchWriter(folder / "valid.parquet", staging.ARTICLE) as valid, \
            staging.BatchWriter(folder / "rejected.parquet", staging.REJECTED) as rejected:
        for records in staging.iter_rows(folder / "articles.parquet", staging.ARTICLE, VALIDATION_BATCH_ROWS):
            if site_affixes:
                for record in records:
                    record["title"] = clean_title(record["title"], site_names=site_affixes)
            outcome = validator.validate(records)
            for record in outcome.valid:
                valid.add(record)
            for record in outcome.rejected:
                rejected.add(record)
                by_seq[record["seq"]].update(outcome="rejected", reason=";".join(record["reasons"]))
            results.append(outcome.results)
    staging.write(merge_results(results), staging.VALIDATION, folder / "validation.parquet")
    staging.write(rows, staging.LEDGER, folder / "ledger.validate.parquet")
    log.info("%s: %d valid, %d rejected (peak RSS %d MB)", job["source"], valid.count, rejected.count, peak_rss_mb())
    return {**job, "valid": valid.count, "rejected": rejected.count}


# -- load ------------------------------------------------------------------------------------------------------
def load_run(jobs: list[dict], *, run_id: str, dag_id: str, started_at: datetime | None = None) -> dict:
    """Everything the run produced, in one transaction: a failure leaves the warehouse as it was, and readers see
    the lake before or after it, never between. The time spent getting the lake (attach + migrations) is the
    load's wait on the warehouse: recorded in the summary, as readers must never make it grow."""
    from newsflow.config import sql_dir
    from newsflow.extract import extractor_version
    from newsflow.warehouse import open_for_write, run_sql_file

    jobs = [j for j in jobs if j]
    if not jobs:
        raise ValueError("nothing to load: the run has no source jobs")
    warehouse = jobs[0].get("warehouse")
    now = datetime.now(UTC)

    def files(name: str, schema) -> list[str]:
        paths = [Path(job["staging"]) / name for job in jobs]
        for path in paths:
            if not path.exists():  # a stage that had nothing to say still leaves a typed, empty file
                staging.write([], schema, path)
        return [str(p) for p in paths]

    params = {
        "run_id": run_id,
        "now": now,
        "sources": [j["source"] for j in jobs],
        "valid_files": files("valid.parquet", staging.ARTICLE),
        "ledger_files": files("ledger.validate.parquet", staging.LEDGER),
        "rejected_files": files("rejected.parquet", staging.REJECTED),
        "validation_files": files("validation.parquet", staging.VALIDATION),
    }
    config = load_sources(jobs[0]["sources_file"])

    opening = time.monotonic()
    con = open_for_write(warehouse)
    wait_s = time.monotonic() - opening
    try:
        writing = time.monotonic()
        con.execute("begin transaction")
        try:
            for path in sorted((sql_dir() / "loads").glob("*.sql")):
                run_sql_file(con, path, params)
            _upsert_sources(con, config, [j["source"] for j in jobs], run_id, now)
            counts = dict(
                con.execute(
                    "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by outcome",
                    [run_id],
                ).fetchall()
            )
            con.execute(
                """
                merge into runs
                using (
                    select $run_id as run_id, $dag_id as dag_id, $started as started_at, $now as loaded_at,
                           $file as sources_file, $sources as sources, $discovered as discovered, $loaded as loaded,
                           $unchanged as unchanged, $rejected as rejected, $failed as failed, $skipped as skipped,
                           $version as extractor_version, $wait_s as warehouse_wait_s
                ) as run
                on runs.run_id = run.run_id
                when matched then update set
                    loaded_at = run.loaded_at, status = 'loaded', sources = run.sources,
                    discovered = run.discovered, loaded = run.loaded, unchanged = run.unchanged,
                    rejected = run.rejected, failed = run.failed, skipped = run.skipped,
                    extractor_version = run.extractor_version, warehouse_wait_s = run.warehouse_wait_s
                when not matched then insert (run_id, dag_id, started_at, loaded_at, status, sources_file, sources,
                        discovered, loaded, unchanged, rejected, failed, skipped, extractor_version, warehouse_wait_s)
                    values (run.run_id, run.dag_id, run.started_at, run.loaded_at, 'loaded', run.sources_file,
                        run.sources, run.discovered, run.loaded, run.unchanged, run.rejected, run.failed,
                        run.skipped, run.extractor_version, run.warehouse_wait_s)
                """,
                {
                    "run_id": run_id, "dag_id": dag_id, "started": started_at or now, "now": now,
                    "file": jobs[0]["sources_file"], "sources": [j["source"] for j in jobs],
                    "discovered": sum(counts.values()), "version": extractor_version(), "wait_s": wait_s,
                    **{k: counts.get(k, 0) for k in OUTCOMES},
                },
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        write_s = time.monotonic() - writing
    finally:
        con.close()
    summary = {k: counts.get(k, 0) for k in OUTCOMES}
    log.info("run %s loaded: %s; waited %.3f s for the warehouse, wrote in %.1f s", run_id, summary, wait_s, write_s)
    return {"run_id": run_id, "sources": [j["source"] for j in jobs], "counts": summary,
            "warehouse_wait_s": round(wait_s, 3), "write_s": round(write_s, 3)}


def _upsert_sources(con, config: SourcesFile, names: list[str], run_id: str, now: datetime) -> None:
    for name in names:
        source = config.source(name)
        locator = getattr(source, "url", None) or getattr(source, "path", None) or getattr(source, "urls_file", None)
        locator = locator or f"{len(source.urls or [])} listed URLs"
        con.execute(
            """
            merge into sources
            using (select $name as name, $kind as kind, $locator as locator, cast($language as varchar) as language,
                          cast($timezone as varchar) as timezone) as configured
            on sources.name = configured.name
            when matched then update set kind = configured.kind, locator = configured.locator,
                language = configured.language, timezone = configured.timezone, last_run_id = $run_id,
                updated_at = $now
            when not matched then insert (name, kind, locator, language, timezone, first_run_id, last_run_id,
                    updated_at)
                values (configured.name, configured.kind, configured.locator, configured.language,
                        configured.timezone, $run_id, $run_id, $now)
            """,
            {"name": name, "kind": source.kind, "locator": locator, "language": source.language,
             "timezone": source.timezone or config.settings.timezone, "run_id": run_id, "now": now},
        )


# -- account ---------------------------------------------------------------------------------------------------
def check_accounting(jobs: list[dict], *, run_id: str) -> dict:
    """Every URL discovered in the run has exactly one fetch_log row with a valid outcome, or the run fails."""
    from newsflow.warehouse import connect

    jobs = [j for j in jobs if j]
    con = connect(jobs[0].get("warehouse") if jobs else None)
    try:
        problems = []
        for job in jobs:
            discovered = staging.read(Path(job["staging"]) / "ledger.discover.parquet", staging.LEDGER)
            expected = set(zip(discovered.column("url_kind").to_pylist(), discovered.column("seq").to_pylist(), strict=True))
            logged = con.execute(
                "select url_kind, seq, outcome, url from fetch_log where run_id = ? and source = ?", [run_id, job["source"]]
            ).fetchall()
            got = Counter((k, s) for k, s, _o, _u in logged)
            missing = expected - set(got)
            extra = set(got) - expected
            doubled = [key for key, n in got.items() if n > 1]
            bad = [(k, s, o) for k, s, o, _u in logged if o not in OUTCOMES]
            urls_by_key = dict(zip(zip(discovered.column("url_kind").to_pylist(), discovered.column("seq").to_pylist(), strict=True),
                                   discovered.column("url").to_pylist(), strict=True))
            wrong_url = [(k, s) for k, s, _o, u in logged if (k, s) in urls_by_key and urls_by_key[(k, s)] != u]
            if missing or extra or doubled or bad or wrong_url:
                problems.append(
                    f"{job['source']}: {len(missing)} without outcome {sorted(missing)[:5]}, {len(extra)} unexpected, "
                    f"{len(doubled)} logged twice, {len(bad)} with unknown outcome, {len(wrong_url)} with altered URL"
                )
        status = "failed_accounting" if problems else "succeeded"
        con.execute("update runs set status = ?, finished_at = ? where run_id = ?", [status, datetime.now(UTC), run_id])
        counts = dict(
            con.execute(
                "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by outcome", [run_id]
            ).fetchall()
        )
    finally:
        con.close()
    if problems:
        raise AccountingError("URLs unaccounted for in run " + run_id + ":\n  " + "\n  ".join(problems))
    return {"run_id": run_id, "status": status, "counts": {k: counts.get(k, 0) for k in OUTCOMES}}


# -- reprocess -------------------------------------------------------------------------------------------------
def plan_reprocess(sources_file: str, source_filter: list[str] | str | None, start: str | None, end: str | None,
                   run_id: str, warehouse: str | None = None) -> list[dict]:
    """Jobs that re-extract archived articles (by publication day) without refetching anything."""
    from newsflow.config import warehouse_location
    from newsflow.warehouse import connect

    warehouse = warehouse_location(warehouse)
    sources_file = resolve_sources_file(sources_file)
    config = load_sources(sources_file)
    if isinstance(source_filter, str):
        source_filter = [s.strip() for s in source_filter.split(",") if s.strip()]
    names = config.selected(source_filter or None)
    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute(
            """
            select source, url, canonical_url, article_id, warc_file, warc_offset, fetched_at, http_status,
                -- a date that came from the feed or sitemap is not in the archived page: carry it over
                case when date_source in ('feed', 'sitemap') then strftime(published_at, '%Y-%m-%dT%H:%M:%SZ') end
            from articles
            where source in (select unnest($names))
                and warc_file is not null
                and ($start is null or published_date >= cast($start as date))
                and ($end is null or published_date <= cast($end as date))
            order by source, article_id
            """,
            {"names": names, "start": start or None, "end": end or None},
        ).fetchall()
    finally:
        con.close()
    by_source: dict[str, list[dict]] = {}
    for source, url, canonical, aid, warc_file, offset, fetched_at, status, hint_date in rows:
        ledger = by_source.setdefault(source, [])
        ledger.append(
            _ledger_row(len(ledger), "article", url, canonical_url=canonical, article_id=aid, warc_file=warc_file,
                        warc_offset=offset, fetched_at=fetched_at, http_status=status, hint_date=hint_date)
        )
    jobs = []
    for name in names:
        folder = staging.source_dir(run_id, name)
        rows_for_source = by_source.get(name, [])
        # the archive is the input: the ledger starts where fetch would have left it
        staging.write(rows_for_source, staging.LEDGER, folder / "ledger.discover.parquet")
        staging.write(rows_for_source, staging.LEDGER, folder / "ledger.fetch.parquet")
        jobs.append({"run_id": run_id, "source": name, "sources_file": str(Path(sources_file).resolve()),
                     "staging": str(folder), "discovered": len(rows_for_source), "warehouse": warehouse})
    log.info("reprocess %s: %d archived article(s) in %d source(s)", run_id, len(rows), len(jobs))
    return jobs
