"""Runs left `running` by a process that died (kill -9, OOM, a lost machine): found and marked failed through
Airflow's public REST API, which also fails their unfinished task instances and so frees their pool slots.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.parse
import urllib.request

log = logging.getLogger(__name__)

DAG_IDS = ("news_ingest", "news_reprocess")


class AirflowApi:
    """The few REST calls needed here (stdlib only); `token` from Airflow's /auth/token."""

    def __init__(self, base_url: str, token: str, timeout: float = 15.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/api/v2{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"{}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def dead_runs(api: AirflowApi, dag_ids=DAG_IDS, hostname: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(dag_id, run_id, dead task ids) of runs in state `running` that have a running task instance on this
    machine whose process is gone. Task instances on other machines are left to their scheduler's heartbeat
    check: their pids mean nothing here."""
    # Airflow records the name its hostname_callable gives: the plain host name or the FQDN, by configuration
    names = {hostname} if hostname else {socket.gethostname(), socket.getfqdn()}
    found = []
    for dag_id in dag_ids:
        runs = api.call("GET", f"/dags/{dag_id}/dagRuns?state=running&limit=100").get("dag_runs", [])
        for run in runs:
            run_id = run["dag_run_id"]
            quoted = urllib.parse.quote(run_id, safe="")
            tis = api.call("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000").get(
                "task_instances", [])
            dead = [ti["task_id"] for ti in tis
                    if ti.get("state") == "running" and ti.get("hostname") in names and ti.get("pid")
                    and not _pid_alive(int(ti["pid"]))]
            if dead:
                found.append((dag_id, run_id, dead))
    return found


def fail_dead_runs(api: AirflowApi, dag_ids=DAG_IDS, hostname: str | None = None) -> list[str]:
    """Mark every dead run (see dead_runs) failed; returns their run ids. Call it before starting a run."""
    failed = []
    for dag_id, run_id, tasks in dead_runs(api, dag_ids, hostname):
        quoted = urllib.parse.quote(run_id, safe="")
        api.call("PATCH", f"/dags/{dag_id}/dagRuns/{quoted}", {"state": "failed"})
        log.warning("%s run %s was left running by a dead process (tasks %s): marked failed", dag_id, run_id,
                    ", ".join(tasks))
        failed.append(run_id)
    return failed
