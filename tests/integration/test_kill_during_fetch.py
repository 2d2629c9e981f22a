"""`kill -9` of the task process during fetch_extract: `newsflow ingest` returns (no waiting on orphaned
pipes), the extraction workers die with it, and a rerun accounts for every URL exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer
from tests.support.procs import alive, children, cmdline, kill, spawned_workers, wait_gone

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PAGES = 80  # above the serial threshold: the extraction pool starts


def test_kill_9_of_the_task_process_during_fetch_extract(tmp_path, airflow_home):
    data = tmp_path / "data"
    with FaultServer() as server:
        urls = [server.url(f"/slow/story-{i}?s=0.4") for i in range(PAGES)]
        (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
        (tmp_path / "sources.yaml").write_text(
            f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
            "  host_concurrency: 2\n  max_tries: 1\n  extract_workers: 2\n"
            "sources:\n  - {name: slow, kind: urls, urls_file: urls.txt}\n")
        env = {**os.environ, "AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(data),
               "NEWSFLOW_WAREHOUSE": str(data / "warehouse")}
        command = [sys.executable, "-m", "newsflow.cli", "ingest", "--sources", str(tmp_path / "sources.yaml")]
        cli = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(cli.stdout), daemon=True)
        reader.start()
        try:
            # the airflow process runs every task of `dags test`; wait until its extraction workers exist
            deadline = time.monotonic() + 240
            task, workers = None, []
            while time.monotonic() < deadline and not workers:
                time.sleep(0.2)
                task = next((c for c in children(cli.pid) if "airflow dags test" in cmdline(c)), None)
                workers = spawned_workers(task) if task else []
            assert workers, "".join(output)[-3000:]
            tracker = [c for c in children(task) if "resource_tracker" in cmdline(c)]
            kill(task, signal.SIGKILL)
            killed_at = time.monotonic()
            cli.wait(timeout=60)  # raises TimeoutExpired if the CLI hangs on orphaned pipes
            returned_after = time.monotonic() - killed_at
        finally:
            if cli.poll() is None:
                kill(cli.pid, signal.SIGKILL)
                cli.wait(10)
        reader.join(10)
        assert cli.returncode != 0
        assert returned_after < 60
        assert wait_gone(workers + tracker, 10) == []
        assert not any(alive(p) for p in workers)

        # the killed run is still `running` in Airflow's metadata: found and marked failed through the REST API
        run_id, states = fail_dead_run_through_rest(airflow_home)
        assert states == {"failed"} or states <= {"failed", "skipped", "success", "upstream_failed"}, states
        assert "running" not in states and "queued" not in states

        # the rerun accounts for every URL once
        rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    con = connect(data / "warehouse", read_only=True)
    [(new_run_id, status)] = con.execute("select run_id, status from runs").fetchall()
    assert new_run_id != run_id
    assert status == "succeeded"
    rows = con.execute("select url, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by url",
                       [new_run_id]).fetchall()
    assert sorted(u for u, _n in rows) == sorted(urls) and {n for _u, n in rows} == {1}
    print(f"CLI returned {returned_after:.1f} s after kill -9 of the task process")


def fail_dead_run_through_rest(airflow_home) -> tuple[str, set[str]]:
    """Start Airflow's api-server on the test's Airflow home, mark the dead run failed with
    newsflow.dead_runs, and return its run id and the states of its task instances afterwards."""
    import json
    import socket
    import urllib.parse
    import urllib.request

    from newsflow.airflow_runner import airflow_env
    from newsflow.dead_runs import AirflowApi, dead_runs, fail_dead_runs

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = airflow_env({"AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}"})
    server = subprocess.Popen([sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/auth/token", timeout=5) as response:
                    token = json.loads(response.read())["access_token"]
                break
            except OSError:
                assert time.monotonic() < deadline, "the api-server did not start"
                time.sleep(0.5)
        api = AirflowApi(base, token)
        [(dag_id, run_id, tasks)] = dead_runs(api)
        assert dag_id == "news_ingest" and "fetch_extract" in tasks
        assert fail_dead_runs(api) == [run_id]
        assert dead_runs(api) == []
        quoted = urllib.parse.quote(run_id, safe="")
        assert api.call("GET", f"/dags/news_ingest/dagRuns/{quoted}")["state"] == "failed"
        tis = api.call("GET", f"/dags/news_ingest/dagRuns/{quoted}/taskInstances")["task_instances"]
        return run_id, {ti["state"] for ti in tis}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
