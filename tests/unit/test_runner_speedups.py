"""The run-time shortcuts of newsflow's Airflow runner keep their contracts: the airflow CLI wrapper that skips
interpreter teardown returns the CLI's own exit codes and output, and the validation prewarm only runs when the
run's tasks share one process; the trimmed execution API serves the task SDK's API version exactly as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsflow import quality
from newsflow.airflow_runner import airflow_env


def _airflow_exec(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = airflow_env({"AIRFLOW_HOME": str(tmp_path / "airflow_home")})
    return subprocess.run([sys.executable, "-m", "newsflow.airflow_exec", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_airflow_exec_passes_output_and_success(tmp_path):
    from importlib.metadata import version

    done = _airflow_exec("version", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == version("apache-airflow")


def test_airflow_exec_keeps_failure_exit_codes(tmp_path):
    # argparse refuses an unknown command with exit status 2, as the airflow script does
    done = _airflow_exec("no-such-command", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


_ROUTES_BEFORE_AND_AFTER_TRIM = """
import json
from pydantic import TypeAdapter
from airflow.api_fastapi.execution_api import routes as api_routes, versions
from airflow.api_fastapi.execution_api.app import create_task_execution_api_app
from airflow.sdk.api.datamodels._generated import API_VERSION
from newsflow.airflow_exec import serve_current_execution_api_only

def served(values):
    app = create_task_execution_api_app()
    app._cadwyn_initialize()
    return {value: sorted([route.path, sorted(route.methods or []), route.name,
                           json.dumps(TypeAdapter(route.response_model).json_schema()
                                      if getattr(route, "response_model", None) else None, sort_keys=True)]
                          for route in app.router.versioned_routers[value].routes)
            for value in values}

all_versions = list(versions.bundle.version_values)
router_before = api_routes.execution_api_router
routes_before = list(router_before.routes)
before = served(all_versions)
kept = serve_current_execution_api_only()
after = served(kept)
print(json.dumps({"all": all_versions, "kept": kept, "api": API_VERSION,
                  "same": {value: before[value] == after[value] for value in kept},
                  "routes": len(after[API_VERSION]),
                  "airflow_router_untouched": router_before.routes == routes_before}))
"""


def test_trimmed_execution_api_serves_the_kept_versions_unchanged(tmp_path):
    import json

    env = airflow_env({"AIRFLOW_HOME": str(tmp_path / "airflow_home")})
    done = subprocess.run([sys.executable, "-c", _ROUTES_BEFORE_AND_AFTER_TRIM], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["kept"] is not None, "nothing trimmed: check serve_current_execution_api_only against this Airflow"
    assert result["kept"][0] == result["api"] == result["all"][0]
    # the newest version and a plain base below it: each version kept costs ~0.25 s on every run
    assert result["kept"] == result["all"][:2]
    assert result["routes"] > 10
    assert all(result["same"].values()), f"a kept API version lost or changed a route: {result['same']}"
    assert result["airflow_router_untouched"]


def test_prewarm_is_off_unless_tasks_share_the_process(monkeypatch):
    monkeypatch.delenv(quality.PREWARM_ENV, raising=False)
    assert quality.prewarm_in_background() is None


def test_prewarm_imports_great_expectations_in_the_background(monkeypatch):
    monkeypatch.setenv(quality.PREWARM_ENV, "1")
    thread = quality.prewarm_in_background()
    assert thread is not None and thread.daemon and thread.name == "prewarm-great-expectations"
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "great_expectations" in sys.modules


def test_trim_leaves_airflows_bundle_alone_when_the_sdk_speaks_another_version(monkeypatch):
    from airflow.api_fastapi.execution_api import versions
    from airflow.sdk.api.datamodels import _generated

    from newsflow.airflow_exec import serve_current_execution_api_only

    before = versions.bundle
    monkeypatch.setattr(_generated, "API_VERSION", "1999-01-01")
    assert serve_current_execution_api_only() is None
    assert versions.bundle is before


_SQLITE_SYNC = """
import json, sqlite3, sys
from sqlalchemy import create_engine, text
from newsflow.airflow_exec import sqlite_commits_without_fsync

wal, plain = sys.argv[1], sys.argv[2]
con = sqlite3.connect(wal); con.execute("pragma journal_mode=wal"); con.close()
sqlite_commits_without_fsync()
result = {}
for name, path in (("wal", wal), ("plain", plain)):
    with create_engine(f"sqlite:///{path}").connect() as conn:
        result[name] = conn.execute(text("pragma synchronous")).scalar()
print(json.dumps(result))
"""


def test_sqlite_metadata_in_wal_mode_commits_without_fsync(tmp_path):
    import json

    # a subprocess: the listener is registered on every SQLAlchemy engine of the process
    done = subprocess.run([sys.executable, "-c", _SQLITE_SYNC, str(tmp_path / "wal.db"), str(tmp_path / "plain.db")],
                          env=airflow_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # 1 = NORMAL (WAL synced at checkpoints only); 2 = FULL, SQLite's default, kept without WAL
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"wal": 1, "plain": 2}


def test_airflow_exec_waits_for_the_go(tmp_path):
    from importlib.metadata import version

    from newsflow.airflow_runner import GO, GO_ENV

    env = airflow_env({"AIRFLOW_HOME": str(tmp_path / "airflow_home"), GO_ENV: "1"})
    cmd = [sys.executable, "-m", "newsflow.airflow_exec", "version"]
    stopped = subprocess.run(cmd, env=env, input="", capture_output=True, text=True, timeout=120, check=False)
    assert stopped.returncode == 0 and stopped.stdout == ""  # no go: the command never ran
    went = subprocess.run(cmd, env=env, input=GO + "\n", capture_output=True, text=True, timeout=120, check=False)
    assert went.returncode == 0, went.stderr
    assert went.stdout.strip() == version("apache-airflow")


def test_a_failed_check_stops_the_run_before_airflow_runs_it(tmp_path, monkeypatch):
    from newsflow import airflow_runner

    monkeypatch.setattr(airflow_runner, "ensure_airflow", lambda **_: None)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow_home"))
    log_file = tmp_path / "last-run.log"
    log_file.write_text("the previous run\n")
    started = []

    def check():
        started.append(True)
        raise ValueError("bad sources file")

    with pytest.raises(ValueError, match="bad sources file"):
        airflow_runner.dags_test("news_ingest", {}, log_file=log_file, check=check, echo=lambda _m: None)
    assert started == [True]
    assert log_file.read_text() == "the previous run\n"
    # killed while importing: the metadata DB was never opened, let alone given a DAG run
    assert not (tmp_path / "airflow_home" / "airflow.db").exists()


def test_compile_bytecode_refreshes_stale_modules(tmp_path):
    import importlib.util

    from newsflow.airflow_runner import compile_bytecode

    module = tmp_path / "pkg" / "mod.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    compile_bytecode(tmp_path / "pkg", tmp_path / "missing")
    cached = Path(importlib.util.cache_from_source(str(module)))
    assert cached.exists()
    first = cached.read_bytes()
    module.write_text("VALUE = 22\n")
    compile_bytecode(tmp_path / "pkg")
    assert cached.read_bytes() != first


def test_the_cli_starts_airflow_before_loading_config_or_duckdb():
    code = ("import sys, newsflow.cli, newsflow.airflow_runner\n"
            "print(sorted(m for m in ('pydantic', 'yaml', 'duckdb', 'newsflow.config') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=airflow_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_fewer_gc_passes_raises_only_the_young_threshold():
    code = ("import gc\nfrom newsflow.airflow_exec import GC_THRESHOLD0, fewer_gc_passes\n"
            "before = gc.get_threshold(); fewer_gc_passes()\n"
            "print(gc.get_threshold() == (GC_THRESHOLD0, *before[1:]) and GC_THRESHOLD0 > before[0])")
    done = subprocess.run([sys.executable, "-c", code], env=airflow_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.stdout.strip() == "True", done.stderr
