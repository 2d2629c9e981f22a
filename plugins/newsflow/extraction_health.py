"""Extraction health per source for news_quality: where dates come from, why pages are rejected, and how long bodies
and titles are, each in the last day against the source's own 28-day baseline, so a site template change that
breaks extraction is flagged.

Every function takes an open DuckDB connection (read-only is enough) with the warehouse's `articles` and
`fetch_log` tables and returns check rows in the shape quality_checks writes: check_name, source, observed,
expected, status (pass | warn | fail), details (JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class HealthLimits:
    """A source is compared with itself: the last `current_days` against the `baseline_days` before them."""

    current_days: int = 1
    baseline_days: int = 28
    min_current: int = 5  # articles (or judged pages) in the current window before anything is graded
    min_baseline: int = 20
    min_rejected_without_baseline: int = 3  # pages rejected for one reason before a source without baseline is graded
    # total variation distance between the current and the baseline shares of date sources (0 = same mix,
    # 1 = no date source in common): a template change moves the dates from JSON-LD to guesses at once
    date_source_shift: tuple[float, float] = (0.3, 0.5)
    # rise of a rejection reason's rate over its baseline rate (absolute)
    rejection_rise: tuple[float, float] = (0.15, 0.35)
    # current median length / baseline median length: below these a body or title was cut, above it grew junk
    length_ratio_low: tuple[float, float] = (0.6, 0.4)
    length_ratio_high: tuple[float, float] = (2.0, 3.0)


def _row(check: str, source: str, observed, expected: str, status: str, **details) -> dict:
    return {"check_name": check, "source": source, "observed": None if observed is None else float(observed),
            "expected": expected, "status": status,
            "details": json.dumps(details, default=str, ensure_ascii=False) if details else None}


def _windows(now: datetime | None, limits: HealthLimits) -> tuple[datetime, datetime, datetime]:
    """(start of the current window, start of the baseline, end of the current window: `now`). A quality run dated
    before the latest fetches (`ingest --quality --logical-date`, a backfill) judges its own day, not what came since."""
    now = now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    start = now - timedelta(days=limits.current_days)
    return start, start - timedelta(days=limits.baseline_days), now


def _above(value: float, limits: tuple[float, float]) -> str:
    return "fail" if value > limits[1] else "warn" if value > limits[0] else "pass"


def check_date_sources(con, *, now: datetime | None = None, limits: HealthLimits | None = None) -> list[dict]:
    """Per source: the share of its articles by date_source in the current window, against its baseline; observed
    is the total variation distance between the two mixes."""
    t = limits or HealthLimits()
    start, base_start, end = _windows(now, t)
    rows = con.execute(
        """
        select source, coalesce(date_source, 'none') as date_source,
               count(*) filter (where fetched_at >= ?) as current_n,
               count(*) filter (where fetched_at >= ? and fetched_at < ?) as baseline_n
        from articles where fetched_at >= ? and fetched_at <= ?
        group by all order by source, date_source
        """,
        [start, base_start, start, base_start, end],
    ).fetchall()
    by_source: dict[str, dict[str, tuple[int, int]]] = {}
    for source, date_source, current_n, baseline_n in rows:
        by_source.setdefault(source, {})[date_source] = (current_n, baseline_n)
    out = []
    for source, counts in by_source.items():
        cur_total = sum(c for c, _ in counts.values())
        base_total = sum(b for _, b in counts.values())
        current = {k: round(c / cur_total, 4) for k, (c, _) in counts.items() if cur_total and c}
        baseline = {k: round(b / base_total, 4) for k, (_, b) in counts.items() if base_total and b}
        expected = f"mix within {t.date_source_shift[0]:g} of the 28-day baseline (fail > {t.date_source_shift[1]:g})"
        if cur_total < t.min_current or base_total < t.min_baseline:
            out.append(_row("extraction_date_sources", source, None, expected, "pass", current=current,
                            baseline=baseline, articles=cur_total, baseline_articles=base_total,
                            note="not enough articles to compare"))
            continue
        shift = sum(abs(current.get(k, 0.0) - baseline.get(k, 0.0)) for k in counts) / 2
        out.append(_row("extraction_date_sources", source, round(shift, 4), expected,
                        _above(shift, t.date_source_shift), current=current, baseline=baseline,
                        articles=cur_total, baseline_articles=base_total))
    return out


def check_rejection_reasons(con, *, now: datetime | None = None, limits: HealthLimits | None = None) -> list[dict]:
    """Per source and rejection reason: the share of the pages judged (loaded or rejected article URLs in fetch_log)
    rejected for that reason among those fetched in the current window, against the same share in the baseline."""
    t = limits or HealthLimits()
    start, base_start, end = _windows(now, t)
    # each page once per window, by its latest verdict: a news_reprocess judges the archived pages again (the same
    # bytes), and one page rejected by an ingest and two reprocesses was 3 rejected of 7 judged, a failure. Windowed
    # on when the page was fetched (a WARC source: its WARC-Date), as the article checks are, not on when the load
    # logged it: a backfill of a 2018 crawl logged in 2026 had no rejection in its own day, and a live run judged the
    # crawl's rejections as today's. A reprocess keeps the fetch time, so its verdict replaces the ingest's in the
    # same window.
    pages = """
        with pages as (
            -- a row without a fetch time (a reprocess of an article stored without one): when it was logged
            select source, coalesce(fetched_at, logged_at) as fetched, outcome, reason
            from fetch_log
            where url_kind = 'article' and outcome in ('loaded', 'rejected')
              and coalesce(fetched_at, logged_at) >= $base_start and coalesce(fetched_at, logged_at) <= $end
            qualify row_number() over (partition by source, url, coalesce(fetched_at, logged_at) >= $start
                                       order by logged_at desc) = 1
        )
    """
    window = {"base_start": base_start, "start": start, "end": end}
    judged = con.execute(
        pages + """
        select source, count(*) filter (where fetched >= $start), count(*) filter (where fetched < $start)
        from pages
        group by source order by source
        """,
        window,
    ).fetchall()
    reasons = con.execute(
        pages + """,
        rejected as (
            select source, fetched, unnest(string_split(coalesce(reason, 'unknown'), ';')) as reason
            from pages
            where outcome = 'rejected'
        )
        select source, reason, count(*) filter (where fetched >= $start), count(*) filter (where fetched < $start)
        from rejected group by all order by source, reason
        """,
        window,
    ).fetchall()
    totals = {source: (cur, base) for source, cur, base in judged}
    out = []
    for source, reason, cur_n, base_n in reasons:
        cur_total, base_total = totals.get(source, (0, 0))
        check = f"extraction_rejection_{reason}"
        expected = f"rise <= {t.rejection_rise[0]:g} over the 28-day baseline (fail > {t.rejection_rise[1]:g})"
        current = cur_n / cur_total if cur_total else None
        baseline = base_n / base_total if base_total else 0.0
        has_baseline = base_total >= t.min_baseline
        if current is None or cur_total < t.min_current:
            out.append(_row(check, source, current, expected, "pass", rejected=cur_n, judged=cur_total,
                            baseline_rate=round(baseline, 4), note="not enough pages to compare"))
            continue
        # without a baseline the rise is measured from zero (a new source that rejects most pages is flagged too),
        # but a page or two is no pattern: 1 of a first run's 5 pages was a warning, 2 a failure and an alert
        if not has_baseline and cur_n < t.min_rejected_without_baseline:
            out.append(_row(check, source, round(current, 4), expected, "pass", rejected=cur_n, judged=cur_total,
                            baseline_rate=round(baseline, 4), baseline_judged=base_total,
                            note="too few rejections to judge without a baseline"))
            continue
        rise = current - (baseline if has_baseline else 0.0)
        out.append(_row(check, source, round(current, 4), expected, _above(rise, t.rejection_rise), rejected=cur_n,
                        judged=cur_total, baseline_rate=round(baseline, 4), baseline_judged=base_total))
    return out


def check_lengths(con, *, now: datetime | None = None, limits: HealthLimits | None = None) -> list[dict]:
    """Per source: median body length and median title length of the current window over the baseline's medians."""
    t = limits or HealthLimits()
    start, base_start, end = _windows(now, t)
    rows = con.execute(
        """
        select source,
               count(*) filter (where fetched_at >= ?) as current_n,
               count(*) filter (where fetched_at < ?) as baseline_n,
               median(body_chars) filter (where fetched_at >= ?) as current_body,
               median(body_chars) filter (where fetched_at < ?) as baseline_body,
               median(length(coalesce(title, ''))) filter (where fetched_at >= ?) as current_title,
               median(length(coalesce(title, ''))) filter (where fetched_at < ?) as baseline_title
        from articles where fetched_at >= ? and fetched_at <= ?
        group by source order by source
        """,
        [start, start, start, start, start, start, base_start, end],
    ).fetchall()
    out = []
    for source, cur_n, base_n, cur_body, base_body, cur_title, base_title in rows:
        for check, current, baseline in (("extraction_body_chars", cur_body, base_body),
                                         ("extraction_title_chars", cur_title, base_title)):
            expected = (f"median within x{t.length_ratio_low[0]:g}..x{t.length_ratio_high[0]:g} of the 28-day "
                        f"baseline (fail outside x{t.length_ratio_low[1]:g}..x{t.length_ratio_high[1]:g})")
            if cur_n < t.min_current or base_n < t.min_baseline or not baseline:
                out.append(_row(check, source, None, expected, "pass", current_median=current,
                                baseline_median=baseline, articles=cur_n, baseline_articles=base_n,
                                note="not enough articles to compare"))
                continue
            ratio = (current or 0) / baseline
            low, high = t.length_ratio_low, t.length_ratio_high
            status = ("fail" if ratio < low[1] or ratio > high[1] else
                      "warn" if ratio < low[0] or ratio > high[0] else "pass")
            out.append(_row(check, source, round(ratio, 4), expected, status, current_median=current,
                            baseline_median=baseline, articles=cur_n, baseline_articles=base_n))
    return out


def extraction_health_checks(con, *, now: datetime | None = None, limits: HealthLimits | None = None) -> list[dict]:
    """Every extraction health check for every source."""
    return [*check_date_sources(con, now=now, limits=limits), *check_rejection_reasons(con, now=now, limits=limits),
            *check_lengths(con, now=now, limits=limits)]


def date_source_shares(con, *, now: datetime | None = None, limits: HealthLimits | None = None) -> list[tuple]:
    """(source, date_source, articles, share) over the current and baseline windows together, for the dashboard."""
    _, base_start, end = _windows(now, limits or HealthLimits())
    return con.execute(
        """
        with counted as (
            select source, coalesce(date_source, 'none') as date_source, count(*) as articles
            from articles where fetched_at >= ? and fetched_at <= ?
            group by all
        )
        select source, date_source, articles, round(articles / sum(articles) over (partition by source), 3) as share
        from counted order by source, articles desc, date_source
        """,
        [base_start, end],
    ).fetchall()
