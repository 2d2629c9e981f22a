"""news_ingest on a real multi-worker deployment (`make test-scaleout`): Postgres, Redis, an Airflow scheduler with
the CeleryExecutor and two Celery workers on loopback; tasks run on both workers, every URL is accounted for, a
second run duplicates nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support import cluster

pytestmark = pytest.mark.scaleout

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "news_ingest"
RUNS = ("scaleout-1", "scaleout-2")
OUTCOMES = {"loaded", "unchanged", "rejected", "failed", "skipped"}
EXPECTED = json.loads((ROOT / "plugins/newsflow/sample_site/expected.json").read_text(encoding="utf-8"))

# The one setting that picks the warehouse the workers share (see cluster.warehouse_env): the lake's catalog in
# the test's Postgres as in docker-compose.yaml, or "file" for a SQLite-catalog lake in the shared data folder.
WAREHOUSE = os.environ.get("NEWSFLOW_SCALEOUT_WAREHOUSE", "postgres")


def create_warehouse(env: dict[str, str]) -> None:
    """What airflow-init does in docker-compose.yaml: create the catalog database and migrate the warehouse once,
    at deploy time, rather than in whichever task comes first."""
    result = subprocess.run(
        [sys.executable, "-m", "newsflow.warehouse_init"], env={**os.environ, **env}, timeout=300, cwd=ROOT,
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def query_warehouse(env: dict[str, str], sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse the workers wrote, read-only, at the location they used (the analysts' entry)."""
    import newsflow

    con = newsflow.connect(env["NEWSFLOW_WAREHOUSE"])
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def demo_sources(site_base_url: str, folder: Path) -> Path:
    """config/sources.demo.yaml pointed at the sample site's port instead of the demo's fixed 8765."""
    host_port = site_base_url.removeprefix("http://")
    text = (ROOT / "config/sources.demo.yaml").read_text(encoding="utf-8").replace("127.0.0.1:8765", host_port)
    path = folder / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, sample_site):
    reason = cluster.missing_services()
    if reason:
        pytest.skip(f"scale-out test needs real services: {reason}")
    root = tmp_path_factory.mktemp("scaleout")
    processes = cluster.Processes(root / "logs")
    postgres = cluster.Postgres()
    ports = [postgres.port]
    started = time.monotonic()
    try:
        postgres.start()
        redis = cluster.Redis(processes, root / "redis")
        ports.append(redis.port)
        redis.start()
        env = cluster.warehouse_env(WAREHOUSE, root / "data", postgres.libpq(cluster.LAKE_DB))
        create_warehouse(env)
        airflow = cluster.AirflowCluster(processes, root / "airflow", postgres, redis, env)
        ports += airflow.ports
        airflow.start()
        airflow.wait_for_dag(DAG_ID)
        print(f"\nscaleout: deployment up in {time.monotonic() - started:.0f} s (postgres :{postgres.port}, "
              f"redis :{redis.port}, api-server :{airflow.api_port}, workers {', '.join(airflow.workers)}, "
              f"warehouse {WAREHOUSE})")
        yield {"airflow": airflow, "env": env, "root": root, "sources": demo_sources(sample_site.base_url, root)}
    finally:
        processes.stop_all()
        postgres.stop()
        groups = processes.groups | ({postgres.postmaster_pid} if postgres.postmaster_pid else set())
        # checked even when a test failed: a stray worker or postmaster would outlive the session
        assert not cluster.leftovers(groups), cluster.leftovers(groups)
        assert not cluster.bound_ports(ports), f"ports still bound after the stop: {cluster.bound_ports(ports)}"


@pytest.fixture(scope="module")
def runs(deployment):
    """Two runs through the scheduler, then the first run's load and account cleared and run again (a retried or
    re-run load must not duplicate either); task instances and article counts after each."""
    airflow = deployment["airflow"]
    conf = {"sources_file": str(deployment["sources"])}
    result = {}
    for run_id in RUNS:
        started = time.monotonic()
        airflow.trigger(DAG_ID, run_id, conf)
        result[run_id] = finished(deployment, run_id, started, run_id)
    started = time.monotonic()
    airflow.clear(DAG_ID, RUNS[0], ["load"])
    result["rerun"] = finished(deployment, RUNS[0], started, f"{RUNS[0]} load and account again")
    return result


def finished(deployment, run_id: str, started: float, label: str) -> dict:
    airflow = deployment["airflow"]
    state = airflow.wait_for_run(DAG_ID, run_id)
    assert state == "success", airflow.failure_report(DAG_ID, run_id)
    run = {
        "seconds": time.monotonic() - started,
        "tasks": airflow.task_instances(DAG_ID, run_id),
        "articles": query_warehouse(deployment["env"], "select count(*) from articles")[0][0],
    }
    print(f"scaleout: {label} succeeded in {run['seconds']:.0f} s, {run['articles']} articles in the warehouse")
    return run


def test_tasks_ran_on_both_workers(deployment, runs):
    workers = set(deployment["airflow"].workers)
    for run_id in RUNS:
        run = runs[run_id]
        hosts = Counter(row[3] for row in run["tasks"])
        retried = sum(1 for row in run["tasks"] if row[4] > 1)
        print(f"scaleout: {run_id} worker host names that ran tasks: "
              + ", ".join(f"{host} ({n} tasks)" for host, n in sorted(hosts.items())) + f"; {retried} retried")
        assert all(row[2] == "success" for row in run["tasks"]), run["tasks"]
        # every task ran on one of our workers (not the scheduler's host), and each worker ran some
        assert set(hosts) == workers, hosts


def test_every_discovered_url_is_accounted_for(deployment, runs):
    """fetch_log holds exactly the URLs the discover tasks wrote to the shared staging folder, once each."""
    import pyarrow.parquet as pq

    for run_id in RUNS:
        ledgers = sorted((deployment["root"] / "data" / "staging" / run_id).glob("*/ledger.discover.parquet"))
        assert len(ledgers) == 5, ledgers  # the demo's five sources
        discovered = Counter()
        for ledger in ledgers:
            table = pq.read_table(ledger, columns=["url_kind", "seq", "url"])
            for kind, seq, url in zip(*(table.column(c).to_pylist() for c in ("url_kind", "seq", "url")), strict=True):
                discovered[(ledger.parent.name, kind, seq, url)] += 1
        logged = query_warehouse(
            deployment["env"], "select source, url_kind, seq, url, outcome from fetch_log where run_id = ?", [run_id]
        )
        assert Counter(row[:4] for row in logged) == discovered
        assert {row[4] for row in logged} <= OUTCOMES
        assert sum(1 for row in logged if row[1] == "article") == len(EXPECTED)


def test_first_run_outcomes_match_the_sample_site(deployment, runs, sample_site):
    logged = query_warehouse(
        deployment["env"], "select url, outcome from fetch_log where run_id = ? and url_kind = 'article'", [RUNS[0]]
    )
    got = {url.removeprefix(sample_site.base_url): outcome for url, outcome in logged}
    assert got == {e["path"]: e["outcome"] for e in EXPECTED}


def test_second_run_duplicates_nothing(deployment, runs):
    first, second = (runs[run_id]["articles"] for run_id in RUNS)
    assert first == sum(1 for e in EXPECTED if e["outcome"] == "loaded")
    assert second == first
    doubled = query_warehouse(
        deployment["env"], "select article_id, count(*) from articles group by article_id having count(*) > 1"
    )
    assert doubled == []
    outcomes = dict(query_warehouse(
        deployment["env"],
        "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by outcome",
        [RUNS[1]],
    ))
    assert outcomes.get("loaded", 0) == 0, outcomes


def test_rerun_of_a_load_duplicates_nothing(deployment, runs):
    """The first run's load ran a second time (cleared after the second run): same articles, and the accounting
    test above, which reads fetch_log afterwards, finds one row per URL still."""
    assert all(row[2] == "success" for row in runs["rerun"]["tasks"]), runs["rerun"]["tasks"]
    tries = {row[0]: row[4] for row in runs["rerun"]["tasks"] if row[1] == -1}
    assert tries["load"] == 2 and tries["account"] == 2, tries
    assert tries["plan"] == 1  # only the cleared tasks ran again
    assert runs["rerun"]["articles"] == runs[RUNS[0]]["articles"]
    doubled = query_warehouse(
        deployment["env"],
        "select url, count(*) from fetch_log where run_id = ? group by url, url_kind, seq having count(*) > 1",
        [RUNS[0]],
    )
    assert doubled == []


def test_a_machine_pointing_at_other_data_files_is_told_where_they_are(deployment, runs):
    """A Postgres lake's data files are where its catalog says: a machine whose NEWSFLOW_LAKE_DATA names another
    folder (another mount point, a typo) gets that said, with the folder to use, instead of DuckDB's bare error."""
    if WAREHOUSE != "postgres":
        pytest.skip("the lake is a folder here: it opens wherever it is")
    env = {**os.environ, **deployment["env"], "NEWSFLOW_LAKE_DATA": str(deployment["root"] / "elsewhere")}
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "sql", "select count(*) from articles"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (f"NEWSFLOW_LAKE_DATA is {deployment['root'] / 'elsewhere'}/ but this lake's data files are at "
            f"{deployment['env']['NEWSFLOW_LAKE_DATA']}/") in done.stderr, done.stderr


def catalog_connections(deployment, allowed: bool) -> None:
    """Let the lake's catalog database take new connections or not, as while its Postgres restarts."""
    import psycopg2

    airflow = deployment["airflow"]
    con = psycopg2.connect(airflow.postgres.libpq(cluster.AIRFLOW_DB))
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f"alter database {cluster.LAKE_DB} allow_connections {str(allowed).lower()}")
    finally:
        con.close()


def test_an_account_step_that_cannot_reach_the_catalog_is_retried(deployment, runs):
    """The lake's Postgres restarting while a run's account step opens the lake: every URL of the run is logged, the
    step only could not read them. Account had no retries, so the run failed (its alert: `failed tasks: account`,
    the step that says URLs are unaccounted for); it is retried like any step that met a transient error, and the
    run succeeds once the catalog answers again. Its verdict itself is still never retried (a permanent error)."""
    if WAREHOUSE != "postgres":
        pytest.skip("the catalog is a file here")
    airflow = deployment["airflow"]
    # the second run, whose account ran once: Airflow's backoff grows with every try a cleared task has had
    catalog_connections(deployment, False)
    try:
        airflow.clear(DAG_ID, RUNS[1], ["account"])

        def first_try_over():
            states = {row[0]: row[2] for row in airflow.task_instances(DAG_ID, RUNS[1]) if row[1] == -1}
            return states["account"] if states["account"] in ("up_for_retry", "failed") else None

        after_first_try = cluster.wait_for("account's first try", first_try_over, 180, every=1,
                                           alive=airflow.processes.check_alive)
    finally:
        catalog_connections(deployment, True)
    assert after_first_try == "up_for_retry", airflow.failure_report(DAG_ID, RUNS[1])
    assert airflow.wait_for_run(DAG_ID, RUNS[1]) == "success", airflow.failure_report(DAG_ID, RUNS[1])
    status = query_warehouse(deployment["env"], "select status from runs where run_id = ?", [RUNS[1]])
    assert status == [("succeeded",)]


def test_the_housekeepers_clean_on_postgres(deployment, runs):
    """Last: `newsflow clean-metadata`, the clean the newsflow-housekeeper service runs daily, on this deployment's
    Postgres metadata. With no day kept, the runs' history goes (they are manual runs: Airflow keeps only the
    latest scheduled run of a DAG), and the command says per table how many rows went."""
    airflow = deployment["airflow"]
    before = {run_id: len(airflow.task_instances(DAG_ID, run_id)) for run_id in RUNS}
    assert all(before.values()), before
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "clean-metadata", "--days", "0"], env=airflow.env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    deleted = {line.split(":")[0].strip(): int(line.split()[1]) for line in done.stdout.splitlines()
               if line.endswith("rows deleted")}
    assert deleted["dag_run"] >= len(RUNS) and deleted["task_instance"] > 0, done.stdout
    assert {run_id: len(airflow.task_instances(DAG_ID, run_id)) for run_id in RUNS} == dict.fromkeys(RUNS, 0)
