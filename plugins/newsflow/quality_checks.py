"""Warehouse quality checks: SQL checks per source (freshness, daily volume against a robust baseline, null and
empty rates, duplicates, rejections and fetch failures of the latest ingest run, date disagreements) and a
warehouse-level Great Expectations validation of `articles` (a file-backed GX project under the data dir, so
its Data Docs are a static site in `<data dir>/data_docs/`).

Every check gives one row per (check_name, source) with status pass | warn | fail; source '*' is warehouse-wide.
Rows are written to `quality_checks` by `write_checks` (delete + insert of the run in one transaction), so a
rerun of the same run id is idempotent. Reading is done on read-only connections; the single write is short.

Heavy libraries (duckdb, pandas, great_expectations) are imported inside functions: Airflow's plugin loader
imports every file under plugins/.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsflow.quality import expectation_error, import_gx

log = logging.getLogger(__name__)

WAREHOUSE = "*"
GX_SUITE = "newsflow_warehouse_articles"
GX_SITE = "newsflow_data_docs"
# Warehouse validations kept in the GX project and rendered in Data Docs (quality_checks keeps every run's outcome).
# GX renders every stored validation at each build: ~9 ms and 85 KB of pages each here, so a quality run every
# 15 minutes would spend 5 minutes a build and 3 GB a year after a year; the newest 100 are a day of such runs.
DATA_DOCS_VALIDATIONS = 100
STATUSES = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Thresholds:
    """(warn, fail) limits: a value above warn is 'warn', above fail is 'fail' (volume: robust z below -z)."""

    fetched_hours: tuple[float, float] = (30.0, 72.0)
    published_hours: tuple[float, float] = (48.0, 96.0)
    volume_window_days: int = 28
    volume_min_history_days: int = 7
    volume_z: tuple[float, float] = (2.5, 3.5)
    null_rate: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "title": (0.05, 0.20),
            "body": (0.0, 0.01),
            "published_at": (0.0, 0.01),
            "language": (0.05, 0.20),
        }
    )
    duplicate_rate: tuple[float, float] = (0.20, 0.50)
    rejection_rate: tuple[float, float] = (0.20, 0.50)
    fetch_failure_rate: tuple[float, float] = (0.10, 0.30)
    # any bot wall is worth knowing (the publisher may let newsflow's user agent through); most of a source behind
    # one means its coverage is no longer measured
    blocked_rate: tuple[float, float] = (0.0, 0.50)
    date_disagreement_rate: tuple[float, float] = (0.10, 0.30)
    gx_max_rows: int = 200_000


def _grade(value: float | None, limits: tuple[float, float]) -> str:
    if value is None:
        return "pass"
    warn, fail = limits
    if value > fail:
        return "fail"
    if value > warn:
        return "warn"
    return "pass"


def _row(check: str, source: str, observed, expected: str, status: str, **details) -> dict:
    return {
        "check_name": check,
        "source": source,
        "observed": None if observed is None else float(observed),
        "expected": expected,
        "status": status,
        "details": json.dumps(details, default=str, ensure_ascii=False) if details else None,
    }


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


# --- the SQL checks: each takes a connection (read-only is enough) and returns rows ---------------------------


# A source that no run has listed for this long, while others ran, was taken out of the sources file: its articles
# stay, its freshness and volume are no longer judged (they would fail for ever). Two weeks, so that a weekly schedule
# never looks retired.
RETIRED_AFTER_DAYS = 14
# the runs that read the sources' listings: a news_reprocess run reads the archive (every archived article of the
# sources it names, all known), so it is no source's latest run, and lists no source
INGEST = "dag_id != 'news_reprocess'"


def retired_sources(con) -> dict[str, datetime | None]:
    """{source: when a run last listed it} for the sources of the warehouse that no run (runs.sources) listed in the
    RETIRED_AFTER_DAYS before its latest run. Measured from the latest run, not from now, so a warehouse nobody
    loads keeps failing its freshness checks. Empty when a run of that window did not record its sources."""
    rows = con.execute(
        f"""
        with stamped as (select sources, coalesce(loaded_at, started_at) as run_at from runs where {INGEST}),
        recent as (select sources from stamped where run_at >= (select max(run_at) from stamped) - to_days(?::integer)),
        listed as (select source, max(run_at) as last_listed
                   from (select unnest(sources) as source, run_at from stamped) group by source),
        known as (select name as source from sources union select distinct source from articles
                  union select distinct source from fetch_log)
        select known.source, listed.last_listed
        from known left join listed using (source)
        where (select count(*) from recent) > 0
          and not exists (select 1 from recent where sources is null)
          and known.source not in (select unnest(sources) from recent)
        order by known.source
        """,
        [RETIRED_AFTER_DAYS],
    ).fetchall()
    return dict(rows)


def returned_sources(con, now: datetime) -> dict[str, datetime]:
    """{source: the run that listed it again} for the sources retired for a while and back in the sources file: the
    latest run (up to `now`) listing the source after another ingest run found it unlisted for RETIRED_AFTER_DAYS,
    as retired_sources would have said then. A warehouse nobody loaded for a while retired no one."""
    return dict(con.execute(
        f"""
        with stamped as (select sources, coalesce(loaded_at, started_at) as run_at from runs
                         where {INGEST} and coalesce(loaded_at, started_at) <= ?::timestamptz),
        spans as (select source, run_at, lag(run_at) over (partition by source order by run_at) as before
                  from (select unnest(sources) as source, run_at from stamped where sources is not null))
        select source, max(run_at) from spans
        where run_at - before > to_days(?::integer)
          and exists (select 1 from stamped where stamped.run_at > spans.before + to_days(?::integer)
                                              and stamped.run_at < spans.run_at)
        group by source
        """, [now, RETIRED_AFTER_DAYS, RETIRED_AFTER_DAYS]).fetchall())


def check_retired_sources(retired: dict[str, datetime | None]) -> list[dict]:
    return [_row("source_retired", source, None, f"listed by a run in the {RETIRED_AFTER_DAYS} days before the latest",
                 "pass", last_listed=last.isoformat() if last else None,
                 note="no longer in any run: its freshness, volume and article rates are not judged")
            for source, last in retired.items()]


def check_freshness(con, *, now: datetime | None = None, limits: Thresholds | None = None,
                    retired: dict | None = None) -> list[dict]:
    """Hours since the source's last successful fetch (fetch_log loaded/unchanged/rejected: a page rejected was
    still answered, and a source whose every page is rejected is the rejection rate's to judge, not "never fetched";
    else articles.fetched_at) and
    since its newest published article; `retired` sources are left out."""
    t = limits or Thresholds()
    now = _now(now)
    retired = retired or {}
    rows = con.execute(
        """
        with s as (select name as source from sources union select distinct source from articles
                   union select distinct source from fetch_log),
        f as (select source, max(fetched_at) as last_fetch from fetch_log
              where outcome in ('loaded', 'unchanged', 'rejected') group by source),
        a as (select source, max(fetched_at) as last_article_fetch, max(published_at) as last_published
              from articles group by source)
        select s.source, coalesce(f.last_fetch, a.last_article_fetch) as last_fetched, a.last_published
        from s left join f using (source) left join a using (source)
        order by s.source
        """
    ).fetchall()
    out = []
    for source, last_fetched, last_published in rows:
        if source in retired:
            continue
        for check, last, lim in (
            ("freshness_fetched_hours", last_fetched, t.fetched_hours),
            ("freshness_published_hours", last_published, t.published_hours),
        ):
            if last is None:
                out.append(_row(check, source, None, f"<= {lim[0]:g}h (fail > {lim[1]:g}h)", "fail", last=None,
                                note="never"))
                continue
            last = last if last.tzinfo else last.replace(tzinfo=UTC)
            hours = max((now - last).total_seconds() / 3600.0, 0.0)
            out.append(_row(check, source, round(hours, 2), f"<= {lim[0]:g}h (fail > {lim[1]:g}h)",
                            _grade(hours, lim), last=last.isoformat()))
    return out


def check_volume(con, *, now: datetime | None = None, limits: Thresholds | None = None,
                 retired: dict | None = None) -> list[dict]:
    """Articles on the source's latest complete day vs the median and MAD of the previous N days (zeros included).

    The latest day is the warehouse's newest published_date up to the source's last_complete_day (the macro: the
    day that has ended in the source's zone, or everywhere when it has none): a day still in progress is not
    judged, a Los Angeles outlet's evening included. robust z = (observed - median) / max(1.4826 * MAD, sqrt(median) / 2, 1). A
    drop below -z fails, and a source silent on the latest day while its baseline median is at least 1 is at least
    a warning. `retired` sources are left out, and one back from retirement starts its baseline afresh on the day
    it was listed again: the weeks it was out of the sources file, no run read it, and counted as silent days they
    made its median 0 and its usual day back a "spike" for two weeks."""
    t = limits or Thresholds()
    now = _now(now)
    retired = retired or {}
    # each source's last complete day, then the warehouse's newest day with articles up to it (a silent source's
    # latest day is that day, with 0 articles: not the last day it published)
    cuts = con.execute(
        """
        select published.source, last_complete_day(any_value(sources.timezone), ?::timestamptz)
        from (select distinct source from articles) as published
        left join sources on published.source = sources.name
        group by published.source
        """,
        [now],
    ).fetchall()
    if not cuts:
        return [_row("volume_latest_day", WAREHOUSE, None, "articles on the latest day", "pass", note="no articles")]
    by_day: dict = {}
    for cut in sorted({cut for _source, cut in cuts}):
        latest = con.execute("select coalesce(max(published_date) filter (where published_date <= ?), "
                             "max(published_date)) from articles", [cut]).fetchone()[0]
        by_day.setdefault(latest, []).extend(source for source, c in cuts if c == cut and source not in retired)
    returned = {source: at.astimezone(UTC).date() for source, at in returned_sources(con, now).items()}
    out = []
    for latest, sources in sorted(by_day.items()):
        if sources:
            out += _volume_rows(con, latest, sorted(sources), t, returned)
    return sorted(out, key=lambda row: row["source"])


def _volume_rows(con, latest, sources: list[str], t: Thresholds, returned: dict | None = None) -> list[dict]:
    """volume_latest_day of `sources`, whose latest complete day is `latest`; the baseline of a source in
    `returned` ({source: day}) starts that day."""
    returned = {source: day for source, day in (returned or {}).items() if source in sources}
    window = t.volume_window_days
    rows = con.execute(
        """
        with s as (select unnest(?::varchar[]) as source),
        days as (select unnest(generate_series(?::date - to_days(?::integer), ?::date, interval 1 day))::date as day),
        counts as (select source, published_date as day, count(*) as n from articles
                   where published_date between ?::date - to_days(?::integer) and ?::date
                     and list_contains(?::varchar[], source) group by all),
        back as (select unnest(?::varchar[]) as source, unnest(?::date[]) as since),
        firsts as (select source, greatest(min(published_date), any_value(back.since)) as first_day from articles
                   left join back using (source)
                   where list_contains(?::varchar[], source) group by source),
        grid as (select s.source, days.day, coalesce(counts.n, 0) as n
                 from s cross join days left join counts on counts.source = s.source and counts.day = days.day)
        select g.source,
               max(g.n) filter (where g.day = ?::date) as observed,
               list(g.n order by g.day) filter (where g.day < ?::date and g.day >= f.first_day) as history
        from grid g join firsts f using (source)
        group by g.source order by g.source
        """,
        [sources, latest, window, latest, latest, window, latest, sources, list(returned), list(returned.values()),
         sources, latest, latest],
    ).fetchall()
    out = []
    low_warn, low_fail = t.volume_z
    for source, observed, history in rows:
        history = [int(x) for x in (history or [])]
        observed = int(observed or 0)
        back = {"back_since": returned[source].isoformat()} if source in returned else {}
        if len(history) < t.volume_min_history_days:
            out.append(_row("volume_latest_day", source, observed, "baseline needs history", "pass", day=latest,
                            history_days=len(history), note="insufficient history", **back))
            continue
        median = _median(history)
        mad = _median([abs(x - median) for x in history])
        scale = max(1.4826 * mad, 0.5 * median**0.5, 1.0)
        z = (observed - median) / scale
        if z < -low_fail:
            status = "fail"
        elif z < -low_warn or z > low_fail or (observed == 0 and median >= 1):
            status = "warn"
        else:
            status = "pass"
        out.append(_row("volume_latest_day", source, observed,
                         # every rule the status follows: a count that meets "z >= -3.5" was still amber at -2.7
                         f"robust z from -{low_warn:g} to {low_fail:g} (warn outside it or silent; fail below "
                         f"-{low_fail:g}; median {median:g}, scale {scale:.2f})", status,
                         day=latest, median=median, mad=mad, robust_z=round(z, 2), history_days=len(history),
                         **back))
    return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0.0
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


# The article-table rates judge each source's articles stored in the RECENT_DAYS up to its own newest: over every
# article ever stored, three days of a broken title extractor were 11 % of 40 days (a warning), and a lake of a
# year would dilute a week of them under any threshold. From the source's newest, not from now, so a source that
# stopped keeps its figures (freshness says it stopped) rather than its checks vanishing.
RECENT_DAYS = 7
# A retired source's newest articles never change: judged, its rates (and any alert on them) would stand for ever.
# Its sources are passed as the query's one parameter, a list.
_RECENT_ARTICLES = f"""
    (select articles.* from articles
     inner join (select source, max(inserted_at) as newest from articles group by source) as latest
         on articles.source = latest.source
     where articles.inserted_at >= latest.newest - to_days({RECENT_DAYS})
       and not list_contains(?::varchar[], articles.source))
"""


def check_null_rates(con, *, limits: Thresholds | None = None, retired: dict | None = None) -> list[dict]:
    """Share of the recent articles (RECENT_DAYS) whose title / body / published_at / language is null or blank,
    per source and overall; `retired` sources are left out."""
    t = limits or Thresholds()
    # blank: nothing but white space (ASCII or Unicode separators: a no-break space, an ideographic space). A search
    # for the first other character stops at once on any real body; trim() = '' copied every body (14.8 s against
    # 1.8 s on a 1M-article lake) and saw only ASCII spaces
    rows = con.execute(
        r"""
        select coalesce(source, '*') as source, count(*) as n,
               count(*) filter (where title is null or not regexp_matches(title, '[^\s\p{Z}]')) as title,
               count(*) filter (where body is null or not regexp_matches(body, '[^\s\p{Z}]')) as body,
               count(*) filter (where published_at is null) as published_at,
               count(*) filter (where language is null or not regexp_matches(language, '[^\s\p{Z}]')) as language
        from """ + _RECENT_ARTICLES + """ as recent group by grouping sets ((source), ()) order by source nulls first
        """, [sorted(retired or {})]
    ).fetchall()
    out = []
    for source, n, *counts in rows:
        if not n:
            continue
        for column, missing in zip(("title", "body", "published_at", "language"), counts, strict=True):
            rate = missing / n
            lim = t.null_rate[column]
            out.append(_row(f"null_rate_{column}", source, round(rate, 6), f"<= {lim[0]:g} (fail > {lim[1]:g})",
                            _grade(rate, lim), missing=missing, articles=n, recent_days=RECENT_DAYS))
    return out


def _rate_check(con, sql: str, check: str, lim: tuple[float, float], params=None, **extra) -> list[dict]:
    out = []
    for source, num, den in con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall():
        if not den:
            continue
        rate = num / den
        out.append(_row(check, source, round(rate, 6), f"<= {lim[0]:g} (fail > {lim[1]:g})", _grade(rate, lim),
                        count=num, of=den, **extra))
    return out


def check_duplicate_rate(con, *, limits: Thresholds | None = None, retired: dict | None = None) -> list[dict]:
    t = limits or Thresholds()
    return _rate_check(
        con,
        "select coalesce(source, '*'), count(*) filter (where duplicate_of is not null), count(*) from "
        + _RECENT_ARTICLES + " as recent group by grouping sets ((source), ()) order by 1",
        "duplicate_rate", t.duplicate_rate, [sorted(retired or {})], recent_days=RECENT_DAYS,
    )


def check_date_disagreement_rate(con, *, limits: Thresholds | None = None, retired: dict | None = None) -> list[dict]:
    t = limits or Thresholds()
    return _rate_check(
        con,
        "select coalesce(source, '*'), count(*) filter (where date_disagreement), count(*) from "
        + _RECENT_ARTICLES + " as recent group by grouping sets ((source), ()) order by 1",
        "date_disagreement_rate", t.date_disagreement_rate, [sorted(retired or {})], recent_days=RECENT_DAYS,
    )


def latest_ingest_run(con) -> str | None:
    rows = con.execute(
        f"select run_id from runs where {INGEST} order by coalesce(loaded_at, started_at) desc nulls last, run_id desc "
        "limit 1"
    ).fetchall()
    if rows:
        return rows[0][0]
    rows = con.execute("select run_id from fetch_log order by logged_at desc limit 1").fetchall()
    return rows[0][0] if rows else None


def latest_runs_by_source(con) -> dict[str, str]:
    """{source: its latest ingest run}: the newest run that lists it (runs.sources, written in the load's transaction
    with the run's fetch_log rows). A run that records no sources (loaded before runs.sources was kept) counts for
    the sources in its fetch_log, if it is one of the RETIRED_AFTER_DAYS before the latest run; a warehouse with
    fetch_log rows and no runs at all, its newest run."""
    never = datetime.min.replace(tzinfo=UTC)  # a run with neither time stamp is older than any other
    # per source in SQL: a year of a 15-minute schedule is 35,000 runs, each listing every source it read
    newest: dict[str, tuple] = {
        source: (run_at or never, run_id) for source, run_at, run_id in con.execute(
            f"""
            with listed as (
                select unnest(sources) as source, run_id, coalesce(loaded_at, started_at) as run_at
                from runs where sources is not null and {INGEST}
            )
            select source, max(run_at), arg_max(run_id, (run_at, run_id)) from listed group by source
            """).fetchall()}
    unlisted = dict(con.execute(
        f"""
        with stamped as (select run_id, sources, coalesce(loaded_at, started_at) as run_at from runs where {INGEST})
        select run_id, run_at from stamped
        where sources is null and run_at >= (select max(run_at) from stamped) - to_days(?::integer)
        """, [RETIRED_AFTER_DAYS]).fetchall())
    if unlisted:
        # a literal list of run ids: the scan reads those runs' files only
        marks = ", ".join("?" * len(unlisted))
        for source, run_id in con.execute(
                f"select distinct source, run_id from fetch_log where run_id in ({marks})", list(unlisted)).fetchall():
            newest[source] = max(newest.get(source, (never, "")), (unlisted[run_id] or never, run_id))
    if not newest and not con.execute("select count(*) from runs").fetchone()[0]:
        only = latest_ingest_run(con)
        if only is not None:
            return dict(con.execute("select distinct source, ? from fetch_log where run_id = ?", [only, only])
                        .fetchall())
    return {source: run_id for source, (_at, run_id) in sorted(newest.items())}


def check_run_rates(con, *, limits: Thresholds | None = None, retired: dict | None = None) -> list[dict]:
    """Rejection rate (rejected / article pages fetched and extracted), fetch-failure rate (failed / URLs asked
    for, listings included) and the share of those a bot wall or consent gate refused (`blocked:*`), per source,
    each over the source's latest ingest run that asked for such URLs (_judged_earlier). Per source, not over the
    warehouse's latest run: with schedules of their own, a source's rates would drop out of every quality run but
    the one after its load (and its alerts would say "no longer checked" in between). `retired` sources are left
    out."""
    from newsflow.stages.job import REQUESTED

    t = limits or Thresholds()
    retired = retired or {}
    latest = {source: run_id for source, run_id in latest_runs_by_source(con).items() if source not in retired}
    if not latest:
        return []
    rates = (
        # check, the rows counted, out of which rows: requests only, or a feed of 50 known items would hide two new
        # pages of 2 that failed behind 48 unasked ones. An unchanged page passes only as a stored article: a page
        # rejected before answers 304 (or the same bytes) while still rejected, and counted as judged it made a
        # source that rejects every page "recover" at its next run
        ("rejection_rate", "url_kind = 'article' and outcome = 'rejected'",
         f"url_kind = 'article' and (outcome in ('loaded', 'rejected') or outcome = 'unchanged' and stored) "
         f"and {REQUESTED}", t.rejection_rate),
        ("fetch_failure_rate", "outcome = 'failed'", REQUESTED, t.fetch_failure_rate),
        ("blocked_rate", "outcome = 'failed' and starts_with(reason, 'blocked:')", REQUESTED, t.blocked_rate),
    )
    counted = ", ".join(f"count(*) filter (where {num}), count(*) filter (where {den})" for _c, num, den, _l in rates)

    def counts(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        runs = sorted({run_id for _source, run_id in pairs})
        marks = ", ".join("?" * len(runs))  # a literal list of run ids: the scan reads those runs' files only
        return {(source, run_id): values for source, run_id, *values in con.execute(
            f"""
            with asked as (select * from fetch_log where run_id in ({marks})),
            stored as (select distinct article_id, true as stored from articles
                       where article_id in (select article_id from asked where outcome = 'unchanged'))
            select source, run_id, {counted} from asked left join stored using (article_id) group by source, run_id
            """, runs).fetchall() if (source, run_id) in pairs}

    found = counts(set(latest.items()))
    judged = {}  # (check, source) -> (num, den, run_id)
    for i, (check, *_rest) in enumerate(rates):
        for source, run_id in latest.items():
            values = found.get((source, run_id))
            if values and values[2 * i + 1]:
                judged[(check, source)] = (values[2 * i], values[2 * i + 1], run_id)
    _judged_earlier(con, rates, latest, judged, counts)
    out = []
    for check, _num, _den, lim in rates:
        for source in sorted(latest):
            if (check, source) in judged:
                num, den, run_id = judged[(check, source)]
                rate = num / den
                out.append(_row(check, source, round(rate, 6), f"<= {lim[0]:g} (fail > {lim[1]:g})",
                                _grade(rate, lim), count=num, of=den, ingest_run_id=run_id,
                                **({} if run_id == latest[source] else {"latest_run_id": latest[source]})))
    return out


RATE_LOOKBACK_RUNS = 24


def _judged_earlier(con, rates, latest: dict[str, str], judged: dict, counts) -> None:
    """A rate the source's latest run could not judge (a quarter-hourly re-read that found every page known and not
    due asks for no page: no denominator) is judged over its newest earlier run that could, within the
    RETIRED_AFTER_DAYS before its latest. Left out, the check vanished from that quality run, and its alert said
    "recovered: no longer checked" and then "started failing" again at the next new page: a source that never
    stopped rejecting pages, told three times. Earlier runs are read RATE_LOOKBACK_RUNS at a time, newest first."""
    missing = {source for check, *_r in rates for source in latest if (check, source) not in judged}
    if not missing:
        return
    earlier = {}
    for source, run_id in con.execute(
            f"""
            with listed as (
                select unnest(sources) as source, run_id, coalesce(loaded_at, started_at) as run_at
                from runs where sources is not null and {INGEST}
            )
            select source, run_id from listed
            where list_contains(?, source)
              and run_at >= (select max(run_at) from listed) - to_days(?::integer)
            order by run_at desc, run_id desc
            """, [sorted(missing), RETIRED_AFTER_DAYS]).fetchall():
        if run_id != latest[source]:
            earlier.setdefault(source, []).append(run_id)
    for start in range(0, max(map(len, earlier.values()), default=0), RATE_LOOKBACK_RUNS):
        wanted = {(check, source) for check, *_r in rates for source in missing if (check, source) not in judged}
        if not wanted:
            return
        batch = {(source, run_id) for source in {s for _c, s in wanted}
                 for run_id in earlier.get(source, [])[start:start + RATE_LOOKBACK_RUNS]}
        if not batch:
            return
        found = counts(batch)
        for i, (check, *_rest) in enumerate(rates):
            for source in {s for c, s in wanted if c == check}:
                for run_id in earlier.get(source, [])[start:start + RATE_LOOKBACK_RUNS]:
                    values = found.get((source, run_id))
                    if values and values[2 * i + 1]:
                        judged[(check, source)] = (values[2 * i], values[2 * i + 1], run_id)
                        break


# A feed lists its newest items only. When a scheduled re-read finds none of them known (stored, or checked since),
# the feed turned over completely since the last run, and whatever it listed in between was never seen: the source
# is read too seldom for how much it publishes. A handful of items is too few to tell.
TURNOVER_MIN_ITEMS = 5
KEY_CHECK_DAYS = 7


def check_listing_turnover(con, *, retired: dict | None = None) -> list[dict]:
    """Per feed source, its latest run (the listing_turnover view): how many of the article pages its feed listed
    were already known. None, on a source read before, warns that articles between the two runs may be missing.
    `retired` sources are left out: their last run's verdict would stand for ever. A source the run before on its
    schedule did not read (back in the sources file after a week out, or moved to another schedule) is not judged
    at that first run back: its feed turned over while no run was meant to read it, and "read it more often" was
    said of a schedule that had not read it once."""
    rows = con.execute("select source, run_id, runs, known, listed, read_by_previous_run from listing_turnover "
                       "order by source").fetchall()
    out = []
    for source, run_id, runs, known, listed, continued in rows:
        if source in (retired or {}):
            continue
        turned_over = runs > 1 and continued and listed >= TURNOVER_MIN_ITEMS and known == 0
        back = {} if continued or runs <= 1 else {
            "note": "the run before it on this schedule did not read the source (taken out of the sources file, or "
                    "moved from another schedule): no turnover to judge until its next run"}
        out.append(_row("listing_turnover", source, known,
                        "> 0 of the feed's items known from an earlier run (else: read it more often)",
                        "warn" if turned_over else "pass", ingest_run_id=run_id, listed=listed, runs=runs, **back))
    return out


def check_unique_keys(con) -> list[dict]:
    """Each table's key (newsflow.warehouse.KEYS) is unique: a lake has no primary keys, the loads keep them. The
    tables keyed by run are checked over the runs written in the last KEY_CHECK_DAYS: each quality run follows a
    load, so every run is checked after it is written, and the history is not counted again every 15 minutes."""
    from newsflow.warehouse import KEYS, RUN_STAMPS, duplicate_keys

    rows = []
    for table, n in duplicate_keys(con, recent_days=KEY_CHECK_DAYS).items():
        scope = f" (runs written in the last {KEY_CHECK_DAYS} days)" if table in RUN_STAMPS else ""
        extra = {"runs_written_within_days": KEY_CHECK_DAYS} if table in RUN_STAMPS else {}
        rows.append(_row(f"duplicate_keys:{table}", WAREHOUSE, n,
                         f"0 rows sharing a key in {table} ({', '.join(KEYS[table])}){scope}",
                         "fail" if n else "pass", table=table, **extra))
    return rows


def sql_checks(con, *, now: datetime | None = None, limits: Thresholds | None = None) -> list[dict]:
    from newsflow.extraction_health import extraction_health_checks

    limits = limits or Thresholds()
    retired = retired_sources(con)
    return [
        *check_unique_keys(con),
        *check_retired_sources(retired),
        *check_freshness(con, now=now, limits=limits, retired=retired),
        *check_volume(con, now=now, limits=limits, retired=retired),
        *check_null_rates(con, limits=limits, retired=retired),
        *check_duplicate_rate(con, limits=limits, retired=retired),
        *check_run_rates(con, limits=limits, retired=retired),
        *check_listing_turnover(con, retired=retired),
        *check_date_disagreement_rate(con, limits=limits, retired=retired),
        *extraction_health_checks(con, now=now),
    ]


# --- Great Expectations on a snapshot of `articles` -----------------------------------------------------------


def articles_snapshot(con, max_rows: int = 200_000):
    """A pandas frame of the columns the warehouse suite needs (a reservoir sample for large tables)."""
    total = con.execute("select count(*) from articles").fetchall()[0][0]
    columns = "article_id, published_at, language, body_chars"
    if total > max_rows:
        sql = f"select {columns} from articles using sample reservoir({int(max_rows)} rows) repeatable (42)"
    else:
        sql = f"select {columns} from articles"
    from newsflow.warehouse import frame

    return frame(con, sql), total, total > max_rows


def gx_project_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "gx_project"


def data_docs_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "data_docs"


def gx_context(data_dir: Path):
    """File-backed GX context under <data dir>/gx_project with one Data Docs site in <data dir>/data_docs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    gx = import_gx()
    root = gx_project_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    site = {
        "class_name": "SiteBuilder",
        # GX's own limit: the index and the validation pages hold the newest results only
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               "validation_results_limit": DATA_DOCS_VALIDATIONS},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir(data_dir))},
    }
    sites = context.config.data_docs_sites or {}
    if "local_site" in sites:
        context.delete_data_docs_site("local_site")  # one site only, in the place the UI plugin serves
    if (context.config.data_docs_sites or {}).get(GX_SITE) != site:  # new, or made by an earlier version
        if GX_SITE in (context.config.data_docs_sites or {}):
            context.delete_data_docs_site(GX_SITE)
        context.add_data_docs_site(GX_SITE, site)
    return context


def build_warehouse_suite(now: datetime):
    gx = import_gx()
    import great_expectations.expectations as gxe
    import pandas as pd

    suite = gx.ExpectationSuite(name=GX_SUITE)
    for expectation in (
        gxe.ExpectColumnValuesToBeUnique(column="article_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="article_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="published_at"),
        gxe.ExpectColumnValuesToBeBetween(
            column="published_at", min_value=pd.Timestamp("1990-01-01", tz="UTC"),
            max_value=pd.Timestamp(now) + pd.Timedelta(days=1),
        ),
        gxe.ExpectColumnValuesToMatchRegex(column="language", regex=r"^[a-z]{2}$"),
        gxe.ExpectColumnValuesToBeBetween(column="body_chars", min_value=1),
    ):
        suite.add_expectation(expectation)
    return suite


def shown_warehouse(location: str) -> str:
    """A warehouse location as pages may show it: a folder as its path, a `postgres:` catalog without its password
    (Data Docs are served to every Airflow user), the characters HTML gives a meaning percent-encoded: GX's Data Docs
    index hands the asset name to its table as markup, so a warehouse param of `/x/<img onerror=...>` ran its script
    in the Airflow UI's origin."""
    from newsflow.config import shown_location

    if location.startswith("postgres:"):
        location = shown_location(location)
    return re.sub(r"[<>&\"'`]", lambda m: f"%{ord(m.group()):02X}", location)


def _upsert(collection, item):
    try:
        return collection.add(item)
    except Exception:  # noqa: BLE001 - already stored: replace it (the suite and dates change between runs)
        collection.delete(item.name)
        return collection.add(item)


def gx_validate(frame, *, data_dir: Path, now: datetime | None = None, total: int | None = None,
                sampled: bool = False, run_name: str | None = None,
                warehouse: str | Path | None = None) -> list[dict]:
    """Validate the snapshot of `warehouse` (default: the deployment's) through a checkpoint in the file-backed
    context; results are stored there (Data Docs render them, each naming its warehouse) and returned as
    quality_checks rows (source '*')."""
    gx = import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    from newsflow.config import warehouse_location
    from newsflow.dag_tasks import articles_asset

    now = _now(now)
    location = warehouse_location(warehouse)
    # one GX data asset per warehouse, named as its Airflow Asset: the data dir's one GX project holds every
    # warehouse checked with it, and the warehouses of one quality run share its run name and time. One asset for
    # all gave their results one store key (the last one validated replaced the others) and named no lake.
    warehouse_asset = articles_asset(location)
    context = gx_context(data_dir)
    if frame is None or len(frame) == 0:
        return [_row("gx_articles", WAREHOUSE, None, "articles suite", "pass", note="no articles to validate")]
    frame = frame.copy()
    import pandas as pd

    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    try:
        source = context.data_sources.get("newsflow_warehouse")
    except Exception:  # noqa: BLE001 - not created yet
        source = context.data_sources.add_pandas("newsflow_warehouse")
    try:
        asset = source.get_asset(warehouse_asset.name)
    except Exception:  # noqa: BLE001 - not created yet
        asset = source.add_dataframe_asset(warehouse_asset.name)
    try:
        batch_definition = asset.get_batch_definition("snapshot")
    except Exception:  # noqa: BLE001 - not created yet
        batch_definition = asset.add_batch_definition_whole_dataframe("snapshot")
    suite = _upsert(context.suites, build_warehouse_suite(now))
    validation = _upsert(
        context.validation_definitions,
        gx.ValidationDefinition(name=warehouse_asset.name, data=batch_definition, suite=suite),
    )
    checkpoint = _upsert(
        context.checkpoints,
        gx.Checkpoint(
            name=warehouse_asset.name,
            validation_definitions=[validation],
            actions=[],  # Data Docs are built by build_data_docs (its own task in news_quality)
            result_format={"result_format": "SUMMARY"},
        ),
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        run_id=RunIdentifier(run_name=run_name or now.strftime("%Y%m%dT%H%M%S"), run_time=now),
    )
    shown = shown_warehouse(location)
    for key, validation_result in result.run_results.items():
        # GX's asset names are file names (no "/"); the asset name a result's batch spec gives is what Data Docs
        # show as its asset (the index's Asset Name, the page's "Data asset"), so the warehouse is said there in full
        validation_result.meta["batch_spec"] = {**(validation_result.meta.get("batch_spec") or {}),
                                                "data_asset_name": f"articles of {shown}", "warehouse": shown,
                                                "airflow_asset": warehouse_asset.uri}
        context.validation_results_store.set(key, validation_result)
    rows = []
    for validation_result in result.run_results.values():
        for item in validation_result.results:
            config = item.expectation_config
            column = config.kwargs.get("column")
            error = expectation_error(item)
            res = item.result or {}
            percent = float(res.get("unexpected_percent") or 0.0)
            rows.append(
                _row(
                    # an expectation that could not run measured nothing: not "0" unexpected
                    f"gx:{config.type}({column})", WAREHOUSE, None if error else round(percent / 100.0, 6),
                    "0 unexpected", "fail" if (error or not item.success) else "pass",
                    element_count=res.get("element_count"), unexpected_count=res.get("unexpected_count"),
                    partial_unexpected=(res.get("partial_unexpected_list") or [])[:5], sampled=sampled,
                    table_rows=total, exception=error,
                )
            )
    return rows


def build_data_docs(data_dir: Path) -> Path:
    """Render the static Data Docs site from the stored suites and the newest DATA_DOCS_VALIDATIONS validation
    results (older results and their pages are deleted); returns index.html."""
    import time

    from newsflow.cleanup import remove_empty_folders
    from newsflow.offline_docs import make_offline

    context = gx_context(data_dir)
    prune_validation_results(context)
    started = time.time()
    context.build_data_docs(site_names=[GX_SITE])
    # GX writes every page in its window at each build: a validation page this build did not write is one that
    # has left the window
    pages = data_docs_dir(data_dir) / "validations"
    for page in pages.rglob("*.html") if pages.is_dir() else ():
        if page.stat().st_mtime < started - 1:
            page.unlink()
    remove_empty_folders(pages)
    make_offline(data_docs_dir(data_dir))  # no CDN/S3 URLs: vendored copies under data_docs/_vendor/
    index = data_docs_dir(data_dir) / "index.html"
    if not index.exists():
        raise RuntimeError(f"GX did not write {index}")
    return index


def prune_validation_results(context, keep: int | None = None) -> int:
    """Delete the stored validation results but the newest `keep` (DATA_DOCS_VALIDATIONS) from the context's
    validation results store (files under the folder its configuration names); returns how many went."""
    from newsflow.cleanup import remove_empty_folders

    keep = DATA_DOCS_VALIDATIONS if keep is None else keep
    backend = context.config.stores[context.validation_results_store_name].get("store_backend") or {}
    if backend.get("class_name") != "TupleFilesystemStoreBackend":
        return 0  # a store elsewhere (a bucket, GX Cloud) keeps its own retention
    folder = Path(context.root_directory) / backend.get("base_directory", "uncommitted/validations/")
    results = sorted(folder.rglob("*.json"), key=lambda p: (p.stat().st_mtime, str(p))) if folder.is_dir() else []
    gone = results[:max(0, len(results) - keep)]
    for path in gone:
        path.unlink()
    remove_empty_folders(folder)
    if gone:
        log.info("pruned %d stored validation results (kept the newest %d)", len(gone), keep)
    return len(gone)


# --- writing ---------------------------------------------------------------------------------------------------


def write_checks(con, run_id: str, rows: list[dict], checked_at: datetime | None = None) -> int:
    """Replace the run's rows in one transaction (a rerun of the same run id is idempotent)."""
    from newsflow.warehouse import transaction

    checked_at = _now(checked_at)
    seen: dict[tuple[str, str], dict] = {}
    twice: set[tuple[str, str]] = set()
    for row in rows:
        if row["status"] not in STATUSES:
            raise ValueError(f"bad status {row['status']!r} for {row['check_name']}")
        key = (row["check_name"], row["source"])
        if key in seen:
            twice.add(key)
        seen[key] = row
    if twice:
        # one row per check and source: the later row replaced the earlier without a word (a new check named as an
        # existing one stored its pass over the other's failure, which the task log still listed as failing)
        named = ", ".join(f"{name}[{source}]" for name, source in sorted(twice))
        from newsflow.stages.failures import PermanentError

        # the code's own mistake: no retry mends it
        raise PermanentError(f"more than one row for {named} in one quality run: give each check a name of its own")
    with transaction(con):
        con.execute("delete from quality_checks where run_id = ?", [run_id])
        if seen:
            # one statement for all rows: in a lake each insert statement is a write of its own
            con.execute(
                "insert into quality_checks (run_id, checked_at, check_name, source, observed, expected, status, "
                "details) select $run_id, $checked_at, unnest($names), unnest($sources), unnest($observed), "
                "unnest($expected), unnest($statuses), unnest($details)",
                {"run_id": run_id, "checked_at": checked_at,
                 "names": [r["check_name"] for r in seen.values()], "sources": [r["source"] for r in seen.values()],
                 "observed": [r["observed"] for r in seen.values()],
                 "expected": [r["expected"] for r in seen.values()],
                 "statuses": [r["status"] for r in seen.values()], "details": [r["details"] for r in seen.values()]},
            )
    return len(seen)


def run_quality_checks(run_id: str, *, warehouse: str | Path | None = None, data_dir: str | Path | None = None,
                       now: datetime | None = None, limits: Thresholds | None = None, gx: bool = True) -> dict:
    """The news_quality task: migrate (creates quality_checks), read and check on a read-only connection,
    validate with GX, then one short write. Returns a summary (counts per status, failing checks)."""
    from newsflow.config import data_dir as default_data_dir
    from newsflow.warehouse import connect, open_for_write

    limits = limits or Thresholds()
    # never later than the clock: a logical date ahead of it (`--logical-date` of a day that is today at UTC+14 only)
    # would age every fetch by the hours to come, judge the day in progress and date the run ahead of the next ones
    now = min(_now(now), datetime.now(UTC))
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    con = open_for_write(warehouse)  # creates the file and the quality_checks table when missing
    con.close()
    con = connect(warehouse, read_only=True)
    try:
        rows = sql_checks(con, now=now, limits=limits)
        frame, total, sampled = articles_snapshot(con, limits.gx_max_rows) if gx else (None, 0, False)
    finally:
        con.close()
    if gx:
        rows += gx_validate(frame, data_dir=data_dir, now=now, total=total, sampled=sampled, run_name=run_id,
                            warehouse=warehouse)
    con = connect(warehouse)
    try:
        written = write_checks(con, run_id, rows, checked_at=now)
    finally:
        con.close()
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    failing = sorted(f"{r['check_name']}[{r['source']}]" for r in rows if r["status"] == "fail")
    log.info("quality checks %s: %d rows (%s); failing: %s", run_id, written, counts, ", ".join(failing) or "none")
    return {"run_id": run_id, "rows": written, **counts, "failing": failing}
