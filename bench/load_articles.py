"""Load speed: 100,000 synthetic articles through the real load path (`newsflow.pipeline.load_run`).

    .venv/bin/python bench/load_articles.py [--articles 100000] [--sources 4] [--rounds 1] [--workdir /tmp/newsflow-load]
        [--json F]

Builds, untimed, one staging folder per source with the files load_run reads (valid.parquet in the ARTICLE schema,
ledger.validate.parquet in the LEDGER schema with one article row per valid record, empty rejected.parquet and
a validation.parquet with a few expectation rows) plus a sources file for the `sources` rows (sql/loads/13_upsert_sources.sql). Bodies are
2-4 KB of words, simhashes random 64-bit values, dates spread over two years. Then, in a child process (so its
peak memory is the loads' alone, not the build's), times side by side:
  bare         `insert into bare select * from read_parquet(<the staged valid.parquet files>)` into an empty
               table of a fresh lake: the floor any load of these rows pays
  first        load_run(run A) into a fresh lake: every article new
  second       load_run(run B) on the same staged files: every article unchanged (the idempotent upsert path)
  rerun        load_run(run A) again: a retried load of the same run (upserts over its own rows)
and checks the articles table holds exactly N rows after each. The bare insert runs once before and once after the
loads (each into a fresh lake); first / bare is taken against their mean. With --rounds R the sequence is
bare, loads, bare, loads, ..., bare (every load into a fresh lake), each round's first load is set against the bare
inserts on either side of it, and the median ratio is reported. Wall and CPU seconds (getrusage of the child: all
DuckDB threads) are both reported: on a shared machine the CPU ratio moves far less than the wall ratio. Reports
each child's peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

WORDS = ("the government said on monday that talks would continue despite opposition from several regional "
         "parties economy market shares rose percent after central bank decision officials reporters city council "
         "election results announced minister spokesperson international agreement climate energy prices police "
         "investigation court ruling football season championship players coach hospital health workers strike").split()


def build(workdir: Path, n: int, sources: int, seed: int = 7) -> tuple[list[Path], Path]:
    from newsflow import staging
    from newsflow.extract import extractor_version

    rng = random.Random(seed)
    version = extractor_version()
    names = [f"synth{i}" for i in range(sources)]
    sources_file = workdir / "sources.yaml"
    sources_file.write_text(
        "sources:\n" + "".join(f"  - {{name: {name}, kind: urls, urls: ['https://{name}.example.org/']}}\n" for name in names),
        encoding="utf-8",
    )
    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    folders = []
    per = n // sources
    for s, name in enumerate(names):
        folder = workdir / "staging" / name
        folder.mkdir(parents=True, exist_ok=True)
        count = per + (n - per * sources if s == sources - 1 else 0)
        articles, ledger = [], []
        for seq in range(count):
            url = f"https://{name}.example.org/news/{seq:07d}-story.html"
            aid = hashlib.sha1(url.encode()).hexdigest()
            target = rng.randint(2000, 4000)
            body = " ".join(rng.choices(WORDS, k=target // 6 + 40))[:target].rstrip()
            published = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
            articles.append({
                "seq": seq, "article_id": aid, "url": url, "canonical_url": url, "source": name,
                "source_domain": f"{name}.example.org", "sitename": name.title(), "title": f"Story {seq} of {name}",
                "author": "Staff", "published_at": published, "published_date": published.date(),
                "date_source": "json-ld", "date_disagreement": False, "date_reason": None, "date_candidates": None,
                "language": "en", "language_source": "text", "body": body, "body_chars": len(body),
                "link_density": 0.01, "body_hash": hashlib.sha1(body.encode()).hexdigest(),
                "simhash": rng.getrandbits(64), "credit": None, "categories": ["world"], "tags": ["synthetic"],
                "fetched_at": fetched, "http_status": 200, "warc_file": f"/archive/{name}.warc.gz",
                "warc_offset": seq * 4096, "extractor_version": version, "extractor_settings": "{}",
            })
            ledger.append({
                "seq": seq, "url_kind": "article", "url": url, "canonical_url": url, "article_id": aid,
                "http_status": 200, "bytes": len(body) * 5, "duration_ms": 40, "tries": 1, "fetched_at": fetched,
                "final_url": url, "content_type": "text/html; charset=utf-8", "etag": f'"{aid[:16]}"',
                "content_sha1": aid, "warc_file": f"/archive/{name}.warc.gz", "warc_offset": seq * 4096,
            })
        staging.write(articles, staging.ARTICLE, folder / "valid.parquet")
        staging.write(ledger, staging.LEDGER, folder / "ledger.validate.parquet")
        staging.write([], staging.REJECTED, folder / "rejected.parquet")
        staging.write(
            [{"source": name, "expectation": "expect_column_values_to_not_be_null", "column_name": c, "success": True,
              "element_count": count, "unexpected_count": 0, "unexpected_percent": 0.0, "details": None}
             for c in ("url", "body", "published_at", "language")],
            staging.VALIDATION, folder / "validation.parquet",
        )
        folders.append(folder)
    return folders, sources_file


def peak() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_bare(workdir: Path) -> dict:
    """The floor: the staged rows inserted as they are into an empty table of a fresh lake."""
    from newsflow.warehouse import connect

    staged = json.loads((workdir / "staged.json").read_text(encoding="utf-8"))
    valid = [str(Path(folder) / "valid.parquet") for folder in staged["folders"]]
    con = connect(workdir / "bare")
    con.execute("create table bare as select * from read_parquet($files) limit 0", {"files": valid})
    t0, c0 = time.monotonic(), cpu()
    con.execute("insert into bare select * from read_parquet($files)", {"files": valid})
    result = {"seconds": round(time.monotonic() - t0, 2), "cpu_s": round(cpu() - c0, 2),
              "rows": con.execute("select count(*) from bare").fetchone()[0]}
    con.close()
    return {"bare": {**result, "peak_rss_mib": peak()}}


def measure_loads(workdir: Path, n: int) -> dict:
    """The three loads through load_run, into a fresh lake."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs
    from newsflow.warehouse import connect, open_for_write

    staged = json.loads((workdir / "staged.json").read_text(encoding="utf-8"))
    lake = workdir / "lake"
    results: dict = {}
    open_for_write(lake).close()  # create + migrate the lake outside the timing, as the bare lake's table was
    for label, run_id in (("first", "bench_load_A"), ("second", "bench_load_B"), ("rerun", "bench_load_A")):
        # the staged files of `build`, as each run's load task would find them
        run_jobs = [dataclasses.replace(job, staging=Path(folder)) for job, folder in
                    zip(make_jobs(staged["sources_file"], None, run_id, str(lake)), staged["folders"], strict=True)]
        t0, c0 = time.monotonic(), cpu()
        summary = load_run(run_jobs, run_id=run_id, dag_id="bench_load")
        elapsed, cpu_s = time.monotonic() - t0, cpu() - c0
        con = connect(lake, read_only=True)
        rows = con.execute("select count(*) from articles").fetchone()[0]
        log_rows = con.execute("select count(*) from fetch_log where run_id = ?", [run_id]).fetchone()[0]
        con.close()
        results[label] = {"run_id": run_id, "seconds": round(elapsed, 2), "cpu_s": round(cpu_s, 2),
                          "rows_per_s": round(n / elapsed),
                          "warehouse_wait_s": summary["warehouse_wait_s"], "counts": summary["counts"],
                          "write_s": summary["write_s"], "steps_s": summary["steps_s"],
                          "articles_rows": rows, "fetch_log_rows_for_run": log_rows, "exactly_n": rows == n,
                          "peak_rss_mib_so_far": peak()}
    results["peak_rss_mib"] = peak()
    results["lake_mib"] = round(sum(f.stat().st_size for f in lake.rglob("*") if f.is_file()) / 2**20, 1)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-load"))
    parser.add_argument("--rounds", type=int, default=1, help="bare/loads alternations (median ratio reported)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--measure", choices=["bare", "loads"], help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args(argv)
    os.environ["NEWSFLOW_DATA_DIR"] = str(args.workdir / "data")
    if args.measure:
        result = measure_bare(args.workdir) if args.measure == "bare" else measure_loads(args.workdir, args.articles)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)

    started = time.monotonic()
    folders, sources_file = build(args.workdir, args.articles, args.sources)
    (args.workdir / "staged.json").write_text(
        json.dumps({"folders": [str(f) for f in folders], "sources_file": str(sources_file)}), encoding="utf-8")
    build_s = time.monotonic() - started
    staged_mb = sum(p.stat().st_size for p in (args.workdir / "staging").rglob("*.parquet")) / 2**20
    print(f"built {args.articles} synthetic articles in {build_s:.1f}s ({staged_mb:.0f} MiB staged Parquet)", flush=True)

    results = {"articles": args.articles, "sources": args.sources, "staged_parquet_mib": round(staged_mb, 1)}
    # each phase in its own process (its peak memory is its own); the bare insert is timed before and after each
    # loads phase, and each ratio taken against the mean of the two: on a shared machine one bare timing minutes
    # away from the loads moved the ratio between 3.1 and 7.3 for the same code
    def child(phase: str) -> dict:
        done = subprocess.run([sys.executable, __file__, "--measure", phase, "--workdir", str(args.workdir),
                               "--articles", str(args.articles)], capture_output=True, text=True, check=True)
        for fresh in ("bare", "lake"):  # the next phase writes into a fresh lake again
            shutil.rmtree(args.workdir / fresh, ignore_errors=True)
        return json.loads(done.stdout.split("RESULT ", 1)[1])

    bare_runs = [child("bare")["bare"]]
    rounds = []
    for _ in range(max(1, args.rounds)):
        loads = child("loads")
        bare_runs.append(child("bare")["bare"])
        around = bare_runs[-2:]
        bare_s = sum(b["seconds"] for b in around) / 2
        bare_cpu = sum(b["cpu_s"] for b in around) / 2
        rounds.append({**loads, "bare_s": round(bare_s, 2), "bare_cpu_s": round(bare_cpu, 2),
                       "first_over_bare": round(loads["first"]["seconds"] / bare_s, 2),
                       "first_over_bare_cpu": round(loads["first"]["cpu_s"] / bare_cpu, 2),
                       "loadavg": os.getloadavg()})
    median = sorted(rounds, key=lambda r: r["first_over_bare"])[len(rounds) // 2]
    results.update({k: v for k, v in median.items() if k not in ("bare_s", "bare_cpu_s")})
    results["bare"] = {"seconds": median["bare_s"], "cpu_s": median["bare_cpu_s"],
                       "all_s": [b["seconds"] for b in bare_runs], "rows": bare_runs[-1]["rows"],
                       "peak_rss_mib": max(b["peak_rss_mib"] for b in bare_runs)}
    results["rounds"] = [{"first_s": r["first"]["seconds"], "first_cpu_s": r["first"]["cpu_s"], "bare_s": r["bare_s"],
                          "bare_cpu_s": r["bare_cpu_s"], "first_over_bare": r["first_over_bare"],
                          "first_over_bare_cpu": r["first_over_bare_cpu"], "loadavg": r["loadavg"]} for r in rounds]
    results["first_over_bare_median"] = median["first_over_bare"]
    results["first_over_bare_cpu_median"] = sorted(r["first_over_bare_cpu"] for r in rounds)[len(rounds) // 2]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
