"""The runner hands plain `airflow dags test` the project's settings and reports a failed run with its log."""

from __future__ import annotations

import pytest

from newsflow.airflow_runner import DagRunFailed, airflow_env, dags_test, project_root


def test_airflow_env_points_at_the_project(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    env = airflow_env({"NEWSFLOW_WAREHOUSE": "/x/lake"})
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(project_root() / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(project_root() / "plugins")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert env["NEWSFLOW_WAREHOUSE"] == "/x/lake"
    assert env["PYTHONPATH"].split(":")[0] == str(project_root() / "plugins")


@pytest.mark.integration
def test_unknown_dag_fails_with_the_log_file(airflow_home, tmp_path):
    log_file = tmp_path / "run.log"
    with pytest.raises(DagRunFailed, match="run.log"):
        dags_test("no_such_dag", {}, log_file=log_file, echo=lambda _m: None)
    assert "no_such_dag" in log_file.read_text()
