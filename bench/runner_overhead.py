"""What the plain `airflow dags test` runner costs next to an older tree of the project (e.g. the one with the
patched execution API, tuned garbage collector and skipped interpreter exit): the same demo ingest, alternated.

    .venv/bin/python bench/runner_overhead.py --against fb104cf [--rounds 3] [--json out.json]

Each tree gets its own Airflow home and data dir under --workdir; one warm-up run each loads the sample site, then
every round times one incremental rerun per tree (the sample site is unchanged, so nothing is refetched into the
warehouse: the run is mostly Airflow's own cost). Reports the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))


def export_tree(rev: str, target: Path) -> Path:
    """The project files of `rev` (no git worktree: nothing in the repository changes)."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "plugins", "dags", "sql", "config"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def ingest(tree: Path, work: Path, sources: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    env.update({"PYTHONPATH": str(tree / "plugins"), "AIRFLOW_HOME": str(work / "home"),
                "NEWSFLOW_DATA_DIR": str(work / "data")})
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", "--sources", str(sources)], cwd=tree,
                          env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest with {tree} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision of the other tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/newsflow-runner-overhead")
    parser.add_argument("--json")
    args = parser.parse_args()

    from newsflow.sample_site.server import SampleSite
    from newsflow.service import sources_on_port

    work = Path(args.workdir)
    trees = {"this tree": ROOT, args.against: export_tree(args.against, work / "tree")}
    times: dict[str, list[float]] = {name: [] for name in trees}
    with SampleSite() as site:
        sources = sources_on_port(ROOT / "config" / "sources.demo.yaml", 8765, site.port, work)
        for name, tree in trees.items():
            print(f"warm-up {name}: {ingest(tree, work / name.replace(' ', '_'), sources):.1f}s", flush=True)
        for round_no in range(args.rounds):
            for name, tree in trees.items():
                elapsed = ingest(tree, work / name.replace(" ", "_"), sources)
                times[name].append(elapsed)
                print(f"round {round_no + 1} {name}: {elapsed:.1f}s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {"rounds": args.rounds, "times_s": times, "median_s": medians,
              "ratio_this_over_other": medians["this tree"] / medians[args.against]}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
