"""news_quality: after every load of a warehouse (an event on its articles Asset, newsflow://warehouse/<key>/articles,
through the alias `newsflow_articles`) -> quality checks -> Great Expectations Data Docs -> the offline dashboard.

Thin wiring only: the work lives in newsflow.quality_checks and newsflow.report, imported inside the tasks.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context

from newsflow.alerts import announce_failed_run
from newsflow.dag_tasks import (
    ARTICLES_ALIAS,
    DEFAULT_ARGS,
    START_DATE,
    newsflow_task,
    refuse_unknown_conf,
    triggered_warehouses,
)

DOC = """
### news_quality

Runs whenever an ingest DAG's **load** records an event on the articles Asset of a warehouse
(`newsflow://warehouse/<key>/articles`, one per warehouse, through the alias `newsflow_articles`), and checks every
warehouse named by the events that triggered it; by hand, the `warehouse` param (empty: the deployment's; a lake
that is not there fails the run at once, where a typo made an empty lake whose every check passed):

0. **targets** lists the warehouses: each triggering event's `extra.warehouse` once, else the param. Events queue
   while a run is in progress and the next run takes them all: the newsroom's loads and a `newsflow ingest
   --warehouse other` are one run, and each warehouse gets its checks, Data Docs validation and alerts (steps 1
   and 4 are mapped over them);

1. **run_checks** (pool `duckdb_write`): SQL checks per source on a read-only connection (freshness, daily
   volume against a 28-day median/MAD baseline, null and empty rates, duplicate rate, rejection and fetch-failure
   rates of the latest ingest run, date disagreements) plus a Great Expectations validation of `articles`; all
   rows replace this run's rows in `quality_checks` in one transaction (a rerun is idempotent); ages are
   measured at the run's logical date (or, for asset-triggered runs, when the run was due);
2. **build_data_docs**: the GX Data Docs static site in `<data dir>/data_docs/`;
3. **write_dashboard** (pool `duckdb_write`, reads only): `<data dir>/reports/dashboard.html`, a self-contained
   offline HTML dashboard of the deployment's warehouse, also served in the Airflow UI by the newsflow plugin
   (`/newsflow/dashboard`); another warehouse checked gets `dashboard-<key>.html` beside it, and each page names
   its warehouse;
4. **send_alerts** (pool `duckdb_write`: it records what it posted in `alerts_sent`): the checks that started
   failing, and those that recovered (below the level for `NEWSFLOW_ALERT_CLEAR_AFTER` quality runs, default 2),
   against what the alerts last said, posted to the webhook `NEWSFLOW_ALERT_WEBHOOK` names
   (`NEWSFLOW_ALERT_LEVEL=warn` for warnings too); nothing when there is nothing new to say.

Failing checks are recorded with status `fail` and shown on the dashboard; they do not fail the run. A webhook that
refuses the alert does (after the retries); nothing is recorded then, so the next quality run posts it. One that
takes the post but does not answer in time (`NEWSFLOW_ALERT_TIMEOUT_S`, default 15 s) fails the run at once: a
retry would post it again.
"""


@dag(
    dag_id="news_quality",
    schedule=[ARTICLES_ALIAS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "quality"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    on_failure_callback=announce_failed_run,
    params={"warehouse": Param("", type="string", description="Warehouse to check (empty: the deployment's)")},
)
def news_quality():
    @newsflow_task()
    def targets(params: dict | None = None) -> list[str]:
        from newsflow.dag_tasks import named_warehouse

        refuse_unknown_conf({"warehouse"})
        context = get_current_context()
        events = [event for per_asset in (context.get("triggering_asset_events") or {}).values() for event in per_asset]
        return triggered_warehouses(events) or [named_warehouse(params.get("warehouse"))]

    @newsflow_task(pool="duckdb_write", execution_timeout=timedelta(hours=1))
    def run_checks(warehouse: str) -> dict:
        from newsflow.quality_checks import run_quality_checks
        from newsflow.stages.failures import fail_task

        context = get_current_context()
        # ages are measured at the run's logical date (asset-triggered runs have none: when the run was due),
        # so rerunning an old run judges the warehouse as of that run
        as_of = context.get("logical_date") or context["dag_run"].run_after
        try:
            summary = run_quality_checks(context["run_id"], warehouse=warehouse, now=as_of)
        except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
            fail_task(exc, "run_checks")
        return {**summary, "warehouse": warehouse}

    @newsflow_task(execution_timeout=timedelta(minutes=30))
    def build_data_docs(summaries: list[dict]) -> str:
        from newsflow.config import data_dir
        from newsflow.quality_checks import build_data_docs as build

        # one site for the data dir's GX project, whatever the number of warehouses validated into it
        return str(build(data_dir()))

    @newsflow_task(pool="duckdb_write", execution_timeout=timedelta(minutes=30))
    def write_dashboard(summaries: list[dict]) -> list[str]:
        from newsflow.config import data_dir
        from newsflow.dag_tasks import dashboard_file
        from newsflow.report import build_report

        # the UI serves dashboard.html: the deployment's warehouse only; another one checked gets a file of its own
        return [str(build_report(dashboard_file(data_dir(), summary["warehouse"]), warehouse=summary["warehouse"]))
                for summary in summaries]

    @newsflow_task(pool="duckdb_write", execution_timeout=timedelta(minutes=5))
    def send_alerts(summary: dict) -> dict:
        from newsflow.alerts import AlertUnanswered, send_quality_alerts
        from newsflow.stages.failures import PermanentError, fail_task

        try:
            return send_quality_alerts(summary["run_id"], summary["warehouse"])
        except AlertUnanswered as exc:  # taken but not answered: a retry would post it again
            fail_task(PermanentError(str(exc)), "send_alerts")

    summaries = run_checks.expand(warehouse=targets())
    build_data_docs(summaries)
    write_dashboard(summaries)
    send_alerts.expand(summary=summaries)


news_quality()
