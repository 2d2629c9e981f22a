"""The `newsflow` command: run the demo, ingest a sources file through Airflow, and query or export the warehouse.

Every command that changes the warehouse goes through an Airflow DAG run; `sql` and `export` open it read-only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# the standard library only; newsflow.config (pydantic, yaml) and the warehouse (duckdb) are imported where used:
# `status` and `down` stay light
from newsflow.airflow_runner import RunInterrupted

DEMO_PORT = 8765


class UsageError(Exception):
    """A command given what it cannot use (an output that is a folder, ...): one line, exit 2 like argparse's."""


def _set_warehouse(path: str | None, *, for_runs: bool = False) -> None:
    """--warehouse becomes the default of everything this command starts (Airflow's tasks inherit it): a lake
    folder, made absolute, or a `postgres:` catalog string as written. `for_runs`: the command starts DAG runs, which
    keep the location where every Airflow user reads it (a password in it is refused before anything starts)."""
    if path:
        os.environ["NEWSFLOW_WAREHOUSE"] = path if path.startswith("postgres:") else str(Path(path).resolve())
    if for_runs:
        from newsflow.config import password_problem, warehouse_location

        problem = password_problem(warehouse_location())
        if problem:
            raise UsageError(f"{'--warehouse' if path else 'NEWSFLOW_WAREHOUSE'} {problem}")


# `out=None` is standard output at the time of the call (print's own default): a default of sys.stdout would be the
# stream of the moment this module was imported, which redirect_stdout and test capture then never see.
# Columns are measured in terminal cells (wcwidth): a Chinese, Japanese or Korean character takes two, an Arabic or
# Hebrew vowel mark none, so the columns line up in every script.
def _print_table(columns: list[str], rows: list[tuple], out=None, max_width: int = 60) -> None:
    from wcwidth import clip, ljust, width

    from newsflow.terminal import printable

    def cell(value) -> str:
        text = "" if value is None else str(value)
        # line breaks and tabs folded into spaces, then controls and bidi overrides shown as U+FFFD
        text = printable(" ".join(text.split()))
        # a wide character that would straddle the cut is left out whole (clip pads its place with a space)
        return text if width(text) <= max_width else clip(text, 0, max_width - 1).rstrip() + "…"

    # a header can come from the data as much as a cell (a PIVOT names its columns after values)
    headers = [cell(c) for c in columns]
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = "  ".join(ljust(h, w) for h, w in zip(headers, widths, strict=True))
    print(line, file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print("  ".join(ljust(v, w) for v, w in zip(row, widths, strict=True)), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


# JSON has no NaN or infinity: Python's json module would write the bare words NaN and Infinity, which no strict
# parser reads. They become the strings JavaScript's Number() and Python's float() read back.
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    if isinstance(value, dict):  # a STRUCT, or a MAP whose keys need not be strings
        return {k if isinstance(k, str) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _csv_line(values) -> str:
    """One CSV line as `export --format csv` (DuckDB) writes it: a NULL is nothing, an empty string `""`. Python's
    csv module writes both alike (empty, or `""` when alone on a line), so a reader could not tell them apart."""
    def field(value) -> str:
        if value is None:
            return ""
        text = value if isinstance(value, str) else str(value)
        if text == "" or any(c in text for c in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text
    return ",".join(field(v) for v in values) + "\n"


def _write_rows(columns, rows, fmt: str, out=None) -> None:
    out = sys.stdout if out is None else out
    if fmt == "csv":
        out.write(_csv_line(columns))
        out.writelines(_csv_line(row) for row in rows)
    elif fmt == "json":
        _distinct_names(columns)
        # allow_nan=False: a non-finite float that _jsonable missed fails here rather than writing invalid JSON
        json.dump([dict(zip(columns, _jsonable(row), strict=True)) for row in rows], out, ensure_ascii=False,
                  indent=1, default=str, allow_nan=False)
        out.write("\n")
    else:
        _print_table(columns, rows, out)


def _distinct_names(columns: list[str]) -> None:
    """A JSON object keeps one value per name: `select 1 a, 2 a` would come out as {"a": 2}."""
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise UsageError(f"--format json needs distinct column names, and {', '.join(map(repr, twice))} names more "
                         "than one column: rename them with AS (or use --format csv)")


def _as_duckdb_text(sqltype) -> bool:
    """Whether a column's values are handed to Python differently from what they are: an INTERVAL becomes a
    timedelta of 30-day months ('1 year' showed as "360 days, 0:00:00"), a BLOB bytes (b'\\xff'); in a list, struct
    or map as much as alone."""
    if sqltype.id in ("interval", "blob"):
        return True
    if sqltype.id in ("list", "array", "struct", "map", "union"):
        return any(hasattr(child, "id") and _as_duckdb_text(child) for _name, child in sqltype.children)
    return False


def _text_type(sqltype) -> str:
    """`sqltype` with VARCHAR for every INTERVAL and BLOB in it: a cast to it keeps lists, structs and maps whole
    (JSON arrays and objects) and gives those values DuckDB's own text."""
    if not _as_duckdb_text(sqltype):
        return str(sqltype)
    kind = sqltype.id
    children = sqltype.children if kind in ("list", "array", "struct", "map") else []
    parts = dict(children)
    if kind == "list":
        return f"{_text_type(parts['child'])}[]"
    if kind == "array":
        return f"{_text_type(parts['child'])}[{parts['size']}]"
    if kind == "map":
        return f"MAP({_text_type(parts['key'])}, {_text_type(parts['value'])})"
    if kind == "struct":
        return "STRUCT(" + ", ".join('"' + name.replace('"', '""') + '" ' + _text_type(child)
                                     for name, child in children) + ")"
    return "VARCHAR"  # the INTERVAL or BLOB itself, or a UNION holding one


# in a table or CSV, DuckDB's own text for these, as its CLI and `export --format csv` write them (true, [a, b],
# {'k': 1}): Python's would be True, ['a', 'b'] and {'k': 1} with quotes of its own choosing
_WHOLE_AS_TEXT = ("boolean", "list", "array", "struct", "map", "union")


def _shown(relation, fmt: str = "json"):
    """The relation with those columns cast (_text_type): DuckDB's own text for INTERVAL and BLOB values ("1 year",
    "\\xFF\\x00"), as its CLI and CSV export print them. The other values stay as they are (JSON numbers, nulls,
    arrays and objects); in a table or CSV (`fmt`), booleans, lists, structs and maps are DuckDB's text too."""
    whole = fmt != "json"

    def cast(i: int, sqltype) -> str:
        if whole and sqltype.id in _WHOLE_AS_TEXT:
            return f"cast(#{i} as varchar)"
        return f"cast(#{i} as {_text_type(sqltype)})" if _as_duckdb_text(sqltype) else f"#{i}"

    types = relation.types
    if not any(_as_duckdb_text(t) or (whole and t.id in _WHOLE_AS_TEXT) for t in types):
        return relation
    # by position: two columns may share a name
    return relation.project(", ".join(cast(i, t) for i, t in enumerate(types, start=1)))


def run_ingest(sources_file: str, sources: list[str] | None = None, *, env_extra: dict | None = None,
               logical_date: str | None = None, run_info: dict | None = None, on_success=None) -> dict:
    """Validate the sources file here (clear errors, no DAG run on a bad file), then one news_ingest run through
    plain `airflow dags test`."""
    from newsflow.airflow_runner import dags_test
    from newsflow.config import load_sources, shown_location, warehouse_path

    config = load_sources(sources_file)
    selected = config.selected(sources)
    print(f"news_ingest: {len(selected)} source(s) from {sources_file} -> {shown_location(warehouse_path())}", flush=True)
    env = {"NEWSFLOW_WAREHOUSE": str(warehouse_path()), **(env_extra or {})}
    if os.environ.get("NEWSFLOW_DATA_DIR"):
        env["NEWSFLOW_DATA_DIR"] = os.environ["NEWSFLOW_DATA_DIR"]
    conf = {"sources_file": str(Path(sources_file).resolve()), "sources": sources or []}
    run_info = run_info if run_info is not None else {}
    elapsed = dags_test("news_ingest", conf, env_extra=env, logical_date=logical_date, echo=lambda m: print(m, flush=True),
                        run_info=run_info, on_success=on_success)
    return {"elapsed_s": elapsed, "run_id": run_info.get("run_id")}


def say_failed_sources(failed: list[str]) -> None:
    """The run succeeded for its other sources; these are listed in the summary with the cause."""
    if failed:
        print(f"newsflow: {len(failed)} source(s) failed: {', '.join(failed)}", file=sys.stderr)


def print_run_summary(run_id: str | None = None) -> list[str]:
    """The outcomes of `run_id` (the latest run when None); returns the names of sources that failed in it."""
    from newsflow.warehouse import connect

    def query(sql: str, params: list | None = None) -> tuple[list[str], list[tuple]]:
        cursor = con.execute(sql, params) if params else con.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()

    # one read-only connection for the queries: opening the warehouse costs ~25 ms each time
    con = connect(read_only=True)
    try:
        if not run_id:
            latest = con.execute("select run_id from runs order by loaded_at desc limit 1").fetchone()
            run_id = latest[0] if latest else None
        params = [run_id]
        columns, rows = query(
            """
            select source,
                   count(*) filter (where outcome = 'loaded' and url_kind = 'article') as loaded,
                   count(*) filter (where outcome = 'unchanged' and url_kind = 'article') as unchanged,
                   count(*) filter (where outcome = 'rejected' and url_kind = 'article') as rejected,
                   count(*) filter (where outcome = 'failed' and url_kind = 'article') as failed,
                   count(*) filter (where outcome = 'skipped' and url_kind = 'article') as skipped,
                   string_agg(url_kind || ' ' || outcome, ', ') filter (where url_kind <> 'article') as listings
            from fetch_log where run_id = ?
            group by source order by source
            """,
            params,
        )
        print("\nOutcomes per source (this run):")
        # a source's name may take 63 characters (config._NAME_RE): cut at the default 60, two long names that
        # differ at their end read as one
        _print_table(columns, rows, max_width=63)
        # sources that failed in a stage, and listings or archives that could not be read (whole or in part); a
        # source failed as the account step judged it (sql/macros/failed_sources.sql), and the skipped listings of
        # one none of whose listings could be read (a feed robots.txt closes) are its problems too
        failed = query("select source, stage_failed from failed_sources(?, null)", params)[1]
        columns, problems = query(
            """
            select source, url_kind as what, url, reason
            from fetch_log where run_id = ? and url_kind <> 'article'
              and (outcome = 'failed' or outcome = 'skipped' and list_contains(?::varchar[], source))
            order by source, url_kind, seq
            """,
            [run_id, [source for source, stage_failed in failed if not stage_failed]],
        )
        failed_sources = [source for source, _stage_failed in failed]
        if problems:
            print("\nFailed sources, listings and archives (this run):")
            _print_table(columns, problems, max_width=100)
        columns, rows = query(
            """
            select published_date as day, count(*) as articles,
                   string_agg(distinct source, ', ' order by source) as sources
            from articles group by published_date order by published_date
            """
        )
        print("\nArticles per day (whole warehouse):")
        _print_table(columns, rows)
        columns, rows = query("select array_to_string(reasons, ', ') as reasons, count(*) as n from rejected_articles "
                              "group by all order by n desc, reasons")
        if rows:
            print("\nRejection reasons (all runs):")
            _print_table(columns, rows)
    finally:
        con.close()
    return failed_sources


def cmd_demo(args) -> int:
    from newsflow.config import data_dir, project_root, shown_location, warehouse_path
    from newsflow.sample_site.server import SampleSite
    from newsflow.service import record_site_port, site_port, sources_on_port
    from newsflow.warehouse import exists as warehouse_exists

    _set_warehouse(args.warehouse, for_runs=True)
    # the bundled sources file names port 8765: when it is taken, serve elsewhere and ingest a copy on that port.
    # Once a lake holds the pages, they are read from the same port again (their URLs name it), or not at all
    record, lake = data_dir() / "demo" / "site-ports.json", str(warehouse_path())
    port, last = (args.port, None) if args.port is not None else site_port(DEMO_PORT, record, lake)
    if last is not None and port != last and warehouse_exists(lake):
        print(f"newsflow demo: port {last} is taken. The sample pages in {lake} were read from it; read on another "
              f"port, every one would be stored again as a new article (a URL's port is part of its identity). "
              f"Free port {last}, or pass --port N to read them anew on port N", file=sys.stderr)
        return 2
    sources_file = sources_on_port(project_root() / "config" / "sources.demo.yaml", DEMO_PORT, port,
                                   data_dir() / "demo")
    try:
        site = SampleSite(port=port).start()
    except OSError as exc:
        print(f"newsflow demo: cannot serve the sample site on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    from newsflow import service

    state = service.read_state()
    try:
        print(f"sample site serving at {site.base_url}", flush=True)
        if service.is_running(state):
            # as `newsflow ingest`: `airflow dags test` beside the service's scheduler had its tasks run twice and
            # registered the default sources file's schedules (news_ingest_hourly on a --demo service)
            return ingest_on_service(state, argparse.Namespace(sources=str(sources_file), source=None,
                                                               warehouse=args.warehouse, quality=True))
        result = run_ingest(str(sources_file))
    finally:
        site.stop()
        record_site_port(record, lake, port)
    print_run_summary()
    print(f"\nrun took {result['elapsed_s']:.1f}s; warehouse: {shown_location(warehouse_path())}")
    run_quality()
    print('\ntry: .venv/bin/newsflow sql "select * from coverage_daily order by day"')
    return 0


def run_quality(logical_date: str | None = None) -> None:
    """news_quality through Airflow: the scheduler would start it from the articles Asset; `dags test` does not.
    `logical_date`: the ingest run's (`--logical-date`, a backfill), so that ages are measured at the date the run
    loaded for: measured at the wall clock, every freshness check of a 2019 crawl failed at seven years."""
    from newsflow.airflow_runner import dags_test
    from newsflow.config import data_dir, warehouse_path

    env = {"NEWSFLOW_WAREHOUSE": str(warehouse_path()), "NEWSFLOW_DATA_DIR": str(data_dir())}
    print("\nnews_quality: checks, Data Docs and dashboard", flush=True)
    run_info: dict = {}
    dags_test("news_quality", {}, env_extra=env, logical_date=logical_date, echo=lambda m: print(m, flush=True),
              run_info=run_info)
    # this run's own checks: a backfill's are dated at its logical date, and "the latest checked" is another run's
    print_quality_summary(run_info.get("run_id"))
    print(f"dashboard: {data_dir() / 'reports' / 'dashboard.html'}")
    print(f"Data Docs: {data_dir() / 'data_docs' / 'index.html'}")


def print_quality_summary(run_id: str | None = None, limit: int = 25) -> None:
    """The checks of quality run `run_id` (else the latest): how many by status, then each failing and warning one
    with its source, as an alert says it (a list of check names did not say which source to look at)."""
    from newsflow.alerts import check_line
    from newsflow.warehouse import query

    columns, rows = query(
        """
        select check_name, source, status, observed, expected
        from quality_checks
        where run_id = coalesce($run, (select run_id from quality_checks order by checked_at desc limit 1))
        order by case status when 'fail' then 0 when 'warn' then 1 else 2 end, check_name, source
        """, {"run": run_id})
    checks = [dict(zip(columns, row, strict=True)) for row in rows]
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in ("fail", "warn", "pass")}
    print("\nQuality checks (this run): " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    told = [c for c in checks if c["status"] != "pass"]
    for check in told[:limit]:
        print(check_line(check))
    if len(told) > limit:
        print(f"  … and {len(told) - limit} more (newsflow sql \"select * from quality_checks where run_id = …\")")


def wait_for_quality(client, state: dict, ingest_run_id: str, warehouse: str | None = None,
                     timeout: float = 600.0) -> int:
    """`ingest --quality` on the service: the scheduler starts news_quality from the articles Asset the load
    updated (running one here as well would check the warehouse twice); wait for the run this load's event
    created, named by the event (REST API, assets/events), and say how it went."""
    from urllib.parse import quote

    deadline = time.monotonic() + timeout
    path = f"/assets/events?source_dag_id=news_ingest&source_run_id={quote(ingest_run_id, safe='')}"
    runs: list[dict] = []
    while not runs and time.monotonic() < deadline:
        runs = [run for event in client.get(path).get("asset_events", [])
                for run in event.get("created_dagruns", []) if run.get("dag_id") == "news_quality"]
        if not runs:
            time.sleep(2)
    if not runs:
        print(f"newsflow: no news_quality run started from this load within {timeout:.0f} s; see {state['url']}",
              file=sys.stderr)
        return 1
    quality_run = runs[0]["run_id"]
    print(f"\nnews_quality: {quality_run} (started by this run's load)", flush=True)
    return follow_quality(client, state, quality_run, warehouse)


def follow_quality(client, state: dict, quality_run: str, warehouse: str | None = None) -> int:
    """Follow a news_quality run on the service to its end and say how it went."""
    final = client.wait("news_quality", quality_run, echo=lambda m: print(m, flush=True))
    if final != "success":
        print(f"newsflow: news_quality run {quality_run} {final}; see {state['url']}", file=sys.stderr)
        return 1
    print_quality_summary(quality_run)
    if warehouse and warehouse != state["warehouse"]:
        # the UI's dashboard shows the service's own warehouse; another one's is a file beside it
        from newsflow.dag_tasks import dashboard_file

        print(f"dashboard: {dashboard_file(Path(state['data_dir']), warehouse, state['warehouse'])}")
    else:
        print(f"dashboard: {state['url'].rstrip('/')}/newsflow/dashboard")
    return 0


# how far a logical date given as a day may lie ahead of now: the day starts at midnight UTC, and where the clock is
# furthest ahead (UTC+14) it is already today 14 hours before that
_DAY_AHEAD = 14 * 3600
# a time of day: only a clock's drift
_TIME_AHEAD = 60


def _logical_date(value: str) -> str:
    """--logical-date as Airflow is to get it: ISO 8601 with its UTC offset written out (none given: UTC, Airflow's
    default zone). Refused before the DAGs' start_date (Airflow would create no task and call the run a success) and
    in the future: a logical date says when the data was due, so a later one is a slip of the keyboard, and under
    `airflow dags test` it becomes the run's recorded start (runs.started_at, the run's id)."""
    from datetime import UTC, date, datetime

    from newsflow.airflow_runner import START_DATE

    try:
        when = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        ahead = _DAY_AHEAD
    except ValueError:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--logical-date {value!r} is not an ISO 8601 date or time (2018-06-01, "
                             "2018-06-01T06:00:00+00:00)") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        ahead = _TIME_AHEAD
    if when < START_DATE:
        raise UsageError(f"--logical-date {value} is before {START_DATE:%Y-%m-%d}, the start date of newsflow's DAGs: "
                         "Airflow would run no task for it")
    now = datetime.now(UTC)
    if (when - now).total_seconds() > ahead:
        raise UsageError(f"--logical-date {value} is in the future (now: {now:%Y-%m-%d %H:%M} UTC): a run is dated by "
                         "its logical date")
    return when.isoformat()


def cmd_ingest(args) -> int:
    # before anything starts: a date Airflow cannot use, or runs nothing for, would end in a run that did nothing
    logical_date = _logical_date(args.logical_date) if args.logical_date is not None else None
    _set_warehouse(args.warehouse, for_runs=True)
    from newsflow import service
    from newsflow.config import shown_location

    state = service.read_state()
    if service.is_running(state):
        # `airflow dags test` beside the service's scheduler: the scheduler queued and ran the test run's tasks too,
        # and the test parsed every DAG file without the service's sources file (other schedules registered)
        return ingest_on_service(state, args, logical_date)
    failed: list[str] = []

    def summary(run_id: str | None) -> None:
        # this run's own id: with two runs at once, "the latest run" may be the other one
        if run_id:
            failed.extend(print_run_summary(run_id))

    from newsflow.airflow_runner import DagRunFailed

    run_info: dict = {}
    try:
        result = run_ingest(args.sources, args.source or None, logical_date=logical_date, run_info=run_info,
                            on_success=summary)
    except DagRunFailed as exc:
        return failed_but_loaded(exc, run_info.get("run_id"),
                                 judge=(lambda: run_quality(logical_date)) if args.quality else None)
    from newsflow.config import warehouse_path

    print(f"\nrun {result['run_id']} took {result['elapsed_s']:.1f}s; warehouse: {shown_location(warehouse_path())}")
    say_failed_sources(failed)
    if args.quality:
        run_quality(logical_date)
    return 0


def failed_but_loaded(failure: Exception, run_id: str | None, judge=None) -> int:
    """A run that failed after its load committed (every source failed, or the account step failed it): its load
    logged what became of every URL, so its outcomes per source and its failed sources are said before its error,
    and `judge()` runs its quality checks when asked, as the service's scheduler judges it (the load's Asset event
    starts news_quality, whatever the account step said after it); exit 1. Any other failed run: `failure` again.
    The one path for ingest and reprocess, with the service or without: each path of its own said it otherwise,
    and the service's said only that the run failed."""
    if not run_loaded(run_id):
        raise failure
    say_failed_sources(print_run_summary(run_id))
    print(f"newsflow: {failure}", file=sys.stderr)
    if judge:
        judge()
    return 1


def run_loaded(run_id: str | None) -> bool:
    """Whether `run_id`'s load committed (its `runs` row has a load time); False when the warehouse cannot say."""
    if not run_id:
        return False
    from newsflow.warehouse import connect

    try:
        con = connect(read_only=True)
    except Exception:  # noqa: BLE001 - gone, busy or unreadable: the run's own error is the one to show
        return False
    try:
        return con.execute("select count(*) from runs where run_id = ? and loaded_at is not null",
                           [run_id]).fetchone()[0] > 0
    finally:
        con.close()


def cmd_check(args) -> int:
    from newsflow.source_check import check_sources, render

    reports = check_sources(args.sources, args.source or None)
    print(render(reports))
    return 0 if all(report.ok for report in reports) else 1


def _fail_dead_runs(client) -> None:
    """Runs a killed task process left `running` on this machine are marked failed before a new run starts, so
    none holds the duckdb_write slot; the scheduler would find them too, but only after its heartbeat timeout."""
    from newsflow.service import report_dead_runs

    report_dead_runs(client, echo=lambda m: print(m, file=sys.stderr))


def ingest_on_service(state: dict, args, logical_date: str | None = None) -> int:
    """The service is up: trigger news_ingest through its REST API (for `logical_date`, a backfill, when given)
    and follow the run task by task."""
    from newsflow.config import load_sources, warehouse_path

    load_sources(args.sources).selected(args.source)  # a bad file or name: a clear error, no run
    conf = {"sources_file": str(Path(args.sources).resolve()), "sources": args.source or []}
    if args.warehouse:
        conf["warehouse"] = str(warehouse_path())
    from newsflow.airflow_runner import DagRunFailed

    client = service_client(state)
    run_info: dict = {}

    def judge() -> int:
        if logical_date:
            # the run the load's event starts is measured now; a backfill's quality run is for its date (README)
            quality = client.trigger("news_quality", {"warehouse": conf.get("warehouse", "")}, logical_date)
            print(f"\nnews_quality: triggered {quality['dag_run_id']} for {logical_date}", flush=True)
            return follow_quality(client, state, quality["dag_run_id"], conf.get("warehouse"))
        return wait_for_quality(client, state, run_info["run_id"], conf.get("warehouse"))

    try:
        run_id = run_on_service(client, state, "news_ingest", conf, conf.get("warehouse") or state["warehouse"],
                                logical_date, run_info)
    except DagRunFailed as exc:
        return failed_but_loaded(exc, run_info.get("run_id"), judge=judge if args.quality else None)
    say_failed_sources(print_run_summary(run_id))
    return judge() if args.quality else 0


def service_client(state: dict):
    """A client of the running service, once runs a killed task process left `running` are marked failed."""
    from newsflow import service

    if "scheduler" in service.stopped_components(state):
        raise service.ServiceError("the service's scheduler is not running: a triggered run would wait, queued, "
                                   "until it is; `newsflow down`, then `newsflow up`")
    client = service.Client.for_service(state)
    _fail_dead_runs(client)
    return client


def run_on_service(client, state: dict, dag_id: str, conf: dict, warehouse: str, logical_date: str | None = None,
                   run_info: dict | None = None) -> str:
    """Trigger `dag_id` on the running service through its REST API and follow it task by task; its run id. A run
    that did not succeed raises DagRunFailed, as one under `airflow dags test` does; `run_info` receives the run's
    `run_id` either way. Its warehouse becomes this command's (NEWSFLOW_WAREHOUSE) for the summary read after it,
    a failed run's too: one that loaded shows its outcomes."""
    from newsflow.airflow_runner import DagRunFailed
    from newsflow.config import shown_location

    run = client.trigger(dag_id, conf, logical_date)
    if run_info is not None:
        run_info["run_id"] = run["dag_run_id"]
    print(f"{dag_id}: triggered {run['dag_run_id']} on {state['url']} -> {shown_location(warehouse)}", flush=True)
    final = follow_on_service(client, state, run["dag_run_id"], dag_id=dag_id)
    os.environ["NEWSFLOW_WAREHOUSE"] = warehouse
    if final != "success":
        raise DagRunFailed(f"{dag_id} run {run['dag_run_id']} {final}; see {state['url']}")
    return run["dag_run_id"]


def follow_on_service(client, state: dict, run_id: str, dag_id: str = "news_ingest") -> str:
    """Follow a run the service runs until it ends; a stop signal stops the following only: the run is the
    service's, as a scheduled one is (`newsflow down` or the UI's "mark failed" stop it)."""
    import signal

    from newsflow.airflow_runner import RunInterrupted, stop_signals_raise

    try:
        with stop_signals_raise():
            return client.wait(dag_id, run_id, echo=lambda m: print(m, flush=True))
    except (KeyboardInterrupt, RunInterrupted) as stop:
        signum = stop.signum if isinstance(stop, RunInterrupted) else signal.SIGINT
        raise RunInterrupted(signum, f"stopped following {dag_id} run {run_id} ({signal.Signals(signum).name}): "
                                     f"it goes on on the service at {state['url']} (`newsflow status`)") from None


def cmd_up(args) -> int:
    from newsflow import service

    if args.demo and args.sources:
        # the demo's schedules are the live newsroom's: a sources file given with it would go unscheduled unsaid
        raise UsageError("--sources cannot be given with --demo, which schedules only the sample newsroom's sources "
                         "(config/sources.live.yaml): drop one of them")
    service.up(port=args.port, demo=args.demo, sources_file=args.sources)
    return 0


def _days(value: str) -> float:
    from newsflow.env_settings import MAX_DAYS, parse_number

    try:
        return parse_number(value, repr(value), maximum=MAX_DAYS, expected="a number of days")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_clean_metadata(args) -> int:
    from datetime import UTC, datetime, timedelta

    from newsflow.housekeeper import clean_metadata, metadata_retention_days

    days = metadata_retention_days() if args.days is None else args.days
    if days < 1:
        from newsflow.service import is_running, read_state

        if is_running(read_state()):
            print("newsflow: keeping less than a day would delete the rows of runs in progress: keep --days 1 or more, "
                  "or stop the service first (`newsflow down`)", file=sys.stderr)
            return 2
    before = datetime.now(UTC) - timedelta(days=days)
    print(f"newsflow: deleting Airflow's run history from before {before:%Y-%m-%d %H:%M} UTC ({days:g} days kept)")
    done = clean_metadata(before=before)
    if done.returncode:
        print(done.stdout[-4000:] + done.stderr[-4000:], file=sys.stderr)
        print(f"newsflow: airflow db clean failed (exit {done.returncode})", file=sys.stderr)
        return 1
    table = None
    for line in done.stdout.splitlines():  # "Checking table xcom" then "Found 637 rows meeting deletion criteria."
        if line.startswith("Checking table "):
            table = line.removeprefix("Checking table ").strip()
        elif line.startswith("Found ") and table:
            print(f"  {table}: {line.split()[1]} rows deleted")
    return 0


def cmd_down(args) -> int:
    from newsflow import service

    service.down()
    return 0


def cmd_status(args) -> int:
    from newsflow import service

    return service.status()


def cmd_reprocess(args) -> int:
    from newsflow.airflow_runner import DagRunFailed, dags_test
    from newsflow.config import load_sources, shown_location, warehouse_path
    from newsflow.stages.failures import PermanentError
    from newsflow.stages.reprocess import publication_days

    try:  # the plan checks them as well (a run triggered in the UI); here nothing has started yet
        publication_days(args.start, args.end, names=("--start", "--end"))
    except PermanentError as exc:
        raise UsageError(str(exc)) from None
    _set_warehouse(args.warehouse, for_runs=True)
    config = load_sources(args.sources)
    config.selected(args.source)
    # no bound is null: the params' "format": "date" refuses an empty string
    conf = {"sources_file": str(Path(args.sources).resolve()), "sources": args.source or [],
            "start_date": args.start or None, "end_date": args.end or None}
    from newsflow import service

    state = service.read_state()
    if service.is_running(state):
        # `airflow dags test` beside the service's scheduler: the scheduler ran the test run's tasks too, and
        # each task taken twice was killed in one of them (`TI is already running elsewhere`) and tried again
        return reprocess_on_service(state, args, conf)
    env = {"NEWSFLOW_WAREHOUSE": str(warehouse_path())}
    if os.environ.get("NEWSFLOW_DATA_DIR"):
        env["NEWSFLOW_DATA_DIR"] = os.environ["NEWSFLOW_DATA_DIR"]
    print(f"news_reprocess: re-extracting archived articles into {shown_location(warehouse_path())}", flush=True)
    info: dict = {}
    failed: list[str] = []
    try:
        elapsed = dags_test("news_reprocess", conf, env_extra=env, echo=lambda m: print(m, flush=True),
                            run_info=info, on_success=lambda run_id: failed.extend(print_run_summary(run_id)))
    except DagRunFailed as exc:
        return failed_but_loaded(exc, info.get("run_id"))
    print(f"\nrun took {elapsed:.1f}s")
    say_failed_sources(failed)
    return 0


def reprocess_on_service(state: dict, args, conf: dict) -> int:
    """The service is up: trigger news_reprocess through its REST API, on the service's warehouse, and follow it."""
    from newsflow.config import shown_location, warehouse_path

    if args.warehouse and str(warehouse_path()) != str(state["warehouse"]):
        raise UsageError(f"the service reprocesses its own warehouse ({shown_location(state['warehouse'])}): stop it "
                         f"(`newsflow down`) to reprocess {shown_location(warehouse_path())}")
    from newsflow.airflow_runner import DagRunFailed

    run_info: dict = {}
    try:
        run_id = run_on_service(service_client(state), state, "news_reprocess", conf, str(state["warehouse"]),
                                run_info=run_info)
    except DagRunFailed as exc:
        return failed_but_loaded(exc, run_info.get("run_id"))
    say_failed_sources(print_run_summary(run_id))
    return 0


def cmd_sql(args) -> int:
    import duckdb

    from newsflow.warehouse import open_read_only, reading_query

    _set_warehouse(args.warehouse)
    con = open_read_only()
    try:
        # statement by statement: a PIVOT's enum type comes first, and an EXPLAIN of one comes in a transaction,
        # whose COMMIT would be the text's result
        relation = None
        for statement in con.extract_statements(reading_query(con, args.query)):
            result = con.sql(statement)
            if statement.type in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
                relation = result
        columns = relation.columns
        if args.format == "json":
            _distinct_names(columns)  # before the query runs
        rows = _shown(relation, args.format).fetchall()
    finally:
        con.close()
    _write_rows(columns, rows, args.format)
    return 0


def shell_command(warehouse: str | None = None, extra: list[str] | None = None) -> list[str]:
    """The DuckDB CLI (the pinned duckdb-cli wheel, same DuckDB as newsflow) with the lake attached read-only and
    selected. The extensions come from the pinned wheels: installed into DuckDB's extension folder first (what
    newsflow's own connections do), so the CLI LOADs them without any download."""
    import duckdb

    from newsflow.warehouse import exists, lake, load_extensions

    spec = lake(warehouse)
    if not exists(warehouse):
        raise FileNotFoundError(f"no warehouse at {spec.location}; run `newsflow demo` or `newsflow ingest` first")
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        catalog_extension = "sqlite" if spec.sqlite_file is not None else "postgres"
        load_extensions(con, ("ducklake", catalog_extension))
    finally:
        con.close()
    setup = (f"set autoinstall_known_extensions = false; load ducklake; load {catalog_extension}; "
             f"{spec.attach_sql(read_only=True)}; use lake;")
    return [sys.executable, "-m", "duckdb_cli", "-cmd", setup, *(extra or [])]


def cmd_shell(args) -> int:
    import subprocess

    _set_warehouse(args.warehouse)
    extra = [a for a in args.duckdb_args if a != "--"]
    return subprocess.call(shell_command(extra=extra))


def cmd_warehouse_upgrade(args) -> int:
    from newsflow.warehouse import lake, upgrade

    _set_warehouse(args.warehouse)
    counts = upgrade(args.from_file)
    print(f"moved {args.from_file} into the lake at {lake().location}:")
    _print_table(["table", "rows"], sorted(counts.items()))
    return 0


def _output_file(value: str, what: str = "file") -> Path:
    """--output as an absolute path, refused when it cannot be a file: empty would be the working directory."""
    if not value.strip():
        raise UsageError(f"--output is empty: name the {what} to write")
    if "\0" in value:
        raise UsageError(f"--output {value!r} holds a NUL character, which no file name can")
    output = Path(value).resolve()
    if output.is_dir():
        raise UsageError(f"--output {output} is a directory: name the {what} to write")
    return output


def _unwritable_because(output: Path, exc: OSError) -> str:
    """Why `output` could not be written, in words: mkdir says "File exists" of a file on the way to it."""
    if isinstance(exc, FileExistsError | NotADirectoryError):
        blocking = next((folder for folder in output.parents if folder.exists() and not folder.is_dir()), None)
        if blocking is not None:
            return f"{blocking} is a file, not a folder"
    return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)


@contextmanager
def _writing_to(output: Path):
    """Any failure to make the output's folder or to write the file as `cannot write FILE: why` (exit 1, as the
    README says), not an OSError of its own that names only the folder or file it was at."""
    try:
        yield
    except OSError as exc:
        raise OSError(f"cannot write {output}: {_unwritable_because(output, exc)}") from None


_EXPORT_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _export_format(output: Path, given: str | None) -> str:
    """The format the output's suffix names, else --format. A --format the suffix contradicts is refused rather
    than obeyed: Parquet in a file named .csv (the old default did that) is opened by its name, as CSV, by every
    tool and person after; which of the two the user meant is theirs to say."""
    named = _EXPORT_SUFFIXES.get(output.suffix.lower())
    if given and named and given != named:
        raise UsageError(f"--format {given} contradicts --output {output.name}, a {named} file name: drop --format or "
                         f"name the file .{given}")
    if not (given or named):
        raise UsageError(f"--output {output.name}: name a .csv or .parquet file, or say which with --format csv|parquet")
    return given or named


def _parquet_query(con, query: str) -> str:
    """`query` with its HUGEINT and UHUGEINT columns (a sum() of counts, a PIVOT's sums) cast to BIGINT and UBIGINT:
    Parquet has no 128-bit integer, and DuckDB writes one as DOUBLE, so a count read back as 7.0. A value beyond
    64 bits fails the cast instead of coming back rounded."""
    wide = {"HUGEINT": "bigint", "UHUGEINT": "ubigint"}
    # by the names the subquery gives (two columns of one name are `a` and `a_1` there, as in the file)
    casts = []
    for name, sqltype, *_ in con.execute(f"describe select * from (\n{query}\n)").fetchall():
        if sqltype in wide:
            quoted = '"' + name.replace('"', '""') + '"'
            casts.append(f"cast({quoted} as {wide[sqltype]}) as {quoted}")
    return f"select * replace ({', '.join(casts)}) from (\n{query}\n)" if casts else query


def _partial_name(name: str) -> str:
    """The hidden name an export is written under, `.partial-<pid>-<name>`: the suffix last (`.csv.gz` gzips). A name
    the prefix would take past the 255 bytes a file name may have (a title of 80 Chinese characters) keeps only
    its suffix."""
    partial = f".partial-{os.getpid()}-{name}"
    return partial if len(os.fsencode(partial)) <= 255 else f".partial-{os.getpid()}{Path(name).suffix}"


def cmd_export(args) -> int:
    import duckdb

    from newsflow.warehouse import open_read_only, reading_query, user_statements

    _set_warehouse(args.warehouse)
    output = _output_file(args.output)
    if (named := Path(args.output).absolute()).exists() and not named.is_file():
        # a device or a pipe (/dev/null, /dev/stdout into `| gzip`) as named: resolved, /dev/stdout on a pipe is
        # /proc/<pid>/fd/pipe:[N], a name no file has
        output = named
    fmt = _export_format(output, args.format)
    con = open_read_only()
    try:
        options = "format parquet, compression zstd" if fmt == "parquet" else "format csv, header true"
        # the rows go to a hidden file beside the output, renamed over it once COPY has written them all: whatever
        # stops it part-way (a full disk, a query error at row N of an ordered COPY, Ctrl-C, a kill) leaves no file
        # of whole lines under the output's name that reads as a complete, shorter export, and an earlier export
        # stays as it was. A device or a pipe (/dev/null, /dev/stdout) is written as it is.
        final = output.resolve() if output.is_symlink() else output
        partial = None
        if not output.exists() or output.is_file():  # followed: a link to a pipe is written as it is
            partial = final.with_name(_partial_name(final.name))
        written = partial or output
        target = "'" + str(written).replace("'", "''") + "'"
        query = reading_query(con, args.query)
        # the query on lines of its own: a trailing `-- comment` would otherwise swallow the closing parenthesis
        copy = f"copy (\n{query}\n) to {target} ({options})"
        try:
            statements = user_statements(con, copy)
        except duckdb.ParserException:
            statements = []
        if [s.type for s in statements] != [duckdb.StatementType.COPY]:
            raise UsageError("export writes the rows of a query (SELECT, FROM, WITH, VALUES, PIVOT); DESCRIBE, SHOW, "
                             "SUMMARIZE, PRAGMA and EXPLAIN are shown by `newsflow sql`")
        with _writing_to(output):
            output.parent.mkdir(parents=True, exist_ok=True)
        # one transaction: the COPY reads the snapshot named here, not one a load commits meanwhile. Said with the
        # count and kept in a Parquet file's metadata, so the extract can be made again (`at (version => N)`)
        con.execute("begin transaction")
        snapshot = con.execute("select id from ducklake_current_snapshot('lake')").fetchone()[0]
        if fmt == "parquet":
            options += f", kv_metadata {{newsflow_lake_snapshot: '{snapshot}'}}"
            copy = f"copy (\n{_parquet_query(con, query)}\n) to {target} ({options})"
        # COPY says how many rows it wrote. Reading the file back to count them took the path for a glob (other
        # files counted, `[1]` matched `1`), a numeric header for a row, and failed on /dev/null. A PIVOT's enum
        # type comes first in the same text: every statement runs, COPY's answer is the count.
        count = 0
        try:
            for statement in con.extract_statements(copy):
                if statement.type != duckdb.StatementType.COPY:
                    con.execute(statement)
                    continue
                count = con.execute(statement).fetchone()[0]
            if partial is not None:
                with _writing_to(output):
                    os.replace(partial, final)
        except BaseException as exc:
            if partial is not None:
                with contextlib.suppress(OSError):  # COPY's own error is the one to say
                    partial.unlink(missing_ok=True)
            if isinstance(exc, duckdb.IOException):  # a full disk, no permission, a path that cannot exist
                said = str(exc).replace(str(written), str(output))
                raise OSError(f"cannot write {output}: {said}") from None
            raise
    finally:
        con.close()
    # rows sent to standard output (`--output /dev/stdout | gzip`) are the data: the count goes to standard error
    said_to = sys.stderr if partial is None and _is_stdout(output) else sys.stdout
    print(f"wrote {count} row(s) to {output} from lake snapshot {snapshot}", file=said_to)
    return 0


def _is_stdout(path: Path) -> bool:
    try:
        return os.path.samestat(path.stat(), os.fstat(1))
    except OSError:
        return False


def cmd_alert_test(args) -> int:
    import socket

    from newsflow.alerts import WEBHOOK_VAR, alert_settings, post

    settings = alert_settings()
    if not settings.webhook:
        print(f"newsflow: {WEBHOOK_VAR} is not set: no alert is sent (README, \"Alerts\")", file=sys.stderr)
        return 2
    status = post(settings.webhook, {"text": f"newsflow on {socket.gethostname()}: a test alert. Quality checks that "
                                             f"cross '{settings.level}' and failed runs will be posted here.",
                                     "newsflow": {"kind": "test", "level": settings.level}},
                  timeout=settings.timeout_s)
    print(f"alert-test: the webhook answered HTTP {status} (level {settings.level})")
    return 0 if status < 300 else 1


def cmd_report(args) -> int:
    from newsflow.report import dashboard_html, write_dashboard

    _set_warehouse(args.warehouse)
    output = _output_file(args.output, "HTML file")
    # the folder first: a file that cannot be written is said before the warehouse is read, and an OSError of
    # reading it (no warehouse there) is never taken for one of writing
    with _writing_to(output):
        output.parent.mkdir(parents=True, exist_ok=True)
    page = dashboard_html(term=args.term)
    with _writing_to(output):
        write_dashboard(output, page)
    print(f"wrote dashboard {output} ({output.stat().st_size // 1024} KiB, self-contained: open it offline)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="serve the bundled sample site and ingest it through Airflow")
    demo.add_argument("--port", type=int, help=f"sample site port (default {DEMO_PORT}, or a free one when taken)")
    demo.add_argument("--warehouse", help="lake folder or postgres: catalog (default data/warehouse or $NEWSFLOW_WAREHOUSE)")
    demo.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="one news_ingest run through Airflow")
    ingest.add_argument("--sources", required=True, help="sources YAML file")
    ingest.add_argument("--source", action="append", help="only this source (repeatable)")
    ingest.add_argument("--warehouse", help="lake folder or postgres: catalog (default data/warehouse or $NEWSFLOW_WAREHOUSE)")
    ingest.add_argument("--logical-date", help="the run's logical date, ISO 8601 (2018-06-01, 2018-06-01T06:00:00+02:00; "
                                               "no offset: UTC), from 2000-01-01 to now; default: now")
    ingest.add_argument("--quality", action="store_true", help="then run news_quality (checks, Data Docs, dashboard)")
    ingest.set_defaults(func=cmd_ingest)

    check = sub.add_parser("check", help="read each source's listing now and say what a run would fetch (no "
                                         "article is fetched, nothing is stored); exit 1 if a source lists nothing")
    check.add_argument("--sources", required=True, help="sources YAML file")
    check.add_argument("--source", action="append", help="only this source (repeatable)")
    check.set_defaults(func=cmd_check)

    up = sub.add_parser("up", help="start the scheduler, dag-processor, triggerer and UI in the background")
    up.add_argument("--port", type=int, help="UI port on 127.0.0.1 (default $NEWSFLOW_PORT or 8080)")
    up.add_argument("--demo", action="store_true",
                    help="also serve the live sample newsroom and schedule only its sources, every minute")
    up.add_argument("--sources", help="sources file to schedule (default $NEWSFLOW_SOURCES or config/sources.yaml; "
                                      "not with --demo)")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop everything `newsflow up` started")
    down.set_defaults(func=cmd_down)
    clean = sub.add_parser("clean-metadata", help="delete Airflow's run history older than the retention days "
                                                  "(the service's housekeeper does it daily)")
    clean.add_argument("--days", type=_days, default=None,
                       help="days of history to keep (default $NEWSFLOW_METADATA_RETENTION_DAYS or 30; under 1 "
                            "only while the service is down)")
    clean.set_defaults(func=cmd_clean_metadata)
    status = sub.add_parser("status", help="what runs (pids, URL), the last runs per DAG, and what is kept on disk")
    status.set_defaults(func=cmd_status)

    reprocess = sub.add_parser("reprocess", help="re-extract archived articles through news_reprocess (no refetch)")
    reprocess.add_argument("--sources", required=True, help="sources YAML file (settings and known sources)")
    reprocess.add_argument("--source", action="append", help="only this source (repeatable)")
    reprocess.add_argument("--start", help="first publication day, YYYY-MM-DD")
    reprocess.add_argument("--end", help="last publication day, YYYY-MM-DD")
    reprocess.add_argument("--warehouse")
    reprocess.set_defaults(func=cmd_reprocess)

    sql = sub.add_parser("sql", help="run a read-only query and print the result")
    sql.add_argument("query")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--warehouse")
    sql.set_defaults(func=cmd_sql)

    export = sub.add_parser("export", help="write a query's full result to CSV or Parquet (no row limit)")
    export.add_argument("--query", required=True)
    export.add_argument("--format", choices=("csv", "parquet"),
                        help="default: the --output file's suffix (.csv; .parquet or .pq); needed for any other name")
    export.add_argument("--output", required=True)
    export.add_argument("--warehouse")
    export.set_defaults(func=cmd_export)

    shell = sub.add_parser("shell", help="the DuckDB CLI with the warehouse attached (read-only) and selected")
    shell.add_argument("--warehouse")
    shell.add_argument("duckdb_args", nargs=argparse.REMAINDER,
                       help="passed to the duckdb CLI after `--`, e.g. -- -c \"select count(*) from articles\"")
    shell.set_defaults(func=cmd_shell)

    lake_cmd = sub.add_parser("warehouse", help="warehouse administration")
    lake_sub = lake_cmd.add_subparsers(dest="warehouse_command", required=True)
    upgrade = lake_sub.add_parser("upgrade", help="move an earlier newsflow DuckDB file into the lake (row counts checked)")
    upgrade.add_argument("--from", dest="from_file", required=True, help="the earlier warehouse.duckdb")
    upgrade.add_argument("--warehouse", help="the lake to create (default data/warehouse or $NEWSFLOW_WAREHOUSE)")
    upgrade.set_defaults(func=cmd_warehouse_upgrade)

    alert_test = sub.add_parser("alert-test", help="post a test message to $NEWSFLOW_ALERT_WEBHOOK (exit 1 with the "
                                "webhook's answer when it refuses)")
    alert_test.set_defaults(func=cmd_alert_test)

    report = sub.add_parser("report", help="write the offline HTML dashboard (opens the warehouse read-only)")
    report.add_argument("--output", required=True, help="HTML file to write")
    report.add_argument("--term", help="word for the term-trend chart (default: the most frequent long word)")
    report.add_argument("--warehouse")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\nnewsflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `newsflow status | head`: the reader has what it wanted; the interpreter's own flush at exit would fail
        # again on the closed pipe, so stdout goes to /dev/null
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except RunInterrupted as exc:
        print(f"\nnewsflow: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # noqa: BLE001 - sorted below; anything else is raised again
        if isinstance(exc.__cause__, KeyboardInterrupt):
            # Ctrl-C in a DuckDB query (`sql`, `export`): DuckDB's "Query interrupted", raised from the
            # KeyboardInterrupt, is the same interruption, not a crash with a traceback
            print("\nnewsflow: interrupted", file=sys.stderr)
            return 130
        # the error classes are imported only when needed: newsflow.warehouse imports duckdb
        from newsflow.airflow_runner import DagRunFailed
        from newsflow.alerts import AlertError, AlertSettingsError
        from newsflow.config import ConfigError
        from newsflow.env_settings import SettingError
        from newsflow.service import ServiceError
        from newsflow.warehouse import (
            NotOneQuery,
            QueryRefused,
            WarehouseBusy,
            WarehouseConfigError,
            WarehouseUnreadable,
        )

        # given what cannot be used: a bad setting or option, an empty query or several, an output that is a folder
        if isinstance(exc, ConfigError | WarehouseConfigError | SettingError | AlertSettingsError | NotOneQuery
                      | UsageError):
            print(f"newsflow: {exc}", file=sys.stderr)
            return 2
        # a query that would write, a warehouse DuckDB cannot open: exit 1, as DuckDB's own refusal always had
        if isinstance(exc, QueryRefused | WarehouseUnreadable):
            print(f"newsflow: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, WarehouseBusy):
            from newsflow.stages.failures import classify

            # "busy" is the warehouse's word for any failure to open it; a directory or a corrupt file is not busy
            permanent, cause = classify(exc)
            print(f"newsflow: {cause if permanent else exc}", file=sys.stderr)
            return 1
        # a missing lake, a catalog that is a directory, a webhook that refuses, ...
        if isinstance(exc, DagRunFailed | OSError | ServiceError | AlertError):
            print(f"newsflow: {exc}", file=sys.stderr)
            return 1
        # duckdb errors in a user's query deserve one clear line; in other commands they are not a query's
        if type(exc).__module__.startswith("_duckdb") or type(exc).__module__.startswith("duckdb"):
            print(f"newsflow: {'query failed: ' if args.command in ('sql', 'export') else ''}{exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
