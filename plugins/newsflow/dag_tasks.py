"""TaskFlow tasks and defaults shared by newsflow's DAGs: thin wrappers over the newsflow.stages modules.

Only airflow.sdk is imported here; every stage (and its heavy libraries) is imported inside its task.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, get_current_context, task

ARTICLES = Asset("newsflow://warehouse/articles")
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
# per-source tasks are labelled with their source's name; each task puts the name in its context (label_source),
# since inside a mapped task group the task's own arguments are not in the template context
SOURCE_LABEL = "{{ newsflow_source }}"


def label_source(job: dict) -> None:
    get_current_context()["newsflow_source"] = job.get("name", "?")
DEFAULT_ARGS = {
    "owner": "newsflow",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


@task(map_index_template=SOURCE_LABEL, execution_timeout=timedelta(hours=2))
def extract(job: dict) -> dict:
    label_source(job)
    from newsflow.stages.failures import run_stage
    from newsflow.stages.fetch_extract import extract_source

    return run_stage("extract", job, extract_source)


@task(map_index_template=SOURCE_LABEL)
def validate(job: dict) -> dict:
    label_source(job)
    from newsflow.stages.failures import run_stage
    from newsflow.stages.validate import validate_source

    return run_stage("validate", job, validate_source)


@task(pool="duckdb_write", outlets=[ARTICLES])
def load(jobs: list[dict]) -> dict:
    from newsflow.stages.failures import fail_task
    from newsflow.stages.load import load_run

    context = get_current_context()
    try:
        return load_run(
            list(jobs or []), run_id=context["run_id"], dag_id=context["dag"].dag_id,
            started_at=context["dag_run"].start_date,
        )
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "load")


@task(pool="duckdb_write", retries=0)
def account(jobs: list[dict], loaded: dict) -> dict:
    """Accounting is a verdict: retrying cannot change it, so it fails the run at once."""
    from newsflow.stages.account import check_accounting
    from newsflow.stages.failures import fail_task

    context = get_current_context()
    try:
        return check_accounting(list(jobs or []), run_id=context["run_id"])
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "account")
