"""The run-time shortcuts of newsflow's Airflow runner keep their contracts: the airflow CLI wrapper that skips
interpreter teardown returns the CLI's own exit codes and output, and the validation prewarm only runs when the
run's tasks share one process."""

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
