"""TaskFlow tasks and defaults shared by newsflow's DAGs: thin wrappers over the newsflow.stages modules.

Only airflow.sdk is imported here; every stage (and its heavy libraries) is imported inside its task.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import Asset, AssetAlias, get_current_context, task

from newsflow import airflow_runner

# load emits one event per run through this alias, on the Asset of the warehouse it wrote (articles_asset); the
# quality DAG is scheduled on the alias, so it runs for whichever warehouse was loaded
ARTICLES_ALIAS = AssetAlias("newsflow_articles")
# far back, so a backfill of an old archive (`ingest --logical-date 2018-06-01`) runs its tasks: Airflow creates
# none for a logical date before the start_date. Harmless for the scheduled DAGs: every one has catchup=False, so
# the scheduler starts with the latest interval, not one run per interval since 2000 (tests/unit/test_cli_dates.py)
START_DATE = pendulum.instance(airflow_runner.START_DATE)
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


def newsflow_task(**kwargs):
    """`@task` as every newsflow task is: one XCom, its return value (Airflow infers multiple_outputs from a
    `-> dict` and then pushes each key as its own XCom besides it: ten more execution-API calls and metadata rows
    per mapped task, and no task reads the keys), not printed to the task log (the UI shows the XCom; the plan's
    jobs alone were 18 % of the service's scheduler log)."""
    return task(**{"multiple_outputs": False, "show_return_value_in_logs": False, **kwargs})


def warehouse_key(warehouse: str) -> str:
    """A stable short name for a warehouse location (a path or a catalog address)."""
    return hashlib.sha256(str(warehouse).encode("utf-8")).hexdigest()[:16]


def articles_asset(warehouse: str) -> Asset:
    """The articles table of one warehouse: one Asset per warehouse, so quality runs follow the one loaded."""
    key = warehouse_key(warehouse)
    return Asset(name=f"newsflow_articles_{key}", uri=f"newsflow://warehouse/{key}/articles", group="newsflow")


def named_warehouse(param: str | None) -> str:
    """The lake a quality run given by hand checks: the `warehouse` param, else the deployment's. A param naming no
    lake fails the run at once, without retries: opened for the checks, a typo (`warehuose`) made a new empty lake,
    every check passed on it, and its dashboard replaced the deployment's."""
    from newsflow.config import warehouse_location
    from newsflow.quality_checks import shown_warehouse
    from newsflow.stages.failures import PermanentError, fail_task
    from newsflow.warehouse import exists

    location = warehouse_location(param or None)
    if param and not exists(location):
        fail_task(PermanentError(f"warehouse {shown_warehouse(location)} is not there: no lake to check (an empty "
                                 "`warehouse` checks the deployment's)"), "news_quality")
    return location


def dashboard_file(data_dir: Path, warehouse: str, deployment: str | None = None) -> Path:
    """Where a quality run writes a warehouse's dashboard: `reports/dashboard.html` for the deployment's (the UI
    serves that file), `reports/dashboard-<key>.html` for any other (a `newsflow ingest --warehouse other`)."""
    from newsflow.config import warehouse_location

    if warehouse_location(warehouse) == warehouse_location(deployment):
        return data_dir / "reports" / "dashboard.html"
    return data_dir / "reports" / f"dashboard-{warehouse_key(warehouse_location(warehouse))}.html"


def triggered_warehouses(events) -> list[str]:
    """The warehouses a quality run's triggering asset events name (`extra.warehouse`), each once, in the order they
    were loaded. A run takes every event queued since the run before: the newsroom's loads and an `ingest
    --warehouse other` between two quality runs are one run, and checking only the latest event's warehouse left the
    other unchecked."""
    named = sorted((event for event in events if (event.extra or {}).get("warehouse")),
                   key=lambda event: event.timestamp)
    return list(dict.fromkeys(str(event.extra["warehouse"]) for event in named))


def refuse_unknown_conf(allowed: set[str]) -> None:
    """Airflow 3.3 keeps conf keys that match no param as extra untyped params (its params have no
    additionalProperties switch), so a typo such as `sources_fle` would run with the defaults: refuse it here,
    first thing in the run's first task, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    conf = get_current_context()["dag_run"].conf or {}
    unknown = sorted(set(conf) - allowed)
    if unknown:
        raise AirflowFailException(f"unknown conf key(s) {', '.join(unknown)}; this DAG takes {', '.join(sorted(allowed))}")


@newsflow_task(map_index_template=SOURCE_LABEL, execution_timeout=timedelta(hours=2))
def extract(job: dict) -> dict:
    label_source(job)
    from newsflow.stages.failures import run_stage
    from newsflow.stages.fetch_extract import extract_source

    return run_stage("extract", job, extract_source)


def skip_if_nothing_planned(jobs: list[dict] | None) -> None:
    """A plan that succeeded with no job (every source ingested under this run id by another DAG's run: plan_run)
    left nothing to validate, load or account for: the task skips, and the run succeeds without a write or an
    alert. A plan that failed handed no list at all (None): those tasks still run, and say so."""
    if jobs is not None and len(jobs) == 0:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("the plan left this run no source (see its log): nothing to do")


@newsflow_task()
def validate(jobs: list[dict]) -> list[dict]:
    """Every source of the run in one task (one Great Expectations import a run); a source that fails is
    recorded and the others are validated, then the task fails naming it."""
    from newsflow.stages.failures import fail_task
    from newsflow.stages.validate import validate_run

    skip_if_nothing_planned(jobs)
    try:
        return validate_run(list(jobs or []))
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "validate")


@newsflow_task(pool="duckdb_write", outlets=[ARTICLES_ALIAS])
def load(jobs: list[dict]) -> dict:
    from newsflow.stages.failures import fail_task
    from newsflow.stages.job import Job
    from newsflow.stages.load import load_run

    skip_if_nothing_planned(jobs)
    context = get_current_context()
    jobs = list(jobs or [])
    try:
        summary = load_run(
            jobs, run_id=context["run_id"], dag_id=context["dag"].dag_id, started_at=context["dag_run"].start_date,
        )
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "load")
    warehouse = Job.from_xcom(jobs[0]).warehouse if jobs else None
    if warehouse:
        context["outlet_events"][ARTICLES_ALIAS].add(
            articles_asset(warehouse), extra={"warehouse": warehouse, "run_id": context["run_id"]})
    return summary


@newsflow_task(pool="duckdb_write")
def index_terms(loaded: dict) -> dict:
    """The term table (article_terms) for the articles this load numbered: after the load's transaction, not in
    it (tokenising costs ~15x a bare insert of the articles; the load's budget is 3x). Its own transaction per
    batch; a rerun finds nothing left to index. Until it runs, term_coverage reads those articles' bodies. It
    starts no batch after RUN_BUDGET_S: a backlog (a whole lake after migration 005) is left to later runs and
    news_maintenance rather than holding the write pool for half an hour."""
    from newsflow.stages.failures import fail_task
    from newsflow.stages.index_terms import RUN_BUDGET_S
    from newsflow.stages.index_terms import index_terms as index

    try:
        return index((loaded or {}).get("warehouse"), budget_s=RUN_BUDGET_S)
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "index_terms")


@newsflow_task(pool="duckdb_write")
def account(jobs: list[dict], loaded: dict) -> dict:
    """Accounting is a verdict: retrying cannot change it, so it fails the run at once (fail_task: an
    AccountingError, or every source failed, is permanent). What is retried is a warehouse it could not read (the
    lake's Postgres catalog restarting, a busy lock): with no retries that failed a run whose URLs were all
    accounted for, and its alert named `account`."""
    from newsflow.stages.account import check_accounting
    from newsflow.stages.failures import fail_task

    skip_if_nothing_planned(jobs)
    context = get_current_context()
    try:
        return check_accounting(list(jobs or []), run_id=context["run_id"], dag_id=context["dag"].dag_id)
    except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
        fail_task(exc, "account")
