"""The offline dashboard: one self-contained HTML file (plotly.js embedded from the installed plotly package, no
CDN, no network) built from a read-only connection to the warehouse.

Sections: coverage over time per source, a source x day heatmap with gaps marked, a term trend, source freshness,
validation pass rate per ingest run, rejection reasons, fetch outcomes per run and the latest quality checks.
Every section degrades to "no data" on an empty warehouse. Heavy imports stay inside functions (Airflow's plugin
loader imports every file under plugins/).
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

from newsflow.alerts import not_judged
from newsflow.quality_checks import INGEST

STATUS_COLOURS = {"pass": "#1a7f37", "warn": "#b58100", "fail": "#cf222e"}
SEVERITY = {"fail": 0, "warn": 1}  # worst first; every other status after them
# a check whose details carry a note had too little to judge ("not enough articles to compare"): stored as a pass so
# that it raises no alert, shown as neither green nor red
NOT_JUDGED = "not judged"
FIRST_RUN = "first run"  # a check of the first quality run: it changed from nothing
OUTCOME_COLOURS = {"loaded": "#2da44e", "unchanged": "#8c959f", "rejected": "#bf8700", "failed": "#cf222e",
                   "skipped": "#6e7781"}
HEATMAP_MAX_DAYS = 180
GAP_MARKERS = {"zero": ("x-thin", "#cf222e"), "low": ("triangle-down-open", "#b58100")}  # coverage_gaps.gap_kind
# the biggest sources get a colour each in the coverage chart, the rest one band: sixty colours tell nothing apart
# (the heatmap below keeps a row per source)
COVERAGE_SOURCES = 12
OTHER_COLOUR = "#afb8c1"
PAD_DAYS = {"day": 1, "week": 7, "month": 31}  # a lone bar keeps a period's room on either side
# an old tail the charts over time leave out: at most this share of the articles, before a gap longer than the rest
# of the span (a 1995 archive page in a lake of last month's news would make every bar a month wide)
OLD_TAIL_SHARE = 0.05
RUN_HISTORY_DAYS = 30  # the per-run charts: validation pass rate, fetch outcomes
# bars the fetch-outcomes chart draws side by side: 30 days of a 15-minute schedule are 2,880 runs, each bar under
# half a pixel wide (the chart looked empty); more runs than this are summed per period of RUN_PERIODS
RUN_BARS = 150
RUN_PERIODS = (("hour", "1h"), ("3 hours", "3h"), ("6 hours", "6h"), ("12 hours", "12h"), ("day", "1D"))
RECENT_ARTICLES = 500  # the articles whose headlines choose the dashboard's term (0.3 s for 500 long bodies)
WORD = r"[^\p{L}\p{N}]+"
STOPWORDS = {"because", "between", "through", "against", "without", "million", "billion", "percent", "according",
             "however", "including", "during", "before", "after", "should", "people", "government", "about"}
# a news_reprocess run re-reads the archive: it fetches nothing, and its validations are of every archived article
# again, so the header counts it apart and the charts per ingest run leave its rows out
REPROCESS_RUN_IDS = f"select run_id from runs where not ({INGEST})"


def _has_relation(con, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_views() where view_name = ?", [name]).fetchall()[0][0])


def _frame(con, sql: str, params=None):
    from newsflow.warehouse import frame

    return frame(con, sql, params)


def default_term(con) -> str | None:
    """A headline word of the latest articles: the long word (8+ letters, not a number) in the most of their titles,
    ties going to the word more of them mention anywhere (a small warehouse's titles rarely share a word); the most
    mentioned body word when no title has one."""
    rows = con.execute(
        f"""
        with recent as (
            select row_number() over () as k, lower(coalesce(title, '')) as title, lower(coalesce(body, '')) as body
            -- the newest fetch times first, then only the files that hold them: the bodies of a whole lake were
            -- read for a top-N of 500 (1.3-3.1 s against 0.7-1.3 s on a 200,000-article lake); a load dates each
            -- article it stores with its fetch
            from (
                select title, body from articles
                where fetched_at >= (
                    select min(fetched_at)
                    from (select fetched_at from articles order by fetched_at desc limit {RECENT_ARTICLES})
                )
                order by fetched_at desc limit {RECENT_ARTICLES}
            )
        ),
        words as (
            select k, true as in_title, unnest(regexp_split_to_array(title, '{WORD}')) as word from recent
            union all
            select k, false as in_title, unnest(regexp_split_to_array(body, '{WORD}')) as word from recent
        ),
        article_words as (
            select k, word, bool_or(in_title) as in_title
            from words
            where length(word) >= 8 and not regexp_matches(word, '^[0-9]+$')
            group by k, word
        )
        select word
        from article_words
        group by word
        order by count(*) filter (where in_title) desc, count(*) desc, word
        limit 40
        """
    ).fetchall()
    return next((word for (word,) in rows if word not in STOPWORDS), None)


def period_grain(first_day, last_day) -> str:
    """The period of the over-time charts (coverage, term trend): days for up to HEATMAP_MAX_DAYS of articles,
    weeks for up to three years, months beyond."""
    span = (last_day - first_day).days if first_day and last_day else 0
    return "day" if span < HEATMAP_MAX_DAYS else "week" if span < 3 * 366 else "month"


def charts_start(con, first_day, last_day) -> tuple:
    """(the first published day the charts over time show, the articles before it): the oldest day, unless a few old
    articles (at most OLD_TAIL_SHARE of them) lie before a gap longer than everything after it and would change the
    charts' period. Then the earliest such start, so that as few articles as possible are left out."""
    if not first_day or not last_day:
        return first_day, 0
    whole = period_grain(first_day, last_day)
    rows = con.execute(
        """
        with days as (
            select published_date as day, count(*) as articles
            from articles
            where published_date is not null
            group by all
        ),

        running as (
            select
                day,
                day - lag(day) over (order by day) as gap,
                coalesce(sum(articles) over (order by day rows between unbounded preceding and 1 preceding), 0)
                    as older,
                sum(articles) over () as total
            from days
        )

        select day, older
        from running
        where gap > (?::date - day) and older <= ? * total
        order by day
        """,
        [last_day, OLD_TAIL_SHARE],
    ).fetchall()
    return next(((day, older) for day, older in rows if period_grain(day, last_day) != whole), (first_day, 0))


def term_trend(con, term: str, grain: str, since=None):
    """Per period from `since` on, the original articles mentioning `term` and their share: the analysts'
    term_coverage macro (the same answer, from the term index), never a count of its own."""
    return _frame(con, "select period, articles, all_articles, share from term_coverage(?, ?) "
                       "where ?::date is null or period >= term_period(?::date, ?) order by period",
                  [term, grain, since, since, grain])


# --- data ------------------------------------------------------------------------------------------------------


def collect(con, *, term: str | None = None, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    data: dict = {"now": now}
    data["totals"] = con.execute(
        "select (select count(*) from articles), (select count(distinct source) from articles), "
        "(select min(published_date) from articles), (select max(published_date) from articles), "
        f"(select count(*) from runs where {INGEST})"
    ).fetchall()[0]
    data["reprocess_runs"] = con.execute(f"select count(*) from ({REPROCESS_RUN_IDS})").fetchall()[0][0]
    first_day, last_day = data["totals"][2], data["totals"][3]
    data["since"], data["left_out"] = charts_start(con, first_day, last_day)
    # one grain for the charts over the whole span: a year of daily bars per source is ~20,000 points to draw
    data["grain"] = period_grain(data["since"], last_day)
    # stories, as coverage_daily counts them: a wire copy is the same story again (the heatmap below counts what each
    # outlet published, copies included)
    data["coverage"] = _frame(
        con,
        "select source, date_trunc(?, published_date)::date as period, count(*) as articles from articles "
        "where published_date >= ? and duplicate_of is null group by all order by period, source",
        [data["grain"], data["since"]],
    )
    data["heatmap"] = _frame(
        con,
        f"""
        select source, published_date as day, count(*) as articles from articles
        where published_date > (select max(published_date) from articles) - {HEATMAP_MAX_DAYS}
        group by all order by day, source
        """,
    )
    data["gaps"] = _gaps(con)
    data["term"] = term or default_term(con)
    data["term_trend"] = term_trend(con, data["term"], data["grain"], data["since"]) if data["term"] else None
    data["freshness"] = _freshness(con, now)
    # the runs of the RUN_HISTORY_DAYS up to the newest: a service ingesting every 15 minutes makes ~35,000 runs a
    # year, more bars than a chart can show and a query that would grow with every run
    data["validation"] = _frame(
        con,
        f"""
        with ingest as (select * from validation_results where run_id not in ({REPROCESS_RUN_IDS})),
        recent as (
            select * from ingest
            where validated_at >= (select max(validated_at) from ingest) - interval {RUN_HISTORY_DAYS} day
        )
        select run_id, min(validated_at) as validated_at, avg(success::int) as pass_rate,
               count(*) filter (where not success) as failed_expectations, count(*) as expectations
        from recent group by run_id order by validated_at
        """,
    )
    data["rejections"] = _frame(
        con,
        "select reason, source, count(*) as n from (select unnest(reasons) as reason, source from rejected_articles) "
        "group by all order by n desc",
    )
    data["fetch"] = _frame(
        con,
        f"""
        with ingest as (select run_id, outcome, logged_at from fetch_log where run_id not in ({REPROCESS_RUN_IDS})),
        recent as (
            select * from ingest
            where logged_at >= (select max(logged_at) from ingest) - interval {RUN_HISTORY_DAYS} day
        ),
        run_starts as (
            select recent.run_id, coalesce(min(runs.started_at), min(recent.logged_at)) as run_start
            from recent left join runs using (run_id)
            group by recent.run_id
        )
        select run_starts.run_start, recent.run_id, recent.outcome, count(*) as n
        from recent inner join run_starts using (run_id)
        group by all
        order by run_starts.run_start, recent.outcome
        """,
    )
    if con.execute("select count(*) from duckdb_tables() where table_name = 'quality_checks'").fetchall()[0][0]:
        data["checks"] = con.execute(
            """
            select run_id, checked_at, check_name, source, observed, expected, status, details from quality_checks
            where run_id = (select run_id from quality_checks order by checked_at desc limit 1)
            order by case status when 'fail' then 0 when 'warn' then 1 else 2 end, check_name, source
            """
        ).fetchall()
        data["check_changes"] = _check_changes(con, data["checks"][0][0]) if data["checks"] else {}
    else:
        data["checks"], data["check_changes"] = [], {}
    data["freshness"] = _judged_freshness(data["freshness"], data["checks"])
    from newsflow.extraction_health import date_source_shares

    data["date_sources"] = date_source_shares(con, now=now)
    return data


def _check_changes(con, run_id: str) -> dict[tuple[str, str], str]:
    """(check, source) -> what it was in the quality run before ("was pass", "new"), for the checks whose status
    changed (macro quality_changes; the alerts compare with what they last said instead), absent from a lake
    migrated before it existed."""
    if not con.execute("select count(*) from duckdb_functions() where function_name = 'quality_changes'").fetchone()[0]:
        return {}
    rows = con.execute("select check_name, source, previous_status, previous_run_id from quality_changes(?) "
                       "where status is not null", [run_id]).fetchall()
    return {(name, source): f"was {before}" if before else ("new" if run_before else FIRST_RUN)
            for name, source, before, run_before in rows}


def _gaps(con):
    """Source-days to mark on the heatmap: the coverage_gaps view when it exists, else days without articles
    between each source's first day and the warehouse's last day (a source gone silent shows up)."""
    if _has_relation(con, "coverage_gaps"):
        try:
            return _frame(con, "select source, day, gap_kind from coverage_gaps where gap_kind is not null")
        except Exception:  # noqa: BLE001 - an older or different view: fall back to base tables
            pass
    return _frame(
        con,
        """
        with spans as (select source, min(published_date) as first_day,
                              max(max(published_date)) over () as last_day
                       from articles group by source),
        days as (select source, unnest(generate_series(first_day, last_day, interval 1 day))::date as day from spans),
        counts as (select source, published_date as day, count(*) as n from articles group by all)
        select days.source, days.day, 'zero' as gap_kind
        from days left join counts using (source, day) where counts.n is null
        """,
    )


def _freshness(con, now: datetime) -> list[tuple]:
    if _has_relation(con, "source_freshness"):
        try:
            return con.execute(
                "select source, last_published, last_fetched, articles_1d, articles_7d, articles_30d, status "
                "from source_freshness order by source"
            ).fetchall()
        except Exception:  # noqa: BLE001 - fall back to base tables
            pass
    return con.execute(
        """
        with s as (select name as source from sources union select distinct source from articles),
        a as (select source, max(published_at) as last_published,
                     count(*) filter (where published_at >= $now - interval 1 day) as d1,
                     count(*) filter (where published_at >= $now - interval 7 day) as d7,
                     count(*) filter (where published_at >= $now - interval 30 day) as d30
              from articles group by source),
        f as (select source, max(fetched_at) filter (where outcome in ('loaded', 'unchanged')) as last_fetched
              from fetch_log group by source)
        select s.source, a.last_published, f.last_fetched, coalesce(d1, 0), coalesce(d7, 0), coalesce(d30, 0),
               case when a.last_published >= $now - interval 2 day then 'fresh'
                    when a.last_published >= $now - interval 7 day then 'stale' else 'silent' end
        from s left join a using (source) left join f using (source) order by s.source
        """,
        {"now": now},
    ).fetchall()


def _judged_freshness(rows: list[tuple], checks: list[tuple]) -> list[tuple]:
    """The freshness rows with the status the latest quality run (`checks`) gave each source, which is what the
    alerts say: the worst of its freshness_* checks, `retired` for a source it retired. The view's own 2/7-day
    status only for a source that run did not judge (no quality run yet). Worst first, then by source."""
    retired = {source for _run, _at, name, source, *_ in checks if name == "source_retired"}
    worst: dict[str, str] = {}
    for _run, _at, name, source, _observed, _expected, status, _details in checks:
        if name.startswith("freshness_"):
            worst[source] = min(worst.get(source, status), status, key=lambda s: SEVERITY.get(s, 2))
    judged = [(*row[:6], "retired" if row[0] in retired else worst.get(row[0], row[6])) for row in rows]
    return sorted(judged, key=lambda row: (SEVERITY.get(row[6], 2), str(row[0])))


# --- figures ---------------------------------------------------------------------------------------------------


def _plot_text(value) -> str:
    """A name, term or run id as plotly shows it. Plotly draws its own pseudo-HTML (<b>, <br>, <span style=...>) in
    titles, ticks, legends and hover labels, and shows &lt; &gt; &amp; as the characters: a source called <b>x</b>
    then reads as itself instead of a bold x."""
    return html.escape(str(value), quote=False)


def _layout(fig, title: str, height: int = 380):
    fig.update_layout(title={"text": title, "x": 0.01}, height=height, margin={"l": 60, "r": 20, "t": 50, "b": 50},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig


def _count_axis(top) -> dict:
    """A y (or x) axis of counts: whole numbers only (plotly would tick 0.2, 0.4 ... under a count of 1)."""
    axis = {"rangemode": "tozero", "tickformat": ",d"}
    if top is not None and top <= 10:
        axis["dtick"] = 1
    return axis


def _share_axis(top) -> dict:
    """A percent axis from 0 to a little above the largest share, ticked in round steps (left to plotly, an
    overlaying axis takes the other axis' tick count: 10.45 %, 20.9 % ...)."""
    high = min(105.0, max(1.0, float(top or 0) * 110))
    step = next(s for s in (0.2, 0.5, 1, 2, 5, 10, 20, 25) if high / s <= 6)
    return {"range": [0, high], "tickmode": "linear", "tick0": 0, "dtick": step, "ticksuffix": "%"}


def _day_axis(values, pad_days: int = 1) -> dict:
    """An x axis of days. Under a week of data plotly zooms in to milliseconds around a lone point; the range is
    then padded to whole days and ticked once a day."""
    import pandas as pd

    days = pd.to_datetime(pd.Series(values)).dropna()
    axis: dict = {"type": "date"}
    if len(days) and days.max() - days.min() < pd.Timedelta(days=7):
        low, high = days.min() - pd.Timedelta(days=pad_days), days.max() + pd.Timedelta(days=pad_days)
        axis.update(range=[low.strftime("%Y-%m-%d"), high.strftime("%Y-%m-%d")], dtick=86_400_000,
                    tickformat="%b %-d\n%Y")
    return axis


def _time_axis(values) -> dict:
    """An x axis of run times: within two hours of data (one run, a first morning) padded to an hour each side."""
    import pandas as pd

    times = pd.to_datetime(pd.Series(values), utc=True).dropna()
    axis: dict = {"type": "date"}
    if len(times) and times.max() - times.min() < pd.Timedelta(hours=2):
        low, high = times.min() - pd.Timedelta(hours=1), times.max() + pd.Timedelta(hours=1)
        axis.update(range=[low.strftime("%Y-%m-%d %H:%M:%S"), high.strftime("%Y-%m-%d %H:%M:%S")],
                    tickformat="%H:%M\n%b %-d, %Y")
    return axis


def fig_coverage(df, grain: str = "day"):
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    totals = df.groupby("source")["articles"].sum().sort_values(ascending=False, kind="stable")
    names = [str(source) for source in totals.index]
    if len(names) > COVERAGE_SOURCES + 1:
        other = f"{len(names) - COVERAGE_SOURCES} other sources"
        df = (df.assign(source=df["source"].where(df["source"].isin(names[:COVERAGE_SOURCES]), other))
              .groupby(["source", "period"], as_index=False)["articles"].sum())
        names = [*names[:COVERAGE_SOURCES], other]
    colours = qualitative.Plotly if len(names) <= len(qualitative.Plotly) else qualitative.Dark24
    fig = go.Figure()
    for i, source in enumerate(names):  # the biggest first, at the bottom of the stack
        part = df[df["source"] == source]
        colour = OTHER_COLOUR if i == COVERAGE_SOURCES else colours[i % len(colours)]
        fig.add_trace(go.Bar(x=part["period"], y=part["articles"], name=_plot_text(source), marker_color=colour))
    top = df.groupby("period")["articles"].sum().max()
    fig.update_layout(barmode="stack",
                      xaxis={"title": f"published {grain}", **_day_axis(df["period"], pad_days=PAD_DAYS[grain])},
                      yaxis={"title": "original articles", **_count_axis(top)})
    _layout(fig, f"Coverage over time per source (original articles per published {grain}, stacked; copies left out)")
    # below the two-line date ticks and the axis title, the biggest source first
    fig.update_layout(legend={"y": -0.3, "traceorder": "normal"})
    return fig


def fig_heatmap(df, gaps, sources=None):
    """`df`: the last HEATMAP_MAX_DAYS days per source; `sources`: every source, so one silent for longer keeps its
    row (of zeros), which is what the heatmap is for."""
    import pandas as pd
    import plotly.graph_objects as go

    df = df.assign(day=pd.to_datetime(df["day"]).dt.strftime("%Y-%m-%d"))
    last = pd.Timestamp(df["day"].max())
    first = max(pd.Timestamp(df["day"].min()), last - pd.Timedelta(days=HEATMAP_MAX_DAYS - 1))
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range(first, last, freq="D")]
    grid = df.pivot_table(index="source", columns="day", values="articles", aggfunc="sum", fill_value=0)
    grid = grid.reindex(columns=days, fill_value=0)
    if sources is not None:
        grid = grid.reindex(index=sorted(set(grid.index) | {str(source) for source in sources}), fill_value=0)
    top = int(grid.values.max()) if grid.size else 0
    colorbar = {"title": {"text": "articles"}, **({"dtick": 1} if top <= 10 else {})}
    fig = go.Figure(
        go.Heatmap(z=grid.values, x=days, y=[_plot_text(source) for source in grid.index], colorscale="Blues",
                   name="articles", zmin=0, colorbar=colorbar, hovertemplate="%{y} %{x}: %{z} articles<extra></extra>")
    )
    if gaps is not None and len(gaps):
        gaps = gaps.assign(day=pd.to_datetime(gaps["day"]).dt.strftime("%Y-%m-%d"))
        visible = gaps[gaps["day"].isin(days) & gaps["source"].isin(grid.index)]
        for kind, part in visible.groupby("gap_kind"):
            # a day without articles and a day with too few are told apart (one red x for both read as two zeros)
            symbol, colour = GAP_MARKERS.get(kind, ("x-thin", "#cf222e"))
            fig.add_trace(go.Scatter(x=part["day"], y=part["source"].map(_plot_text), mode="markers",
                                     name=f"gap: {_plot_text(kind)}",
                                     marker={"symbol": symbol, "size": 9, "color": colour,
                                             "line": {"width": 2, "color": colour}}))
    if len(days) < 7:  # a few days as dates zoom in to hours around them; as labels, a cell each
        fig.update_layout(xaxis={"type": "category"})
    return _layout(fig, f"Source × day (articles per outlet, every copy counted; last {len(days)} days; × marks gaps)",
                   height=max(260, 60 + 40 * len(grid)))


def fig_term(df, term: str, grain: str = "day"):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Bar(x=df["period"], y=df["articles"], name="articles mentioning it", marker_color="#0969da",
                         hovertemplate="%{x}: %{y} articles<extra></extra>"))
    fig.add_trace(go.Scatter(x=df["period"], y=df["share"] * 100, name="share of the original articles", yaxis="y2",
                             mode="lines+markers", line={"color": "#bf3989"},
                             hovertemplate="%{x}: %{y:.1f}% of the articles<extra></extra>"))
    fig.update_layout(xaxis={"title": f"published {grain}", **_day_axis(df["period"], pad_days=PAD_DAYS[grain])},
                      yaxis={"title": "original articles mentioning it", **_count_axis(df["articles"].max())},
                      yaxis2={"title": "share", "overlaying": "y", "side": "right", "showgrid": False,
                              **_share_axis(df["share"].max())})
    _layout(fig, f"Term trend: “{_plot_text(term)}” per {grain}")
    fig.update_layout(legend={"y": -0.3})  # below the two-line date ticks and the axis title
    return fig


def fig_validation(df):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=df["validated_at"], y=df["pass_rate"] * 100, mode="lines+markers",
                               text=df["run_id"].map(_plot_text),
                               hovertemplate="%{text}<br>%{y:.1f}% passed<extra></extra>"))
    fig.update_layout(yaxis={"title": "expectations passed (%)", "range": [0, 105]},
                      xaxis={"title": "ingest run", **_time_axis(df["validated_at"])})
    return _layout(fig, f"Validation pass rate per ingest run (the {RUN_HISTORY_DAYS} days up to the latest)")


def fig_rejections(df):
    import plotly.graph_objects as go

    fig = go.Figure()
    for source, part in df.groupby("source", sort=True):
        fig.add_trace(go.Bar(y=part["reason"].map(_plot_text), x=part["n"], name=_plot_text(source),
                             orientation="h"))
    fig.update_layout(barmode="stack", xaxis={"title": "rejected pages (all runs)",
                                              **_count_axis(df.groupby("reason")["n"].sum().max())},
                      yaxis={"automargin": True})
    return _layout(fig, "Rejection reasons")


def fig_fetch(df):
    import pandas as pd
    import plotly.graph_objects as go

    fig = go.Figure()
    runs = df["run_start"].nunique()
    per, width = "ingest run", 600_000 if runs == 1 else None
    if runs > RUN_BARS:
        starts = pd.to_datetime(df["run_start"], utc=True)
        span = starts.max() - starts.min()
        per, step = next(((name, step) for name, step in RUN_PERIODS if span / pd.Timedelta(step) < RUN_BARS),
                         RUN_PERIODS[-1])
        df = df.assign(run_start=starts.dt.floor(step) + pd.Timedelta(step) / 2)
        # the runs of the whole bar, whatever their outcomes: a period's `failed` part is of one run in four
        runs_in = df.groupby("run_start")["run_id"].nunique()
        df = df.groupby(["run_start", "outcome"], as_index=False)["n"].sum()
        df["run_id"] = df["run_start"].map(runs_in).map(lambda k: f"{k:,} run{'' if k == 1 else 's'} this {per}")
        width = pd.Timedelta(step).total_seconds() * 1000 * 0.9
    for outcome in ("loaded", "unchanged", "rejected", "failed", "skipped"):
        part = df[df["outcome"] == outcome]
        if len(part):
            # a lone run's bar would fill the whole axis: ten minutes wide, in the hour padded around it
            fig.add_trace(go.Bar(x=part["run_start"], y=part["n"], name=outcome, text=part["run_id"].map(_plot_text),
                                 marker_color=OUTCOME_COLOURS[outcome], textposition="none", width=width,
                                 hovertemplate="%{text}<br>" + outcome + ": %{y}<extra></extra>"))
    top = df.groupby("run_start")["n"].sum().max()
    fig.update_layout(barmode="stack", xaxis={"title": "run start", **_time_axis(df["run_start"])},
                      yaxis={"title": "URLs", **_count_axis(top)})
    return _layout(fig, f"Fetch outcomes per {per} (the {RUN_HISTORY_DAYS} days up to the latest)")


# --- HTML ------------------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    """74,345.2 rather than .4g's 7.435e+04 (hours since a fetch that never came): thousands separated, whole numbers
    without decimals, at most two decimals from 1 up; below 1 two significant digits, so a 0.45 % rate is not a 0."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.{min(8, 1 - math.floor(math.log10(abs(value))))}f}"
    return text.rstrip("0").rstrip(".")


def _esc(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return html.escape(str(value))


def _pill(status, text=None) -> str:
    """A status as a coloured pill saying `text` (the status itself by default); its class is one word
    ("not judged" -> status-not-judged)."""
    kind = re.sub(r"[^a-z0-9]+", "-", str(status).lower())
    return f'<span class="status status-{kind}">{_esc(status if text is None else text)}</span>'


def _shown_status(status: str, details) -> str:
    """NOT_JUDGED for a check that had too little to judge (alerts.not_judged). Display only: the stored status
    stays as it is (and an alert told before stands through such runs)."""
    return NOT_JUDGED if not_judged(status, details) else status


def _table(columns: list[str], rows: list, status_col: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i == status_col:
                cells.append(f"<td>{_pill(value)}</td>")
            else:
                cells.append(f"<td>{_esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _figure_html(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


NO_DATA = '<p class="nodata">no data</p>'
# two rules meet in one column: say which is which
FRESHNESS_NOTE = ('<p class="note">status: the latest quality run\'s freshness checks (the worse of last fetched '
                  'and last published); fresh, stale or silent (2 and 7 days since the last article) for a source no '
                  'quality run judged. Last fetched: the last request the site answered.</p>')

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
header{background:#24292f;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#d0d7de;font-size:13px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;padding:16px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px;min-width:0}
section.wide{grid-column:1/-1}section h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f6f8fa}
.status{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;white-space:nowrap}
.status-pass,.status-fresh{background:#1a7f37}.status-warn,.status-stale{background:#b58100}
.status-fail,.status-silent{background:#cf222e}.status-not-judged,.status-retired{background:#8c959f}
.nodata{color:#6e7781;font-style:italic;padding:24px;text-align:center;border:1px dashed #d0d7de;border-radius:6px}
.summary span{margin-right:12px}.note{color:#57606a;font-size:12px;margin:0 0 6px}
"""


def render(data: dict, *, title: str = "newsflow dashboard") -> str:
    from plotly.offline import get_plotlyjs

    articles, sources, first_day, last_day, runs = data["totals"]
    sections: list[tuple[str, str, bool]] = []  # (heading, html, wide)
    cov = data["coverage"]
    has_cov = cov is not None and len(cov) > 0
    sections.append(("Coverage over time", _figure_html(fig_coverage(cov, data["grain"]), "coverage")
                     if has_cov else NO_DATA, True))
    sections.append(("Source × day heatmap",
                     _figure_html(fig_heatmap(data["heatmap"], data["gaps"], cov["source"].unique()), "heatmap")
                     if has_cov else NO_DATA,
                     True))
    term, trend = data["term"], data["term_trend"]
    sections.append((f"Term trend: {term}" if term else "Term trend",
                     _figure_html(fig_term(trend, term, data["grain"]), "term")
                     if trend is not None and len(trend) else NO_DATA, False))
    fresh = data["freshness"]
    sections.append(("Source freshness", FRESHNESS_NOTE + _table(
        ["source", "last published", "last fetched", "1d", "7d", "30d", "status"], fresh, status_col=6
    ) if fresh else NO_DATA, False))
    val = data["validation"]
    sections.append(("Validation pass rate", _figure_html(fig_validation(val), "validation") if len(val) else NO_DATA,
                     False))
    rej = data["rejections"]
    sections.append(("Rejection reasons", _figure_html(fig_rejections(rej), "rejections") if len(rej) else NO_DATA,
                     False))
    fetch = data["fetch"]
    sections.append(("Fetch outcomes", _figure_html(fig_fetch(fetch), "fetch") if len(fetch) else NO_DATA, True))
    sections.append(("Latest quality checks", _quality_checks(data), True))
    sections.append(("Extraction health per source", _extraction_health(data), True))

    parts = []
    for heading, content, wide in sections:
        parts.append(f'<section class="{"wide" if wide else ""}"><h2>{html.escape(heading)}</h2>{content}</section>')
    generated = data["now"].strftime("%Y-%m-%d %H:%M UTC")
    span = f"{first_day} – {last_day}" if first_day else "no articles yet"
    if data.get("left_out"):
        older = data["left_out"]
        span += (f"; charts over time from {data['since']}, leaving out {older} older "
                 f"article{'' if older == 1 else 's'}")
    reprocessed = data.get("reprocess_runs") or 0
    reprocess_runs = f", {reprocessed:,} reprocess run{'' if reprocessed == 1 else 's'}" if reprocessed else ""
    meta = {"generated": generated, "articles": articles, "sources": sources, "term": term}
    lake = f" · warehouse <code>{html.escape(data['warehouse'])}</code>" if data.get("warehouse") else ""
    # a script element's text is not HTML: entities would stay entities (not JSON), and only "</" or "<!--" in a
    # term could end the element early
    meta_json = json.dumps(meta).replace("<!--", "<\\u0021--").replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>"
        f"<script type=\"application/json\" id=\"newsflow-meta\">{meta_json}</script>"
        "</head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{articles:,} article{'' if articles == 1 else 's'} from "
        f"{sources:,} source{'' if sources == 1 else 's'} "
        f"({html.escape(span)}), {runs:,} ingest run{'' if runs == 1 else 's'}{reprocess_runs} · generated {generated}"
        f"{lake}</p></header>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )


def _quality_checks(data: dict) -> str:
    """The latest quality run: a count per status, what changed since the run before, and a row per check."""
    checks = data["checks"]
    if not checks:
        return NO_DATA
    changes = data.get("check_changes") or {}
    rows = [(*r[2:6], _shown_status(r[6], r[7]), changes.get((r[2], r[3]), ""), r[7]) for r in checks]
    shown = [row[4] for row in rows]
    counts = {s: shown.count(s) for s in ("pass", "warn", "fail")}
    if NOT_JUDGED in shown:
        counts[NOT_JUDGED] = shown.count(NOT_JUDGED)
    summary = " ".join(_pill(s, f"{n} {s}") for s, n in counts.items())
    # the first run's rows all "changed" from nothing: there was no run before to change since
    changed = sum(1 for before in changes.values() if before != FIRST_RUN)
    since = ("; first quality run" if FIRST_RUN in changes.values()
             else f"; {changed} changed since the run before" if changed else "")
    return (f'<p class="summary">run <code>{_esc(checks[0][0])}</code> at {_esc(checks[0][1])}: {summary}'
            f'{_esc(since)}</p>'
            + _table(["check", "source", "observed", "expected", "status", "since the run before", "details"], rows,
                     status_col=4))


def _extraction_health(data: dict) -> str:
    """Where each source's dates came from over the last 29 days, and its extraction checks against its own baseline
    (newsflow.extraction_health)."""
    shares = data.get("date_sources") or []
    health = [(*r[2:6], _shown_status(r[6], r[7]), r[7]) for r in data["checks"] if r[2].startswith("extraction_")]
    if not shares and not health:
        return NO_DATA
    mix: dict[str, list[str]] = {}
    for source, date_source, articles, share in shares:
        mix.setdefault(source, []).append(f"{date_source} {share:.0%} ({articles})")
    parts = [_table(["source", "articles by date_source (last 29 days)"],
                    [(source, ", ".join(items)) for source, items in mix.items()])] if mix else []
    if health:
        parts.append(_table(["check", "source", "observed", "expected", "status", "details"], health, status_col=4))
    return "".join(parts)


def dashboard_html(warehouse: str | Path | None = None, *, term: str | None = None,
                   now: datetime | None = None) -> str:
    """The dashboard page of the warehouse (opened read-only)."""
    from newsflow.config import warehouse_location
    from newsflow.quality_checks import shown_warehouse
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        # the page speaks UTC ("generated … UTC", the run ids): DuckDB hands timestamps back in the session's zone, the
        # machine's, which put every time shown hours off and a first run's bars outside their chart's padded hour
        con.execute("set TimeZone = 'UTC'")
        data = collect(con, term=term, now=now)
    finally:
        con.close()
    # the page says which lake it shows: the UI serves one file, and a dashboard of another lake looked the same
    return render({**data, "warehouse": shown_warehouse(warehouse_location(warehouse))})


def write_dashboard(output: str | Path, page: str) -> Path:
    """Write `page` to `output` (its folder made when missing), whole or not at all; returns the path."""
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(output)  # the UI plugin never serves a half-written file
    except BaseException:
        # an output that is a folder, a full disk, Ctrl-C: a megabytes-large .tmp would stay behind
        tmp.unlink(missing_ok=True)
        raise
    return output


def build_report(output: str | Path, *, warehouse: str | Path | None = None, term: str | None = None,
                 now: datetime | None = None) -> Path:
    """Write the dashboard for the warehouse (opened read-only) to `output`; returns the path."""
    return write_dashboard(output, dashboard_html(warehouse, term=term, now=now))
