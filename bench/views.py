"""Time every analyst view and table macro on a lake (e.g. one built by bench/synthetic_warehouse.py).

    python bench/views.py --warehouse /tmp/synth-lake [--runs 5] [--threads 2] [--first] [--only NAME ...] [--checks]

The lake is opened as analysts open it (newsflow.warehouse.connect, read-only). Each query's full result is
materialised (`create or replace temp table bench_out as ...`, in memory), so the time includes every row of the
view, not a count. Prints a markdown table: median and min wall time and median CPU time (this process's, all
threads) over --runs runs (after one warm-up run), with --first the first query of a fresh connection, and rows.
With --checks, news_quality's SQL checks instead (newsflow.quality_checks.sql_checks, each check and the whole), as
the quality run calls them on its read-only connection; rows are check rows.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

QUERIES = [
    ("coverage_daily", "select * from coverage_daily"),
    ("coverage_daily_per_outlet", "select * from coverage_daily_per_outlet"),
    ("coverage_weekly", "select * from coverage_weekly"),
    ("source_freshness", "select * from source_freshness"),
    ("coverage_gaps", "select * from coverage_gaps"),
    ("articles_daily_by_credit", "select * from articles_daily_by_credit"),
    ("listing_turnover", "select * from listing_turnover"),
    ("articles_gone", "select * from articles_gone"),
    ("term_coverage('earthquake', 'day')", "select * from term_coverage('earthquake', 'day')"),
    ("term_coverage('Election', 'week')", "select * from term_coverage('Election', 'week')"),
    ("term_coverage('правительство', 'month')", "select * from term_coverage('правительство', 'month')"),
    ("term_coverage('ПРАВИТЕЛЬСТВО', 'day')", "select * from term_coverage('ПРАВИТЕЛЬСТВО', 'day')"),
    ("term_coverage('الحكومة', 'week')", "select * from term_coverage('الحكومة', 'week')"),
    ("term_coverage('政府', 'day')", "select * from term_coverage('政府', 'day')"),
    # a rare made-up word from the synthetic vocabulary's long tail (~0.1% of articles)
    ("term_coverage('nexshibaper', 'day')", "select * from term_coverage('nexshibaper', 'day')"),
    # a word no article holds
    ("term_coverage('quetzalcoatl', 'day')", "select * from term_coverage('quetzalcoatl', 'day')"),
    # a word in nearly every article: every body passes the substring test and goes through the pattern
    ("term_coverage('the', 'month')", "select * from term_coverage('the', 'month')"),
    # phrases
    ("term_coverage('ceasefire talks', 'week')", "select * from term_coverage('ceasefire talks', 'week')"),
    ("term_coverage('central bank', 'week')", "select * from term_coverage('central bank', 'week')"),
    ("term_coverage('the central bank', 'day')", "select * from term_coverage('the central bank', 'day')"),
    ("term_coverage('правительство министр', 'week')",
     "select * from term_coverage('правительство министр', 'week')"),
    ("term_coverage('政府 部长', 'month')", "select * from term_coverage('政府 部长', 'month')"),
    # pairs of the commonest words, in most articles
    ("term_coverage('of the', 'month')", "select * from term_coverage('of the', 'month')"),
    ("term_coverage('in the', 'day')", "select * from term_coverage('in the', 'day')"),
    ("term_coverage('of the government', 'month')", "select * from term_coverage('of the government', 'month')"),
    # a longer Chinese word, and Thai (written without spaces between words): every body is read
    ("term_coverage('政府部长', 'week')", "select * from term_coverage('政府部长', 'week')"),
    ("term_coverage('กรุงเทพ', 'week')", "select * from term_coverage('กรุงเทพ', 'week')"),
    ("source_coverage('dailyherald', 'day')", "select * from source_coverage('dailyherald', 'day')"),
    ("source_coverage('citytimes', 'month')", "select * from source_coverage('citytimes', 'month')"),
]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench(warehouse: Path, runs: int, threads: int | None, only: list[str] | None = None,
          first: bool = False) -> list[dict]:
    from newsflow.warehouse import connect

    def opened():
        con = connect(warehouse, read_only=True)
        if threads:
            con.execute(f"set threads = {threads}")
        return con

    con = opened()
    results = []
    for name, sql in QUERIES:
        if only and not any(o in name for o in only):
            continue
        result = {"query": name}
        if first:  # a fresh connection's first query: catalog, file footers and buffer pool all cold
            fresh = opened()
            started = time.perf_counter()
            fresh.execute(f"create or replace temp table bench_out as {sql}")
            result["first_s"] = time.perf_counter() - started
            fresh.close()
        times, cpus = [], []
        for attempt in range(runs + 1):
            started, cpu = time.perf_counter(), _cpu()
            con.execute(f"create or replace temp table bench_out as {sql}")
            elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
            if attempt:  # the first run warms the buffer pool
                times.append(elapsed)
                cpus.append(cpu)
        rows = con.execute("select count(*) from bench_out").fetchone()[0]
        result.update(median_s=statistics.median(times), min_s=min(times), cpu_s=statistics.median(cpus), rows=rows)
        results.append(result)
        print(f"{name}: {statistics.median(times):.3f}s", file=sys.stderr)
    con.close()
    return results


def bench_checks(warehouse: Path, runs: int, threads: int | None) -> list[dict]:
    from newsflow import quality_checks as qc
    from newsflow.extraction_health import extraction_health_checks
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    if threads:
        con.execute(f"set threads = {threads}")
    limits = qc.Thresholds()
    checks = [
        ("check_unique_keys", lambda: qc.check_unique_keys(con)),
        ("check_freshness", lambda: qc.check_freshness(con, limits=limits)),
        ("check_volume", lambda: qc.check_volume(con, limits=limits)),
        ("check_null_rates", lambda: qc.check_null_rates(con, limits=limits)),
        ("check_duplicate_rate", lambda: qc.check_duplicate_rate(con, limits=limits)),
        ("check_run_rates", lambda: qc.check_run_rates(con, limits=limits)),
        ("check_listing_turnover", lambda: qc.check_listing_turnover(con)),
        ("check_date_disagreement_rate", lambda: qc.check_date_disagreement_rate(con, limits=limits)),
        ("extraction_health_checks", lambda: extraction_health_checks(con)),
        ("sql_checks (all)", lambda: qc.sql_checks(con, limits=limits)),
    ]
    results = []
    for name, call in checks:
        times, cpus = [], []
        for attempt in range(runs + 1):
            started, cpu = time.perf_counter(), _cpu()
            rows = len(call())
            elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
            if attempt:
                times.append(elapsed)
                cpus.append(cpu)
        results.append({"query": name, "median_s": statistics.median(times), "min_s": min(times),
                        "cpu_s": statistics.median(cpus), "rows": rows})
        print(f"{name}: {statistics.median(times):.3f}s", file=sys.stderr)
    con.close()
    return results


def markdown(results: list[dict]) -> str:
    first = any("first_s" in r for r in results)
    lines = ["| view / macro | median (s) | min (s) | CPU, median (s) |" + (" fresh connection's first (s) |" if first
                                                                           else "") + " rows |",
             "|---|---:|---:|---:|" + ("---:|" if first else "") + "---:|"]
    for r in results:
        lines.append(f"| `{r['query']}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['cpu_s']:.2f} |"
                     + (f" {r['first_s']:.3f} |" if first else "") + f" {r['rows']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--only", action="append", help="only queries whose name contains this (repeatable)")
    parser.add_argument("--first", action="store_true",
                        help="also time each query as the first one of a fresh connection")
    parser.add_argument("--checks", action="store_true", help="time news_quality's SQL checks instead of the views")
    args = parser.parse_args(argv)
    if args.checks:
        print(markdown(bench_checks(args.warehouse, args.runs, args.threads)))
    else:
        print(markdown(bench(args.warehouse, args.runs, args.threads, args.only, args.first)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
