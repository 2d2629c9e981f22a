"""Runs left `running` by a process that died (kill -9, OOM, a lost machine), runs of schedules the sources file no
longer has, and runs a `newsflow down` cuts short: found and marked failed through Airflow's public REST API, which
also ends their tasks.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.parse

log = logging.getLogger(__name__)

# every newsflow DAG: news_ingest, the scheduled news_ingest_<schedule> ones, news_reprocess, news_quality, ...
DAG_PREFIX = "news_"
# the DAGs built from the sources file's schedules (news_ingest_hourly, ...); plain news_ingest is always defined
SCHEDULED_PREFIX = "news_ingest_"
# a task instance in any other state is not over: a run holding one can be resumed, whatever its own state says
FINISHED_TASK_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _run_path(dag_id: str, run_id: str) -> str:
    return f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"


def dead_runs(client, hostname: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(dag_id, run_id, dead task ids) of newsflow runs in state `running` that have a running task instance on
    this machine whose process is gone. `client` is a newsflow.service.Client. Task instances on other machines
    are left to their scheduler's heartbeat check: their pids mean nothing here."""
    # Airflow records the name its hostname_callable gives: the plain host name or the FQDN, by configuration
    names = {hostname} if hostname else {socket.gethostname(), socket.getfqdn()}
    found = []
    runs = client.get("/dags/~/dagRuns?state=running&limit=100").get("dag_runs", [])
    for run in runs:
        dag_id, run_id = run["dag_id"], run["dag_run_id"]
        if not dag_id.startswith(DAG_PREFIX):
            continue
        path = f"{_run_path(dag_id, run_id)}/taskInstances?limit=1000"
        tis = client.get(path).get("task_instances", [])
        dead = [ti["task_id"] for ti in tis
                if ti.get("state") == "running" and ti.get("hostname") in names and ti.get("pid")
                and not _pid_alive(int(ti["pid"]))]
        if dead:
            found.append((dag_id, run_id, dead))
    return found


def _mark_failed(client, runs: list[tuple[str, str]], why: str) -> list[tuple[str, str]]:
    """PATCH each (dag_id, run_id) to failed, which also ends its unfinished tasks; returns them."""
    for dag_id, run_id in runs:
        client.patch(_run_path(dag_id, run_id), {"state": "failed"})
        log.info("%s run %s marked failed: %s", dag_id, run_id, why)
    return list(runs)


def fail_dead_runs(client, hostname: str | None = None) -> list[tuple[str, str]]:
    """Mark every dead run (see dead_runs) failed; returns their (dag_id, run_id). Called before a run is
    triggered and when the service starts."""
    failed = []
    for dag_id, run_id, tasks in dead_runs(client, hostname):
        failed += _mark_failed(client, [(dag_id, run_id)], f"tasks {', '.join(tasks)} died with their process")
    return failed


def unscheduled_runs(client, scheduled: set[str]) -> list[tuple[str, str]]:
    """(dag_id, run_id) of queued or running runs of scheduled ingest DAGs that are not in `scheduled`, the DAG
    ids the service's sources file defines now. Left by a service that scheduled another file (a plain `make up`
    before `up --demo`), such a run never ends: its DAG is gone, so every start of its first task ends in "Dag not
    found" and a reschedule, and it would resume if that schedule came back."""
    runs = client.get("/dags/~/dagRuns?state=queued&state=running&limit=100").get("dag_runs", [])
    return [(run["dag_id"], run["dag_run_id"]) for run in runs
            if run["dag_id"].startswith(SCHEDULED_PREFIX) and run["dag_id"] not in scheduled]


def fail_unscheduled_runs(client, scheduled: set[str]) -> list[tuple[str, str]]:
    """Mark every run of unscheduled_runs failed; returns their (dag_id, run_id). Called when the service starts,
    before its scheduler does."""
    return _mark_failed(client, unscheduled_runs(client, scheduled), "its schedule is not in the sources file")


def fail_runs_of_retired_schedules(client, seen: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """For the running service's housekeeper, at each look: unscheduled_runs found at this look and the one before
    (`seen` carries them over) are marked failed; returns them. The look before is a margin for a scheduler
    evaluating the run as its DAG was retired; after that no scheduler touches it (Airflow examines no run of a
    stale DAG), so this PATCH races nothing. While the file that makes the DAGs does not import, its runs wait: it
    may be mended, and their schedules come back."""
    from pathlib import Path

    from newsflow.service import SCHEDULED_FILE

    errors = client.get("/importErrors?limit=100").get("import_errors", [])
    if any(Path(error.get("filename") or "").name == SCHEDULED_FILE for error in errors):
        found = set()
    else:
        found = set(unscheduled_runs(client, {dag["dag_id"] for dag in client.scheduled_dags()}))
    due = sorted(found & seen)
    seen.clear()
    seen.update(found.difference(due))
    return _mark_failed(client, due, "its schedule is no longer in the sources file")


def stop_runs_in_progress(client) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(running runs marked failed, queued runs left queued) of newsflow DAGs, for `newsflow down`: a run the
    stop cuts short is failed while the api-server still answers, instead of staying `running` until the next
    `up` finds its processes gone. A queued run has done nothing yet: it starts when the service is up again."""
    runs = client.get("/dags/~/dagRuns?state=queued&state=running&limit=100").get("dag_runs", [])
    ours = [run for run in runs if run["dag_id"].startswith(DAG_PREFIX)]
    running = [(run["dag_id"], run["dag_run_id"]) for run in ours if run["state"] == "running"]
    queued = [(run["dag_id"], run["dag_run_id"]) for run in ours if run["state"] == "queued"]
    return _mark_failed(client, running, "the service was stopped (newsflow down)"), queued


def settle_stopped_runs(client, stopped: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Second pass of `newsflow down`, once the scheduler is stopped and before the api-server is: (runs of
    `stopped` found unfinished and marked failed again, runs that started running since and are marked failed
    now). On SQLite the scheduler evaluating a run while the first PATCH commits can write back what it read
    before it (no row locks), leaving the run `running` or a task `scheduled`; the next `up` then resumed a run
    `down` had said was stopped. With no scheduler left, nothing races this pass."""
    again = []
    for dag_id, run_id in stopped:
        run = client.get(_run_path(dag_id, run_id))
        tis = client.get(f"{_run_path(dag_id, run_id)}/taskInstances?limit=1000").get("task_instances", [])
        if run.get("state") != "failed" or any(ti.get("state") not in FINISHED_TASK_STATES for ti in tis):
            again.append((dag_id, run_id))
    running = client.get("/dags/~/dagRuns?state=running&limit=100").get("dag_runs", [])
    newly = [(run["dag_id"], run["dag_run_id"]) for run in running
             if run["dag_id"].startswith(DAG_PREFIX) and (run["dag_id"], run["dag_run_id"]) not in stopped]
    return (_mark_failed(client, again, "still unfinished after the scheduler stopped (newsflow down)"),
            _mark_failed(client, newly, "started while the service was stopping (newsflow down)"))
