"""End to end: one whole `newsflow ingest` through Airflow over a loopback copy of a real-page corpus, next to the
bare trafilatura CLI on the same URLs, with peak memory, per-stage times and an incremental rerun.

    .venv/bin/python bench/e2e.py --corpus /work/shared/corpora/article-extraction-benchmark \
        --copies 11 --copies 55 [--processes 2] [--repeat 1] [--workdir /tmp/newsflow-e2e] [--json out.json]
        [--no-validators] [--rerun-always]

For each K in --copies (N = 181 x K pages, served by bench/loopback_site.py in its own process):
  newsflow     `python -m newsflow.cli ingest --sources S --warehouse W` in a fresh data dir, warehouse and Airflow
               home (the Airflow metadata DB is migrated once beforehand, outside the timing); sources file: one
               `urls` source with `urls_file: http://127.0.0.1:PORT/urls.txt`, min_host_interval_s 0,
               host/global concurrency 16, respect_robots false, extract_workers = --processes.
               Checked: fetch_log has exactly N article rows for the run.
  incremental  the same command again right away (same warehouse): known articles are not due for a revisit (the
               default policy), so they cost no request; the pages that failed or were rejected are fetched again
               (ETag/304 and identical bodies cost no extraction).
  --no-validators  the site sends no ETag (and never a Last-Modified): a page fetched again is a full 200.
  --rerun-always   a third run on the same warehouse with `revisit: always` (every known article fetched again, the
                   behaviour before revisit policies), for comparison.
  --service    the same `newsflow ingest` commands with the service up (`newsflow up` on the run's Airflow home and
               data dir, started before and stopped after, untimed): each run is triggered through the REST API and
               executed by the scheduler's LocalExecutor, as an always-on deployment runs it. CPU is then the
               service's process tree (its processes' own and reaped children's CPU, before/after each run), plus
               the client's; stage times come from the task instances' start and end.
  trafilatura  `.venv/bin/trafilatura --input-file urls.txt --parallel P -o OUT --config-file CFG` with
               SLEEP_TIME = 0 and SSRF_PROTECTION = off (it refuses loopback otherwise); with --cli-metadata also
               with `--json --with-metadata` (the date and title newsflow keeps come only with metadata).
Peak memory: the whole process tree of each command (psutil, every 0.2 s: the sum of RSS over all live
descendants, and the largest single process), plus ru_maxrss from wait4 (largest single descendant).
Per-stage wall time comes from the "[DAG TEST] starting/end task" lines of airflow_home/logs/news_ingest-last-run.log.
With --repeat R, the newsflow/trafilatura order alternates between repeats (the machine is shared: ratios within
one run are what to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from loopback_site import LoopbackSite, corpus_html_dir  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
TRAFILATURA = str(ROOT / ".venv" / "bin" / "trafilatura")


# -- measuring a command ---------------------------------------------------------------------------------------
class TreeSampler(threading.Thread):
    """Samples RSS of a process and all its descendants every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_sum = 0
        self.peak_single = 0
        self.peak_procs = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.stop_event.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total, single = 0, 0
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                single = max(single, rss)
            self.peak_sum = max(self.peak_sum, total)
            self.peak_single = max(self.peak_single, single)
            self.peak_procs = max(self.peak_procs, len(procs))
            self.stop_event.wait(self.interval)


def run_measured(cmd: list[str], env: dict, log_path: Path, cwd: Path = ROOT) -> dict:
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    sampler.stop_event.set()
    sampler.join()
    return {
        "wall_s": round(wall, 2),
        "exit": proc.returncode,
        "peak_tree_rss_mb": round(sampler.peak_sum / 2**20),
        "peak_single_rss_mb": round(sampler.peak_single / 2**20),
        "max_processes": sampler.peak_procs,
        "ru_maxrss_mb": round(usage.ru_maxrss / 1024),  # largest single descendant (Linux: KiB)
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "log": str(log_path),
    }


# -- newsflow --------------------------------------------------------------------------------------------------
def prepare_airflow_template(workdir: Path) -> Path:
    """Migrate an Airflow metadata DB once; each measured run gets a fresh copy of it (setup is not timed)."""
    template = workdir / "airflow_template"
    if (template / ".newsflow-setup").exists():
        return template
    template.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AIRFLOW_HOME": str(template), "PYTHONPATH": str(ROOT / "plugins")}
    print(f"migrating a template Airflow home in {template} (once, untimed) ...", flush=True)
    subprocess.run([PY, "-c", "from newsflow.airflow_runner import ensure_airflow; ensure_airflow()"],
                   env=env, check=True, cwd=ROOT)
    return template


def fresh_home(template: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("logs"))
    return target


def write_sources(path: Path, port: int, processes: int, concurrency: int, revisit: str | None = None) -> None:
    path.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['127.0.0.1:{port}']\n"
        "  min_host_interval_s: 0\n"
        f"  host_concurrency: {concurrency}\n"
        f"  global_concurrency: {concurrency}\n"
        "  respect_robots: false\n"
        f"  extract_workers: {processes}\n"
        "  max_articles: 1000000\n"  # every listed page, whatever N
        + (f"  revisit: {revisit}\n" if revisit else "")
        + "sources:\n"
        f"  - {{name: bench, kind: urls, urls_file: 'http://127.0.0.1:{port}/urls.txt'}}\n",
        encoding="utf-8",
    )


_STAGE = re.compile(r"^(\S+Z) .*\[DAG TEST\] (starting|end) task(?: task)?_id=(\S+)")


def stage_times(log_file: Path) -> dict[str, float]:
    """Seconds per task from the `[DAG TEST] starting/end task` lines (mapped tasks summed)."""
    open_at: dict[str, datetime] = {}
    totals: dict[str, float] = {}
    first = last = None
    if not log_file.exists():
        return {}
    for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _STAGE.search(line)
        if not match:
            continue
        at = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        first = first or at
        last = at
        task = match.group(3)
        if match.group(2) == "starting":
            open_at[task] = at
        elif task in open_at:
            totals[task] = totals.get(task, 0.0) + (at - open_at.pop(task)).total_seconds()
    if first and last:
        totals["_first_start_to_last_end"] = (last - first).total_seconds()
    return {k: round(v, 2) for k, v in totals.items()}


def warehouse_counts(warehouse: Path) -> dict:
    sys.path.insert(0, str(ROOT / "plugins"))
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        runs = con.execute("select run_id, status from runs order by loaded_at").fetchall()
        per_run = {}
        for run_id, status in runs:
            rows = con.execute(
                "select outcome, reason, count(*) from fetch_log where run_id = ? and url_kind = 'article' "
                "group by all order by 3 desc", [run_id]).fetchall()
            per_run[run_id] = {"status": status, "articles_logged": sum(r[2] for r in rows),
                               "outcomes": {f"{o}:{r}": n for o, r, n in rows}}
        articles = con.execute("select count(*) from articles").fetchone()[0]
    finally:
        con.close()
    return {"runs": per_run, "articles_table": articles}


def service_cpu_s(pgid: int) -> float:
    """CPU seconds of the service's process group so far: each member's own and its reaped children's."""
    total = 0.0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, ProcessLookupError):
            continue
    return total


def service_stage_times(state: dict, home: Path, data: Path) -> dict[str, float]:
    """Seconds per task of the newest news_ingest run, from the REST API's task instances."""
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_HOME", "NEWSFLOW_DATA_DIR")}
    os.environ.update({"AIRFLOW_HOME": str(home), "NEWSFLOW_DATA_DIR": str(data)})
    try:
        from newsflow.service import Client

        client = Client.for_service(state)
        runs = client.get("/dags/news_ingest/dagRuns?order_by=-start_date&limit=1")["dag_runs"]
        tis = client.get(f"/dags/news_ingest/dagRuns/{runs[0]['dag_run_id']}/taskInstances?limit=1000")
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    totals: dict[str, float] = {}
    starts, ends = [], []
    for ti in tis["task_instances"]:
        if ti.get("start_date") and ti.get("end_date"):
            start = datetime.fromisoformat(ti["start_date"])
            end = datetime.fromisoformat(ti["end_date"])
            totals[ti["task_id"]] = totals.get(ti["task_id"], 0.0) + (end - start).total_seconds()
            starts.append(start)
            ends.append(end)
    if starts:
        totals["_first_start_to_last_end"] = (max(ends) - min(starts)).total_seconds()
        run_start = datetime.fromisoformat(runs[0]["start_date"]) if runs[0].get("start_date") else min(starts)
        totals["_run_start_to_first_task"] = (min(starts) - run_start).total_seconds()
    return {k: round(v, 2) for k, v in totals.items()}


def run_newsflow(site, workdir: Path, template: Path, processes: int, concurrency: int,
                 rerun_always: bool = False, on_service: bool = False) -> dict:
    tag = f"N{site.pages}"
    home = fresh_home(template, workdir / f"{tag}-airflow")
    data = workdir / f"{tag}-data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    sources = workdir / f"{tag}-sources.yaml"
    write_sources(sources, site.port, processes, concurrency)
    warehouse = data / "warehouse"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(warehouse),
           "PYTHONPATH": str(ROOT / "plugins")}
    always = workdir / f"{tag}-sources-revisit-always.yaml"
    write_sources(always, site.port, processes, concurrency, revisit="always")
    labels = ("first", "incremental", "revisit_always") if rerun_always else ("first", "incremental")
    results = {}
    state = None
    if on_service:
        from newsflow.service import free_port

        print("  newsflow up (untimed) ...", flush=True)
        up = subprocess.run([PY, "-m", "newsflow.cli", "up", "--port", str(free_port(18480)), "--sources", str(sources)],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if up.returncode != 0:
            raise SystemExit(f"newsflow up failed:\n{up.stdout}\n{up.stderr}")
        state = json.loads((data / "service" / "service.json").read_text())
        time.sleep(10)  # let the scheduler and dag-processor settle after start-up, as on an always-on service
    try:
        for label in labels:
            print(f"  newsflow {label} run, N={site.pages}{' on the service' if on_service else ''} ...", flush=True)
            cmd = [PY, "-m", "newsflow.cli", "ingest", "--sources",
                   str(always if label == "revisit_always" else sources), "--warehouse", str(warehouse)]
            service_cpu_before = service_cpu_s(state["pgid"]) if state else 0.0
            res = run_measured(cmd, env, workdir / f"{tag}-newsflow-{label}.out")
            if state:
                res["client_cpu_s"] = res["cpu_s"]
                res["service_cpu_s"] = round(service_cpu_s(state["pgid"]) - service_cpu_before, 1)
                res["cpu_s"] = round(res["client_cpu_s"] + res["service_cpu_s"], 1)
                res["stages_s"] = service_stage_times(state, home, data)
            else:
                last_log = home / "logs" / "news_ingest-last-run.log"
                shutil.copy(last_log, workdir / f"{tag}-newsflow-{label}.airflow.log") if last_log.exists() else None
                res["stages_s"] = stage_times(last_log)
            res["pages_per_s"] = round(site.pages / res["wall_s"], 2)
            results[label] = res
            print(f"    {json.dumps(res)}", flush=True)
            if res["exit"] != 0:
                print(f"    newsflow exited {res['exit']}; see {res['log']}", flush=True)
                break
    finally:
        if on_service:
            subprocess.run([PY, "-m", "newsflow.cli", "down"], env=env, cwd=ROOT, timeout=180, check=False)
    counts = warehouse_counts(warehouse)
    run_ids = list(counts["runs"])
    for label, run_id in zip(labels, run_ids, strict=False):
        results[label]["run_id"] = run_id
        results[label]["accounting"] = counts["runs"][run_id]
        results[label]["all_urls_accounted"] = counts["runs"][run_id]["articles_logged"] == site.pages
    results["articles_table"] = counts["articles_table"]
    return results


# -- bare trafilatura ------------------------------------------------------------------------------------------
def run_trafilatura(site, urls_file: Path, workdir: Path, processes: int, metadata: bool = False) -> dict:
    tag = f"N{site.pages}" + ("-metadata" if metadata else "")
    config = workdir / "trafilatura.cfg"
    # the CLI reads the file with configparser: start from the package's own settings, turn politeness/SSRF off
    import trafilatura

    base = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    base = re.sub(r"(?m)^SLEEP_TIME\s*=.*$", "SLEEP_TIME = 0", base)
    base = re.sub(r"(?m)^SSRF_PROTECTION\s*=.*$", "SSRF_PROTECTION = off", base)
    config.write_text(base, encoding="utf-8")
    out = workdir / f"{tag}-trafilatura-out"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = [TRAFILATURA, "--input-file", str(urls_file), "--parallel", str(processes), "-o", str(out),
           "--config-file", str(config), *(["--json", "--with-metadata"] if metadata else [])]
    print(f"  trafilatura CLI{' --json --with-metadata' if metadata else ''}, N={site.pages} ...", flush=True)
    res = run_measured(cmd, {**os.environ, "NO_PROXY": "*"}, workdir / f"{tag}-trafilatura.out")
    res["files_written"] = sum(1 for p in out.rglob("*") if p.is_file())
    res["pages_per_s"] = round(site.pages / res["wall_s"], 2)
    print(f"    {json.dumps(res)}", flush=True)
    return res


# -- main ------------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, type=Path, help="article-extraction-benchmark folder (html/*.html.gz)")
    parser.add_argument("--copies", type=int, action="append", help="replicas of the corpus (repeatable; default 11)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cli-metadata", action="store_true",
                        help="also time the CLI with --json --with-metadata (dates and titles, as newsflow keeps)")
    parser.add_argument("--skip-trafilatura", action="store_true")
    parser.add_argument("--newsflow-first", action="store_true", help="start the alternation with newsflow")
    parser.add_argument("--no-validators", action="store_true", help="the site sends no ETag: reruns get full 200s")
    parser.add_argument("--rerun-always", action="store_true",
                        help="a third newsflow run with `revisit: always` (every known article fetched again)")
    parser.add_argument("--service", action="store_true",
                        help="run newsflow's ingests on the service (`newsflow up` first, REST-triggered runs)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-e2e"))
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args(argv)
    corpus_html_dir(args.corpus)  # exits with a clear message when the corpus is absent
    args.workdir.mkdir(parents=True, exist_ok=True)
    template = prepare_airflow_template(args.workdir)
    all_results = []
    for size, copies in enumerate(args.copies or [11]):
        with LoopbackSite(args.corpus, copies, etag=not args.no_validators) as site:
            urls_file = args.workdir / f"N{site.pages}-urls.txt"
            urls_file.write_bytes(urllib.request.urlopen(site.base + "/urls.txt", timeout=30).read())
            for rep in range(args.repeat):
                # alternate per repeat and per size by their positions (the copies count's parity inverted the flag)
                newsflow_first = ((rep + size) % 2 == 0) == args.newsflow_first
                order = ["newsflow", "trafilatura"] if newsflow_first else ["trafilatura", "newsflow"]
                if args.skip_trafilatura:
                    order = ["newsflow"]
                print(f"N={site.pages} (copies={copies}) repeat {rep + 1}/{args.repeat}: order {order}", flush=True)
                entry = {"copies": copies, "pages": site.pages, "repeat": rep, "order": order, "processes": args.processes,
                         "validators": not args.no_validators, "cores": os.cpu_count(),
                         "loadavg_before": os.getloadavg()}
                for what in order:
                    if what == "newsflow":
                        entry["newsflow"] = run_newsflow(site, args.workdir, template, args.processes, args.concurrency,
                                                         args.rerun_always, args.service)
                    else:
                        entry["trafilatura"] = run_trafilatura(site, urls_file, args.workdir, args.processes)
                        if args.cli_metadata:
                            entry["trafilatura_metadata"] = run_trafilatura(site, urls_file, args.workdir,
                                                                            args.processes, metadata=True)
                entry["loadavg_after"] = os.getloadavg()
                nf = entry["newsflow"]
                if "trafilatura" in entry:
                    entry["ratio_newsflow_over_bare_throughput"] = round(
                        entry["trafilatura"]["wall_s"] / nf["first"]["wall_s"], 3)
                if "trafilatura_metadata" in entry:
                    entry["ratio_newsflow_over_cli_metadata_throughput"] = round(
                        entry["trafilatura_metadata"]["wall_s"] / nf["first"]["wall_s"], 3)
                if "incremental" in nf:
                    entry["incremental_over_first_time"] = round(nf["incremental"]["wall_s"] / nf["first"]["wall_s"], 3)
                if "revisit_always" in nf:
                    entry["revisit_always_over_first_time"] = round(
                        nf["revisit_always"]["wall_s"] / nf["first"]["wall_s"], 3)
                print("  summary: " + json.dumps({k: entry.get(k) for k in (
                    "ratio_newsflow_over_bare_throughput", "ratio_newsflow_over_cli_metadata_throughput",
                    "incremental_over_first_time",
                    "revisit_always_over_first_time")}), flush=True)
                all_results.append(entry)
                if args.json:
                    args.json.write_text(json.dumps(all_results, indent=1, default=str), encoding="utf-8")
    print(json.dumps(all_results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
