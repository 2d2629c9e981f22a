"""The ingest DAG, built once for the manual `news_ingest` and once per schedule of the deployment's sources file
(`news_ingest_<schedule>`), and where the deployment names that file. Only airflow.sdk and the sources file's
pydantic model are imported here: DAG files call it at parse time.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task_group

from newsflow.alerts import announce_failed_run
from newsflow.dag_tasks import (
    DEFAULT_ARGS,
    SOURCE_LABEL,
    START_DATE,
    account,
    index_terms,
    label_source,
    load,
    newsflow_task,
    refuse_unknown_conf,
    validate,
)

SOURCES_ENV = "NEWSFLOW_SOURCES"
SOURCES_VARIABLE = "newsflow_sources"
DEFAULT_SOURCES_FILE = "config/sources.yaml"
INGEST_PARAMS = {"sources_file", "sources", "warehouse"}

DOC = """
### {dag_id}

{what}

1. **plan** refuses unknown conf keys, validates the sources file and creates the run's staging folder (a
   configuration error fails the run at once, without retries);
2. per source (mapped): **discover** (feed, sitemap, URL list or WARC) → **fetch_extract** (polite async HTTP,
   raw responses to WARC; each archived page goes straight to the extraction workers on every core: trafilatura
   and newsflow's date, title, language, credit and duplicate fields);
3. **validate**, one task for every source (the Great Expectations suite: date, source, body, language; a source
   that failed before is skipped, one that fails here is logged and the others go on);
4. **load** writes everything in one transaction through the 1-slot `duckdb_write` pool (upserts: a rerun
   never duplicates) and records an event on the articles Asset of that warehouse (`news_quality` follows it);
5. **index_terms** adds the loaded articles' words to the term table `term_coverage` answers from (its own
   transaction, after the load's: until it runs, `term_coverage` reads those articles' bodies instead);
6. **account** fails the run if any discovered URL has no outcome in `fetch_log`, or if every source failed.

A source whose stage fails (after its retries; permanent errors are not retried) does not stop the others:
validate, load and account run once every source is done, and the failed source's URLs and cause are logged.

Params: `sources_file`, `sources` (names; empty: every source of this DAG), `warehouse` (empty: the
deployment's). Outcomes per URL: `loaded`, `unchanged`, `rejected`, `failed`, `skipped` (see the README).
"""


def deployment_sources_file() -> str:
    """The sources file this deployment schedules: $NEWSFLOW_SOURCES, else the Airflow Variable
    `newsflow_sources`, else config/sources.yaml; relative paths are read from the project root."""
    from newsflow.config import project_root

    name = os.environ.get(SOURCES_ENV)
    if not name:
        try:
            from airflow.sdk import Variable

            name = Variable.get(SOURCES_VARIABLE, default=None)
        except Exception:  # noqa: BLE001 - no metadata DB reachable (a bare parse): the default file
            name = None
    path = Path(name or DEFAULT_SOURCES_FILE)
    return str(path if path.is_absolute() else (project_root() / path).resolve())


def build_ingest_dag(dag_id: str, *, schedule: str | timedelta | None, sources_file: str,
                     sources: list[str] | None = None, what: str):
    """One ingest DAG. `sources` are the defaults of the `sources` param (the names a scheduled DAG ingests)."""

    @dag(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["newsflow", "ingest"] + (["scheduled"] if schedule is not None else []),
        doc_md=DOC.format(dag_id=dag_id, what=what),
        default_args=DEFAULT_ARGS,
        on_failure_callback=announce_failed_run,
        params={
            "sources_file": Param(sources_file, type="string", minLength=1, description="Path to the sources YAML file"),
            "sources": Param(list(sources or []), type="array", items={"type": "string"},
                             description="Only these source names (empty: all sources)"),
            "warehouse": Param("", type="string", description="Warehouse to load (empty: the deployment's)"),
        },
    )
    def ingest():
        @newsflow_task()
        def plan(params: dict | None = None) -> list[dict]:
            from newsflow.stages.failures import fail_task
            from newsflow.stages.plan import plan_run

            refuse_unknown_conf(INGEST_PARAMS)
            context = get_current_context()
            try:
                jobs = plan_run(params["sources_file"], params.get("sources"), context["run_id"],
                                warehouse=params.get("warehouse") or None, dag_id=context["dag"].dag_id)
            except Exception as exc:  # noqa: BLE001 - fail_task raises it again: a configuration error (missing
                # file, bad YAML, unknown source) as AirflowFailException, since retrying cannot fix it
                fail_task(exc, "plan")
            return [job.to_xcom() for job in jobs]

        @newsflow_task(map_index_template=SOURCE_LABEL)
        def discover(job: dict) -> dict:
            label_source(job)
            from newsflow.stages.discover import discover_source
            from newsflow.stages.failures import run_stage

            return run_stage("discover", job, discover_source)

        @newsflow_task(map_index_template=SOURCE_LABEL, execution_timeout=timedelta(hours=2))
        def fetch_extract(job: dict) -> dict:
            label_source(job)
            # one task, so fetching (network-bound, one core) overlaps extraction (CPU-bound, every core)
            from newsflow.stages.failures import run_stage
            from newsflow.stages.fetch_extract import fetch_extract_source

            return run_stage("fetch_extract", job, fetch_extract_source)

        @task_group(group_id="source", prefix_group_id=False)
        def each_source(job: dict):
            # a mapped group: each source's chain runs on its own map index, so a source that fails stops only
            # its own later stage (chained .expand calls failed every source's fetch when one discover failed)
            return fetch_extract(discover(job))

        jobs = plan()
        fetched = each_source.expand(job=jobs)
        # a source whose stage failed must not stop the others: validate, load and account run once every source
        # is done, take the planned jobs (not the mapped results, which lack the failed ones) and read each
        # source's staging folder: validate skips a failed source, load and account log it. Validation is one
        # task for all sources: Great Expectations is imported once a run, not once a source. A plan that left
        # the run no job (every source held by another DAG's run: plan_run) makes them skip (skip_if_nothing_planned)
        validated = validate.override(trigger_rule=TriggerRule.ALL_DONE)(jobs)
        fetched >> validated
        loaded = load.override(trigger_rule=TriggerRule.ALL_DONE)(jobs)
        validated >> loaded
        index_terms(loaded)
        account.override(trigger_rule=TriggerRule.ALL_DONE)(jobs, loaded)

    return ingest()


def airflow_schedule(schedule: str):
    """What Airflow's `schedule=` takes for a schedule key (config.zoned_schedule): a duration becomes a timedelta,
    a cron expression or preset in another zone than UTC a CronTriggerTimetable in that zone (Airflow reads a bare
    one in its default zone, UTC: a newsroom's 6 a.m. would move with daylight saving time)."""
    from newsflow.config import UTC_ZONE, duration_seconds, split_zone

    schedule, zone = split_zone(schedule)
    seconds = duration_seconds(schedule)
    if seconds is not None:
        return timedelta(seconds=seconds)
    if zone == UTC_ZONE:
        return schedule
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(schedule, timezone=zone)


def build_scheduled_dags(sources_file: str) -> dict:
    """One DAG per schedule in the sources file; a broken file raises ConfigError (an import error of the file
    that calls this, naming the file and the entry; the other DAG files still parse)."""
    from newsflow.config import load_sources, scheduled_dag_id

    config = load_sources(sources_file)
    dags = {}
    for schedule, names in config.schedule_groups().items():
        dag_id = scheduled_dag_id(schedule)
        dags[dag_id] = build_ingest_dag(
            dag_id, schedule=airflow_schedule(schedule), sources_file=sources_file, sources=names,
            what=f"Scheduled `{schedule}` from `{sources_file}`: ingests {', '.join(names)}. Scheduled runs need "
                 f"no conf; a manual run takes the params below.",
        )
    return dags
