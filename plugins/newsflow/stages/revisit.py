"""Polite revisits: which known article URLs the fetch stage leaves alone because the source's revisit policy says
they are not due; they are logged `unchanged: not_due` and cost no request and no extraction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from newsflow.config import RevisitPolicy
from newsflow.stages.job import REQUESTED, Job

log = logging.getLogger(__name__)


def is_due(policy: RevisitPolicy, *, published_at: datetime, last_fetched: datetime | None, now: datetime) -> bool:
    """A known article is due while younger than the policy's window, once `every` has passed since its last fetch.
    A date in the future counts as just published."""
    age = max(now - published_at, timedelta(0))
    if policy.while_younger_than is not None and age >= policy.while_younger_than:
        return False
    return last_fetched is None or now - last_fetched >= policy.every


def known_articles(article_ids: list[str], con, confirmed_since: datetime | None = None
                   ) -> dict[str, tuple[str, datetime, datetime]]:
    """listed article_id -> (the stored article's id; its published_at, or first fetch when it has no date; its last
    fetch), one query on `con` (a reader of the lake).

    Only URLs whose page is in `articles` are known: a URL that failed or was rejected last time is not, so it
    is fetched again. A link that landed on another URL last time (a tracker, a moved page) is known through
    article_aliases as the article it landed on; its own id comes first, should the link be an article itself now.
    The last fetch is the latest that gave the article as stored: the one that stored its text (articles.fetched_at)
    or a later one fetch_log records as confirming it (`unchanged`: HTTP 304, the same bytes or text); failures and
    rejections do not count (the article_confirmations macro). With `confirmed_since`, confirmations before it are
    not read: a caller that only asks whether the last fetch is that recent needs no older one."""
    from newsflow.warehouse import table_names

    article_ids = [a for a in article_ids if a]
    tables = table_names(con)
    if not article_ids or "articles" not in tables:
        return {}
    # a lake the load has not migrated to 008 yet has no aliases: every link is its own article there
    aliased = ("union all select alias_id, article_id, 1 from article_aliases "
               "where alias_id in (select listed_id from listed)") if "article_aliases" in tables else ""
    # a lake no load of this version migrated yet has no such macro: its loads moved articles.fetched_at instead
    confirmed = ("select article_id, confirmed_at from article_confirmations(?::timestamptz) "
                 "where article_id in (select article_id from stored)"
                 if con.execute("select count(*) from duckdb_functions() where function_name = 'article_confirmations'"
                                ).fetchone()[0]
                 else "select null::varchar as article_id, null::timestamptz as confirmed_at where ?::timestamptz is null")
    rows = con.execute(
        f"""
        with listed as (select unnest(?::varchar[]) as listed_id),
        candidates as (select listed_id, listed_id as article_id, 0 as preference from listed {aliased}),
        stored as (
            select candidates.listed_id, articles.article_id,
                   coalesce(articles.published_at, articles.inserted_at) as published, articles.fetched_at
            from candidates inner join articles on candidates.article_id = articles.article_id
            qualify row_number() over (partition by candidates.listed_id order by candidates.preference) = 1),
        confirmed as ({confirmed})
        select stored.listed_id, stored.article_id, stored.published,
               greatest(stored.fetched_at, confirmed.confirmed_at)
        from stored left join confirmed on stored.article_id = confirmed.article_id
        """,
        [article_ids, confirmed_since],
    ).fetchall()
    return {listed: (stored, _utc(published), _utc(fetched)) for listed, stored, published, fetched in rows}


def _utc(value: datetime | None) -> datetime | None:
    # a catalog that hands back naive timestamps (stored as UTC) must not break the comparison with an aware now
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def answered_in_this_run(job: Job, con) -> dict[str, tuple[str, str | None, int | None]]:
    """canonical URL -> (outcome, reason, HTTP status) of the source's article URLs as an earlier execution of this
    same run recorded them (its load done, then a task cleared and run again); empty on a first execution.

    Such a rerun must repeat that execution's requests, not build on what it stored: its own new articles looked
    known and not due, and the validators it stored turned its rejected page into a 304, so the rerun's ledger
    said `unchanged` for pages the run had loaded or rejected, and replaced the rejection and validation rows."""
    from newsflow.warehouse import table_names

    # the runs table is small: fetch_log is read only for a run that loaded before
    if not {"runs", "fetch_log"} <= table_names(con) or not con.execute(
            "select count(*) from runs where run_id = ?", [job.run_id]).fetchone()[0]:
        return {}
    rows = con.execute(
        "select canonical_url, outcome, reason, http_status from fetch_log "
        "where run_id = ? and source = ? and url_kind = 'article' and canonical_url is not null "
        # a link listed twice is fetched once: its `skipped: duplicate` row says nothing of the request
        "qualify row_number() over (partition by canonical_url order by http_status is null, seq) = 1",
        [job.run_id, job.name]).fetchall()
    return {url: (outcome, reason, status) for url, outcome, reason, status in rows}


# answers that say the page is not there: asked again at every run they cost the publisher a request each and
# made a quiet run's fetch-failure rate 1 of 2; a server error or a timeout may pass, and is asked at the next run
GONE_REASONS = ("http_404", "http_410")


def gone_lately(job: Job, urls: list[str], con, now: datetime) -> set[str]:
    """The listed URLs among `urls` (canonical, as listed) whose latest request by an earlier run of the source,
    within the revisit policy's `every` before `now`, answered 404 or 410: they wait until `every` has passed
    (`skipped: retry_not_due`). Only requests count (not the waits themselves, nor URLs left over the cap), and
    this run's own rows are left out, so a cleared and rerun execution decides as the first one did."""
    urls = [u for u in urls if u]
    if not urls or job.revisit.every <= timedelta(0):
        return set()
    since = now - job.revisit.every
    # logged_at >= since is implied by the fetch time's test (a row is logged after its fetch); said apart, it lets
    # DuckLake skip every file logged before `since` by its min/max, so a year of runs costs what the last hours do
    rows = con.execute(
        f"""
        select canonical_url, reason from fetch_log
        where source = ? and url_kind = 'article' and run_id <> ? and logged_at >= ?::timestamptz
            and coalesce(fetched_at, logged_at) >= ?::timestamptz and {REQUESTED}
            and canonical_url in (select unnest(?::varchar[]))
        qualify row_number() over (partition by canonical_url order by coalesce(fetched_at, logged_at) desc) = 1
        """,
        [job.name, job.run_id, since, since, urls]).fetchall()
    return {url for url, reason in rows if reason in GONE_REASONS}


ASKED_IN_VAIN_RUNS = 2


def asked_in_vain(job: Job, urls: list[str]) -> set[str]:
    """The listed URLs among `urls` (canonical, as listed) that at least ASKED_IN_VAIN_RUNS earlier runs of the
    source asked for (not `over_limit`, `out_of_time` or `retry_not_due`: no request) and none loaded: a page
    rejected again and again (a live blog, a video page), a dead link, a URL robots.txt refuses. Keyed by the URL as
    listed, since a link that redirects is logged under the id of the page it landed on. One failure is not
    enough: today's story after one 500 is retried at the next run in its place. This run's own rows are left out,
    so an execution of the run cleared and run again decides as the first one did. One query on a reader of the
    lake."""
    from newsflow.warehouse import connect, exists, table_names

    urls = [u for u in urls if u]
    if not urls or not exists(job.warehouse):
        return set()
    con = connect(job.warehouse, read_only=True)
    try:
        if "fetch_log" not in table_names(con):
            return set()
        rows = con.execute(
            """
            select canonical_url from fetch_log
            where source = ? and url_kind = 'article' and run_id <> ?
                and coalesce(reason, '') not in ('over_limit', 'out_of_time', 'retry_not_due')
                and canonical_url in (select unnest(?::varchar[]))
            group by canonical_url
            having count(distinct run_id) >= ? and not bool_or(outcome = 'loaded')
            """,
            [job.name, job.run_id, urls, ASKED_IN_VAIN_RUNS]).fetchall()
    finally:
        con.close()
    return {url for (url,) in rows}


def asked_for_nothing(answer: tuple[str, str | None, int | None]) -> bool:
    """Whether an earlier execution's row (answered_in_this_run) made no request: not due, gone lately, or a copy
    of an article not due that this source listed earlier (`duplicate`) or another source answers for
    (`duplicate_other_source`), both without an HTTP status. Such a URL is judged again, as then; any other is
    fetched again. A copy read as a request was fetched by the rerun: a second `unchanged` of one article."""
    _outcome, reason, status = answer
    return reason in ("not_due", "retry_not_due") or (
        reason in ("duplicate", "duplicate_other_source") and status is None)


def skip_not_due(job: Job, pending: list[dict], now: datetime | None = None) -> dict:
    """Mark the pending article rows whose revisit is not due (`unchanged: not_due`), in place. A URL an earlier
    execution of this run fetched is fetched again, as it was then; returns what that execution answered
    (answered_in_this_run), for the fetch. One reader of the lake for both (opening one costs 0.1-0.5 s)."""
    from newsflow.warehouse import connect, exists

    if not pending or not exists(job.warehouse):
        return {}
    now = now or datetime.now(UTC)
    con = connect(job.warehouse, read_only=True)
    try:
        answered = answered_in_this_run(job, con)
        # is_due only asks whether the last fetch is within `every`: an older confirmation answers as none does
        known = known_articles([r["article_id"] for r in pending], con, confirmed_since=now - job.revisit.every)
        gone = gone_lately(job, [r["canonical_url"] for r in pending if r["article_id"] not in known], con, now)
    finally:
        con.close()
    due = []
    not_due = set()  # the articles this source's rows already said not due
    for row in pending:
        seen = known.get(row["article_id"])
        before = answered.get(row["canonical_url"])
        if before is not None and not asked_for_nothing(before):
            due.append(row)
        elif seen is not None and not is_due(job.revisit, published_at=seen[1], last_fetched=seen[2], now=now):
            # a link known as an article listed earlier (a tracker's or an old address's, article_aliases) is that
            # article again: `duplicate`, as when it was fetched, not a second `unchanged` of one article
            duplicate = seen[0] in not_due
            not_due.add(seen[0])
            row.update(outcome="skipped" if duplicate else "unchanged", reason="duplicate" if duplicate else "not_due",
                       article_id=seen[0])
        elif seen is None and row["canonical_url"] in gone:
            row.update(outcome="skipped", reason="retry_not_due")
        else:
            due.append(row)
    if len(due) < len(pending):
        log.info("%s: %d known article(s) not due for a revisit, %d gone lately and not due for a retry, %d to fetch",
                 job.name, sum(r["reason"] == "not_due" for r in pending), sum(r["reason"] == "retry_not_due"
                                                                             for r in pending), len(due))
    return answered
