"""The run-time shortcuts of newsflow's Airflow runner keep their contracts: the airflow CLI wrapper that skips
interpreter teardown returns the CLI's own exit codes and output, and the validation prewarm only runs when the
run's tasks share one process; the trimmed execution API serves the task SDK's API version exactly as before."""

from __future__ import annotations

import subprocess
import sys

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
from airflow.api_fastapi.execution_api import versions
from airflow.api_fastapi.execution_api.app import create_task_execution_api_app
from airflow.sdk.api.datamodels._generated import API_VERSION
from newsflow.airflow_exec import serve_current_execution_api_only

def served():
    app = create_task_execution_api_app()
    app._cadwyn_initialize()
    routes = app.router.versioned_routers[API_VERSION].routes
    return sorted([route.path, sorted(route.methods or []), route.name,
                   json.dumps(TypeAdapter(route.response_model).json_schema() if getattr(route, "response_model", None) else None,
                              sort_keys=True)] for route in routes)

all_versions = list(versions.bundle.version_values)
before = served()
kept = serve_current_execution_api_only()
after = served()
print(json.dumps({"all": all_versions, "kept": kept, "api": API_VERSION, "same": before == after,
                  "routes": len(after)}))
"""


def test_trimmed_execution_api_serves_the_sdk_version_unchanged(tmp_path):
    import json

    env = airflow_env({"AIRFLOW_HOME": str(tmp_path / "airflow_home")})
    done = subprocess.run([sys.executable, "-c", _ROUTES_BEFORE_AND_AFTER_TRIM], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["kept"] is not None, "nothing trimmed: check serve_current_execution_api_only against this Airflow"
    assert result["kept"][0] == result["api"] == result["all"][0]
    assert len(result["kept"]) < len(result["all"])
    assert result["routes"] > 10
    assert result["same"], "the SDK's API version lost or changed a route"


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
