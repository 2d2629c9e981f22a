"""What one `news_ingest` run of many small sources costs on the always-on service, per task kind: `newsflow up`
on its own Airflow home and data dir (loopback ports), a sources file of N `urls` sources of P pages each on the
test FaultServer (`/ok/...` pages), `newsflow ingest` through the service (R runs: the first fetches everything, a
rerun finds every page known), then `newsflow down`. CPU seconds are read (psutil) every 50 ms for every process
the service's components start; a task process (`airflow worker -- <ti id>`) is named by its task instance.

    .venv/bin/python bench/service_sources.py OUT.json [--sources 40] [--pages 2] [--runs 1] [--tree PATH]
    .venv/bin/python bench/service_sources.py OUT.json --summary
"""


from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("out", type=Path, help="where the JSON result goes (with --summary: the result to summarize)")
parser.add_argument("--summary", action="store_true", help="print the per-task CPU table of an earlier result")
parser.add_argument("--sources", type=int, default=40, help="urls sources in the run (default 40)")
parser.add_argument("--pages", type=int, default=2, help="pages of each source (default 2)")
parser.add_argument("--runs", type=int, default=1, help="runs of news_ingest: the first fetches, the others find "
                    "every page known (default 1)")
parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                    help="the newsflow checkout whose .venv and code run (default: this one)")
ARGS = parser.parse_args()
TREE, OUT, N, PAGES, RUNS = ARGS.tree.resolve(), ARGS.out, ARGS.sources, ARGS.pages, ARGS.runs
sys.path[:0] = [str(TREE), str(TREE / "plugins")]

from tests.support.faultserver import FaultServer  # noqa: E402

TASK_TITLE = re.compile(r"^airflow worker -- ([0-9a-f-]{36})$")


def title(proc) -> str:
    try:
        # a retitled process pads its command line with NULs: the title without the padding
        return " ".join(proc.cmdline()).strip()
    except psutil.Error:
        return ""


class Sampler(threading.Thread):
    def __init__(self, roots: set[int]):
        super().__init__(daemon=True)
        self.roots, self.stop, self.seen = roots, threading.Event(), {}  # (pid, start) -> [title, first, last]

    def sample(self):
        procs = []
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                procs += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
            except psutil.Error:
                continue
            # the process's own CPU, not that of children it waited for: those are counted as processes of their own
            cpu = times.user + times.system
            entry = self.seen.get(key)
            if entry is None:
                entry = self.seen[key] = [title(proc), cpu, cpu]
            else:
                # a task process retitles itself once it knows its task instance: that title is kept
                if not TASK_TITLE.match(entry[0]):
                    entry[0] = title(proc) or entry[0]
                entry[2] = cpu

    def run(self):
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.05)


def main():
    base = Path(tempfile.mkdtemp(prefix="newsflow-service-sources-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(base / "home"), "NEWSFLOW_DATA_DIR": str(base / "data"),
                "PYTHONPATH": str(TREE / "plugins")})
    py = str(Path(sys.executable))
    newsflow = [py, "-m", "newsflow.cli"]
    result = {"tree": str(TREE), "sources": N, "pages": PAGES, "runs": []}
    with FaultServer() as server:
        sources = base / "sources.yaml"
        lines = [f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\nsources:\n"]
        for i in range(N):
            urls = ", ".join(f"'{server.url(f'/ok/s{i}-p{j}')}'" for j in range(PAGES))
            lines.append(f"  - name: src{i:03d}\n    kind: urls\n    urls: [{urls}]\n    language: en\n")
        sources.write_text("".join(lines))
        from newsflow.service import free_port
        port = free_port(18500)
        t0 = time.monotonic()
        up = subprocess.run([*newsflow, "up", "--port", str(port), "--sources", str(sources)], env=env, cwd=TREE,
                            capture_output=True, text=True)
        result["up_s"] = time.monotonic() - t0
        print("up", up.returncode, f"{result['up_s']:.1f}s", flush=True)
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            state = json.loads((base / "data" / "service" / "service.json").read_text())
            for _ in range(RUNS):
                sampler = Sampler({int(p) for p in state["pids"].values()})
                sampler.sample()
                sampler.start()
                load0 = os.getloadavg()[0]
                t0 = time.monotonic()
                ing = subprocess.run([*newsflow, "ingest", "--sources", str(sources)], env=env, cwd=TREE,
                                     capture_output=True, text=True)
                wall = time.monotonic() - t0
                time.sleep(1)
                sampler.stop.set()
                sampler.join()
                sampler.sample()
                print("ingest", ing.returncode, f"{wall:.1f}s", flush=True)
                print(ing.stdout[-1500:], ing.stderr[-1500:], flush=True)
                by_title = {}
                for name, first, last in sampler.seen.values():
                    by_title.setdefault(name, []).append(last - first)
                result["runs"].append({"wall_s": wall, "rc": ing.returncode, "load_at_start": load0,
                                       "load_at_end": os.getloadavg()[0],
                                       "procs": {t: v for t, v in by_title.items()},
                                       "out_tail": ing.stdout[-3000:]})
                # the run's task instances with their ids, durations
                os.environ.update({"AIRFLOW_HOME": env["AIRFLOW_HOME"], "NEWSFLOW_DATA_DIR": env["NEWSFLOW_DATA_DIR"]})
                from newsflow.service import Client
                client = Client.for_service(state)
                runs = client.get("/dags/news_ingest/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
                run_id = runs[0]["dag_run_id"]
                from urllib.parse import quote
                tis = {"task_instances": []}
                while True:
                    page = client.get(f"/dags/news_ingest/dagRuns/{quote(run_id, safe='')}/taskInstances"
                                      f"?limit=100&offset={len(tis['task_instances'])}")["task_instances"]
                    tis["task_instances"] += page
                    if len(page) < 100:
                        break
                result["runs"][-1]["dag_run"] = runs[0]
                result["runs"][-1]["tis"] = [{k: t.get(k) for k in ("id", "task_id", "map_index", "duration",
                                              "start_date", "end_date", "queued_when", "try_number", "state")}
                                             for t in tis["task_instances"]]
        finally:
            down = subprocess.run([*newsflow, "down"], env=env, cwd=TREE, capture_output=True, text=True)
            print("down", down.returncode, down.stdout[-500:], flush=True)
            # the service's Airflow home, metadata DB, lake and logs: hundreds of MB a run
            shutil.rmtree(base, ignore_errors=True)
    OUT.write_text(json.dumps(result, indent=1, default=str))
    summarize(result)


def summarize(result):
    for run in result["runs"]:
        tis = {t["id"]: t for t in run["tis"]}
        kinds = {}
        for title, cpus in run["procs"].items():
            m = TASK_TITLE.match(title)
            if m and m.group(1) in tis:
                kinds.setdefault(tis[m.group(1)]["task_id"], []).extend(cpus)
            else:
                kinds.setdefault("svc:" + title[:60], []).extend(cpus)
        durs = {}
        for t in run["tis"]:
            durs.setdefault(t["task_id"], []).append(t["duration"] or 0)
        print(f"wall {run['wall_s']:.1f}s  load {run['load_at_start']:.1f}->{run['load_at_end']:.1f}")
        total = 0
        for k, v in sorted(kinds.items(), key=lambda kv: -sum(kv[1])):
            total += sum(v)
            if sum(v) < 0.5:
                continue
            d = durs.get(k, [])
            print(f"  {k[:70]:70s} n={len(v):3d} cpu={sum(v):7.1f} mean={sum(v)/len(v):5.2f}"
                  + (f"  dur mean={sum(d)/len(d):5.2f}" if d else ""))
        print(f"  total cpu {total:.1f}")


if __name__ == "__main__":
    if ARGS.summary:
        summarize(json.loads(OUT.read_text()))
    else:
        main()
