"""The pieces the scale-out deployment relies on, without starting it: per-worker host names, the catalog location,
and the harness's promise that a stopped process group leaves no process and no listening port behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest

from newsflow import worker_host
from newsflow.warehouse_init import catalog_dsn
from tests.support import cluster


def test_worker_hostname_from_env(monkeypatch):
    monkeypatch.setenv(worker_host.WORKER_HOSTNAME_ENV, " worker-a ")
    assert worker_host.hostname() == "worker-a"
    monkeypatch.setenv(worker_host.WORKER_HOSTNAME_ENV, "")
    assert worker_host.hostname() == socket.getfqdn()
    monkeypatch.delenv(worker_host.WORKER_HOSTNAME_ENV)
    assert worker_host.hostname() == socket.getfqdn()


def test_airflow_uses_the_hostname_callable(monkeypatch):
    """The dotted path the test and the docs give resolves through Airflow's own config lookup."""
    from airflow.configuration import conf

    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "newsflow.worker_host.hostname")
    monkeypatch.setenv(worker_host.WORKER_HOSTNAME_ENV, "worker-b")
    assert conf.getimport("core", "hostname_callable")() == "worker-b"


def test_catalog_dsn():
    assert catalog_dsn("postgres:dbname=lake host=db port=5433 user=u") == "dbname=lake host=db port=5433 user=u"
    assert catalog_dsn("/srv/newsflow/warehouse") is None
    assert catalog_dsn("") is None


def test_warehouse_env_names(tmp_path):
    lake = cluster.warehouse_env("postgres", tmp_path, "dbname=lake host=127.0.0.1 port=1 user=postgres")
    assert lake == {
        "NEWSFLOW_DATA_DIR": str(tmp_path),
        "NEWSFLOW_WAREHOUSE": "postgres:dbname=lake host=127.0.0.1 port=1 user=postgres",
        "NEWSFLOW_LAKE_DATA": str(tmp_path / "lake"),
    }
    assert set(cluster.warehouse_env("file", tmp_path, "")) == {"NEWSFLOW_DATA_DIR", "NEWSFLOW_WAREHOUSE"}
    with pytest.raises(ValueError, match="expected 'file' or 'postgres'"):
        cluster.warehouse_env("sqlite", tmp_path, "")


# A leader that ignores SIGTERM and a child listening on a port: what a stuck worker looks like.
STUBBORN = """
import signal, socket, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, socket, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "s = socket.socket(); s.bind(('127.0.0.1', int(__import__('sys').argv[1]))); s.listen(); time.sleep(600)",
    sys.argv[1]])
print("ready", flush=True)
time.sleep(600)
"""


def test_stop_leaves_no_process_and_no_port(tmp_path):
    processes = cluster.Processes(tmp_path / "logs")
    port = cluster.free_port()
    proc = processes.start("stubborn", [sys.executable, "-c", STUBBORN, str(port)], env={}, cwd=tmp_path)
    cluster.wait_for("the stubborn child to listen", lambda: cluster.bound_ports([port]), 30, every=0.1)
    assert len(cluster.leftovers(processes.groups)) == 2
    processes.stop("stubborn", timeout=1)
    # it ignores SIGTERM, so it ended because stop() escalated to SIGKILL after the grace period (without the
    # escalation stop() would wait for its 600 s sleep and the test time out)
    assert proc.returncode == -signal.SIGKILL
    cluster.wait_for("the group to go", lambda: not cluster.leftovers(processes.groups), 10, every=0.1)
    assert cluster.bound_ports([port]) == []


def test_check_alive_names_the_process_that_died(tmp_path):
    processes = cluster.Processes(tmp_path / "logs")
    processes.start("short", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], env={}, cwd=tmp_path)
    processes.running["short"].wait(30)
    with pytest.raises(cluster.ClusterError, match="short exited with 3") as error:
        processes.check_alive()
    assert "bye" in str(error.value)
    processes.stop_all()


def test_postgres_bindir_has_the_server_tools():
    bindir = cluster.postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries here (apt-get install postgresql)")
    for tool in ("initdb", "pg_ctl", "createdb"):
        assert (bindir / tool).exists(), tool
    version = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True)
    assert "PostgreSQL" in version.stdout


def test_missing_services_names_what_is_missing(monkeypatch, tmp_path):
    """Elsewhere than CI the scale-out test skips with this reason: it must say what to install."""
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no redis-server to be found
    reason = cluster.missing_services()
    assert reason is not None and "redis-server (apt-get install redis-server)" in reason
