"""A run stopped during fetch_extract: `kill -9` of the task process (`newsflow ingest` returns, no waiting on
orphaned pipes; the extraction workers die with it) or SIGTERM to `newsflow ingest` (the whole run stops with
it); either way a rerun accounts for every URL exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer
from tests.support.procs import alive, children, cmdline, kill, spawned_workers, wait_gone
from tests.support.webhook import Webhook

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NEWSFLOW = [sys.executable, "-m", "newsflow.cli"]
PAGES = 80  # above the serial threshold: the extraction pool starts


def slow_site_run(tmp_path, server, airflow_home) -> tuple[list[str], dict, list[str]]:
    """A urls source of PAGES slow pages (the extraction pool starts); returns the urls, the environment of a run on
    the test's Airflow home and its own data dir, and the `newsflow ingest` command."""
    urls = [server.url(f"/slow/story-{i}?s=0.4") for i in range(PAGES)]
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    (tmp_path / "sources.yaml").write_text(
        f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
        "  host_concurrency: 2\n  max_tries: 1\n  extract_workers: 2\n"
        "sources:\n  - {name: slow, kind: urls, urls_file: urls.txt}\n")
    return urls, {**os.environ, "AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
                  "NEWSFLOW_WAREHOUSE": str(tmp_path / "data" / "warehouse")}, [
        *NEWSFLOW, "ingest", "--sources", str(tmp_path / "sources.yaml")]


def started(command: list[str], env: dict) -> tuple[subprocess.Popen, list[str], threading.Thread]:
    """`newsflow ingest` started, its output collected by a thread as it comes."""
    cli = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(cli.stdout), daemon=True)
    reader.start()
    return cli, output, reader


def killed_if_running(cli: subprocess.Popen) -> None:
    if cli.poll() is None:
        kill(cli.pid, signal.SIGKILL)
        cli.wait(10)


def wait_for_extraction_workers(cli: subprocess.Popen, output: list[str]) -> tuple[int, list[int], list[int]]:
    """The airflow process running every task of `dags test`, once its extraction workers exist (the run is in
    fetch_extract), with those workers and its multiprocessing resource tracker."""
    deadline = time.monotonic() + 240
    task, workers = None, []
    while time.monotonic() < deadline and not workers:
        time.sleep(0.2)
        task = next((c for c in children(cli.pid) if "airflow dags test" in cmdline(c)), None)
        workers = spawned_workers(task) if task else []
    assert workers, "".join(output)[-3000:]
    return task, workers, [c for c in children(task) if "resource_tracker" in cmdline(c)]


def assert_rerun_accounts_every_url_once(run, data: Path) -> str:
    """The rerun of the stopped run's sources: the pages answer at once now (their slowness kept the stopped run in
    fetch_extract; 80 pages at 0.4 s, two at a time, were 16 s more of the rerun)."""
    command, env, urls = run.command, run.env, run.urls
    run.server.slow = False
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    con = connect(data / "warehouse", read_only=True)
    [(new_run_id, status)] = con.execute("select run_id, status from runs").fetchall()
    assert status == "succeeded"
    rows = con.execute("select url, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by url",
                       [new_run_id]).fetchall()
    assert sorted(u for u, _n in rows) == sorted(urls) and {n for _u, n in rows} == {1}
    failed = con.execute("select url, reason from fetch_log where run_id = ? and outcome = 'failed'",
                         [new_run_id]).fetchall()
    assert failed == [], failed  # each page once, and none lost (a page not yet in the WARC was warc_truncated)
    return new_run_id


@contextmanager
def ingest_in_fetch_extract(tmp_path, airflow_home):
    """`newsflow ingest` of the slow site, once the run is in fetch_extract with its extraction workers: yields
    what a test needs to stop it and look, and kills what the test left running."""
    with FaultServer() as server:
        urls, env, command = slow_site_run(tmp_path, server, airflow_home)
        cli, output, reader = started(command, env)
        try:
            task, workers, tracker = wait_for_extraction_workers(cli, output)
            yield SimpleNamespace(urls=urls, env=env, command=command, cli=cli, output=output, reader=reader,
                                  task=task, workers=workers, tracker=tracker, server=server)
        finally:
            killed_if_running(cli)
            reader.join(10)


def test_kill_9_of_the_task_process_during_fetch_extract(tmp_path, airflow_home):
    with ingest_in_fetch_extract(tmp_path, airflow_home) as run:
        kill(run.task, signal.SIGKILL)
        killed_at = time.monotonic()
        run.cli.wait(timeout=60)  # raises TimeoutExpired if the CLI hangs on orphaned pipes
        returned_after = time.monotonic() - killed_at
        assert run.cli.returncode != 0
        assert returned_after < 60
        assert wait_gone(run.workers + run.tracker, 10) == []
        assert not any(alive(p) for p in run.workers)

        # the killed run is still `running` in Airflow's metadata: the service marks it failed when it starts
        run_id, states = fail_dead_run_on_service_start(run.env, tmp_path / "sources.yaml")
        assert states == {"failed"} or states <= {"failed", "skipped", "success", "upstream_failed"}, states
        assert "running" not in states and "queued" not in states

        # the rerun accounts for every URL once
        new_run_id = assert_rerun_accounts_every_url_once(run, tmp_path / "data")
    assert new_run_id != run_id
    print(f"CLI returned {returned_after:.1f} s after kill -9 of the task process")


def test_sigterm_to_newsflow_ingest_stops_its_run_and_every_process_of_it(tmp_path, airflow_home):
    """A supervisor's or a job timeout's SIGTERM to `newsflow ingest` (no service): by default it ended the command
    alone, and the run, in a process group of its own, went on unseen, `airflow dags test` ignoring SIGTERM."""
    with ingest_in_fetch_extract(tmp_path, airflow_home) as run:
        run.cli.send_signal(signal.SIGTERM)
        try:
            run.cli.wait(timeout=60)
        finally:
            left = wait_gone([run.task, *run.workers, *run.tracker], 10)
            for pid in left:
                kill(pid, signal.SIGKILL)
        run.reader.join(10)  # the command has ended: its output is complete once the pipe is read
        said = "".join(run.output)
        assert run.cli.returncode == 128 + signal.SIGTERM, said[-3000:]
        assert left == [], [cmdline(p) for p in left]
        [stopped] = [line for line in said.splitlines() if "stopped (SIGTERM)" in line]
        assert stopped.startswith("newsflow: news_ingest run manual__"), stopped
        assert "Traceback" not in said, said[-3000:]
        # nothing of the stopped run was loaded; the next run fetches and accounts every URL once
        assert_rerun_accounts_every_url_once(run, tmp_path / "data")


def fail_dead_run_on_service_start(env: dict, sources: Path) -> tuple[str, set[str]]:
    """`newsflow up` on the killed run's Airflow home marks the dead run failed before any scheduled run (long
    before the scheduler's 5-minute heartbeat timeout would); returns its run id and its task instances' states,
    read through the service's REST API, then `newsflow down`."""
    import json
    import urllib.parse

    from newsflow.dead_runs import dead_runs
    from newsflow.service import Client, free_port

    port = free_port(18180)
    hook = Webhook().__enter__()
    up = subprocess.run([*NEWSFLOW, "up", "--port", str(port), "--sources", str(sources)], cwd=ROOT,
                        env={**env, "NEWSFLOW_ALERT_WEBHOOK": hook.url}, capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        said = [x for x in up.stdout.splitlines() if "left running by a dead process" in x]
        assert len(said) == 1, up.stdout + up.stderr
        [line] = said
        assert line.startswith("newsflow: news_ingest run ") and line.endswith("marked failed"), line
        run_id = line.split(" run ", 1)[1].split(" was left", 1)[0]
        # the dead process posted nothing, and no DAG callback runs for a run failed through the REST API
        assert [(p["newsflow"]["run_id"], p["newsflow"]["reason"]) for p in hook.posts
                if p["newsflow"]["kind"] == "run_failed"] == [
            (run_id, "left running by a dead process")], hook.posts
        state = json.loads((Path(env["NEWSFLOW_DATA_DIR"]) / "service" / "service.json").read_text())
        client = Client.for_service(state)
        assert dead_runs(client) == []
        quoted = urllib.parse.quote(run_id, safe="")
        run = client.get(f"/dags/news_ingest/dagRuns/{quoted}")
        tis = client.get(f"/dags/news_ingest/dagRuns/{quoted}/taskInstances")["task_instances"]
        assert run["state"] == "failed", (run, [(t["task_id"], t["map_index"], t["state"], t["end_date"]) for t in tis],
                                          up.stdout)
        return run_id, {ti["state"] for ti in tis}
    finally:
        down = subprocess.run([*NEWSFLOW, "down"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
        hook.__exit__(None, None, None)
        assert down.returncode == 0, down.stdout + down.stderr
