"""TaskFlow tasks and defaults shared by newsflow's DAGs: thin wrappers over the newsflow.stages modules.

Only airflow.sdk is imported here; every stage (and its heavy libraries) is imported inside its task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, get_current_context, task

ARTICLES = Asset("newsflow://warehouse/articles")
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
DEFAULT_ARGS = {
    "owner": "newsflow",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@task(map_index_template="{{ job.name }}", execution_timeout=timedelta(hours=2))
def extract(job: dict) -> dict:
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.job import Job

    return extract_source(Job.from_xcom(job)).to_xcom()


@task(map_index_template="{{ job.name }}")
def validate(job: dict) -> dict:
    from newsflow.stages.job import Job
    from newsflow.stages.validate import validate_source

    return validate_source(Job.from_xcom(job)).to_xcom()


@task(pool="duckdb_write", outlets=[ARTICLES])
def load(jobs: list[dict]) -> dict:
    from newsflow.stages.load import load_run

    context = get_current_context()
    return load_run(
        list(jobs), run_id=context["run_id"], dag_id=context["dag"].dag_id, started_at=context["dag_run"].start_date
    )


@task(pool="duckdb_write", retries=0)
def account(jobs: list[dict], loaded: dict) -> dict:
    """Accounting is a verdict: retrying cannot change it, so it fails the run at once."""
    from newsflow.stages.account import check_accounting

    context = get_current_context()
    return check_accounting(list(jobs), run_id=context["run_id"])
