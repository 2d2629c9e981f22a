"""A real news_maintenance run through Airflow (`airflow dags test`): the lake is compacted, the staging of a
finished run goes, and Airflow's log files older than the retention are deleted while recent ones stay."""

from __future__ import annotations

import os
import time

import pytest

from newsflow.airflow_runner import dags_test
from tests.unit.test_quality_checks import make_warehouse

pytestmark = pytest.mark.integration


def test_news_maintenance_run_keeps_the_lake_and_prunes_old_logs(tmp_path, airflow_home):
    data = tmp_path / "data"
    make_warehouse(data / "warehouse", days=5)
    logs = tmp_path / "airflow_logs"
    old = logs / "dag_id=news_ingest" / "run_id=scheduled__2026-09-01T00:00:00+00:00" / "task_id=load"
    recent = logs / "dag_id=news_ingest" / "run_id=scheduled__2026-12-01T00:00:00+00:00" / "task_id=load"
    for folder in (old, recent):
        folder.mkdir(parents=True)
        (folder / "attempt=1.log").write_text("task log\n", encoding="utf-8")
    then = time.time() - 40 * 86400
    os.utime(old / "attempt=1.log", (then, then))
    env = {"NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(data / "warehouse"),
           "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs)}
    lines: list[str] = []
    dags_test("news_maintenance", {}, env_extra=env, echo=lines.append)
    out = "\n".join(lines)
    for task in ("maintain_lake", "clean_staging", "clean_logs"):
        assert f"done  {task}" in out, out
    assert not old.parent.exists()  # the old run's folder, emptied, is gone
    assert (recent / "attempt=1.log").exists()
    assert "removed 1 files" in out, out
