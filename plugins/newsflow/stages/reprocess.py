"""Plan a news_reprocess run: the archived responses of known articles (by publication day), and of the pages last
rejected, become ledgers that start where fetch would have left them, so extract, validate and load run again
without refetching anything.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from newsflow import staging
from newsflow.stages.failures import PermanentError
from newsflow.stages.job import Job
from newsflow.stages.plan import make_jobs, refuse_over_map_limit, split_names

log = logging.getLogger(__name__)

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def publication_days(start, end, names: tuple[str, str] = ("start_date", "end_date")) -> tuple[date | None, date | None]:
    """The range's first and last day, None where it is open (empty or null). A value that is no YYYY-MM-DD day,
    or a start after the end, is a PermanentError naming it (`names`: what the caller calls the two): DuckDB's
    cast took 2018-13-01 for a transient failure, retried three times over minutes."""
    days = []
    for value, name in zip((start, end), names, strict=True):
        if value is None or value == "":
            days.append(None)
            continue
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise PermanentError(f"{name} {value!r} is not a day written YYYY-MM-DD")
        try:
            days.append(date.fromisoformat(value))
        except ValueError as exc:
            raise PermanentError(f"{name} {value!r} is not a day: {exc}") from None
    if days[0] and days[1] and days[0] > days[1]:
        raise PermanentError(f"{names[0]} {start} is after {names[1]} {end}: no day is in that range")
    return days[0], days[1]


def plan_reprocess(sources_file: str, source_filter: list[str] | str | None, start: str | None, end: str | None,
                   run_id: str, warehouse: str | None = None) -> list[Job]:
    from newsflow.warehouse import connect

    start, end = publication_days(start, end)
    jobs = make_jobs(sources_file, split_names(source_filter), run_id, warehouse)
    refuse_over_map_limit(jobs)
    names = [j.name for j in jobs]
    con = connect(jobs[0].warehouse, read_only=True) if jobs else None
    try:
        rows = con.execute(
            f"""
            with stored as (
                select source, url, canonical_url, article_id, warc_file, warc_offset, fetched_at, http_status,
                    published_at, date_source, {_listing_columns(con, "articles")}
                from articles
                where source in (select unnest($names))
                    and warc_file is not null
                    and ($start is null or published_date >= cast($start as date))
                    and ($end is null or published_date <= cast($end as date))
            )

            select source, url, canonical_url, article_id, warc_file, warc_offset, fetched_at, http_status,
                {_listing_hints("stored")}
            from stored
            order by source, article_id
            """,
            {"names": names, "start": start, "end": end},
        ).fetchall() if con else []
        rows += _rejected_pages(con, names, start, end) if con else []
    finally:
        if con:
            con.close()
    rows.sort(key=lambda row: (row[0], row[3] or ""))
    by_source: dict[str, list[dict]] = {}
    for source, url, canonical, aid, warc_file, offset, fetched_at, status, hint_date, hint_title in rows:
        ledger = by_source.setdefault(source, [])
        ledger.append(
            staging.ledger_row(len(ledger), "article", url, canonical_url=canonical, article_id=aid,
                               warc_file=warc_file, warc_offset=offset, fetched_at=fetched_at, http_status=status,
                               hint_date=hint_date, hint_title=hint_title)
        )
    planned = []
    for job in jobs:
        rows_for_source = by_source.get(job.name, [])
        # the archive is the input: the ledger starts where fetch would have left it
        staging.write(rows_for_source, staging.LEDGER, job.staging / staging.DISCOVER_LEDGER_FILE)
        staging.write(rows_for_source, staging.LEDGER, job.staging / staging.FETCH_LEDGER_FILE)
        planned.append(job.with_summary(discovered=len(rows_for_source)))
    log.info("reprocess %s: %d archived article(s) in %d source(s)", run_id, len(rows), len(planned))
    return planned


def _listing_hints(alias: str) -> str:
    """The ledger's hint_date and hint_title for a stored row (`alias`, with `_listing_columns`): what its listing
    said when it was written (migration 017), which extraction weighs again. A row written before knows only a date
    that came from the feed or sitemap (its date_source), carried over in UTC as the Z says (strftime writes a
    timestamptz in the session's zone, the machine's)."""
    return (f"coalesce({alias}.listing_date, case when {alias}.date_source in ('feed', 'sitemap') "
            f"then strftime({alias}.published_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ') end), {alias}.listing_title")


def _listing_columns(con, table: str) -> str:
    """`listing_date, listing_title` of `table`, or nulls so named where no load has migrated the lake since an
    upgrade to 017 (a reprocess right after one, as an extractor upgrade asks for)."""
    from newsflow.warehouse import column_names

    if "listing_date" in column_names(con, table):
        return "listing_date, listing_title"
    return "null::varchar as listing_date, null::varchar as listing_title"


def _rejected_pages(con, names: list[str], start: date | None, end: date | None) -> list[tuple]:
    """The pages whose latest verdict is a rejection and that are no article since, with their archived response: an
    extractor upgrade or a changed validation rule (the sources file's `min_body_chars`, say) is what a reprocess is
    for, and a page rejected for `missing_date` may pass now. The response is the latest the validators point to
    (http_cache), else the one the rejection was extracted from: a `warc` source writes no http_cache, and
    rejections stored before migration 012 name no record. Chosen by publication day when a range is given, or,
    undated (most are), by the day they were fetched."""
    from newsflow.warehouse import column_names, table_names

    if not {"rejected_articles", "http_cache"} <= table_names(con):
        return []
    # a lake no load has migrated since an upgrade (a reprocess right after one) may predate migration 012: its
    # rejections name no record, as rows written before it, and http_cache's is read
    record = ("warc_file, warc_offset, http_status" if "warc_offset" in column_names(con, "rejected_articles")
              else "null::varchar as warc_file, null::bigint as warc_offset, null::integer as http_status")
    return con.execute(
        f"""
        with latest as (
            select source, url, canonical_url, article_id, published_date, published_at, date_source, fetched_at,
                {record}, {_listing_columns(con, "rejected_articles")}
            from rejected_articles
            where source in (select unnest($names)) and canonical_url is not null
            qualify row_number() over (partition by canonical_url order by rejected_at desc, run_id desc) = 1
        )

        select latest.source, latest.url, latest.canonical_url, latest.article_id,
            -- file, offset and status go together: one record, never the file of one and the offset of another
            if(http_cache.warc_file is null, latest.warc_file, http_cache.warc_file),
            if(http_cache.warc_file is null, latest.warc_offset, http_cache.warc_offset),
            latest.fetched_at,
            if(http_cache.warc_file is null, latest.http_status, http_cache.last_status),
            -- as for articles (a page dated by its listing alone was rejected `missing_date` when judged again)
            {_listing_hints("latest")}
        from latest
        left join http_cache on latest.canonical_url = http_cache.canonical_url
        where
            coalesce(http_cache.warc_file, latest.warc_file) is not null
            and not exists (
                select 1 from articles
                where articles.article_id = latest.article_id or articles.canonical_url = latest.canonical_url
            )
            -- the UTC day of the fetch: a timestamptz cast to a date takes the session's zone, the machine's
            and ($start is null or coalesce(latest.published_date, cast(timezone('UTC', latest.fetched_at) as date))
                >= cast($start as date))
            and ($end is null or coalesce(latest.published_date, cast(timezone('UTC', latest.fetched_at) as date))
                <= cast($end as date))
        """,
        {"names": names, "start": start, "end": end},
    ).fetchall()
