"""news_ingest: sources file -> discover -> fetch_extract -> validate (mapped per source) -> load -> account.

Thin wiring only: every stage lives in newsflow.stages and is imported inside its task, never at parse time.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task, task_group

from newsflow.dag_tasks import DEFAULT_ARGS, SOURCE_LABEL, START_DATE, account, label_source, load, validate

DEFAULT_SOURCES_FILE = "config/sources.yaml"

DOC = """
### news_ingest

One run ingests every source in the sources file (or those named in `sources`):

1. **plan** validates the sources file and creates the run's staging folder;
2. per source (mapped): **discover** (feed, sitemap, URL list or WARC) → **fetch_extract** (polite async HTTP,
   raw responses to WARC; each archived page goes straight to the extraction workers on every core: trafilatura
   and newsflow's date, title, language, credit and duplicate fields) → **validate** (Great Expectations suite:
   date, source, body, language);
3. **load** writes everything in one DuckDB transaction through the 1-slot `duckdb_write` pool (upserts: a rerun
   never duplicates);
4. **account** fails the run if any discovered URL has no outcome in `fetch_log`, or if every source failed.

A source whose stage fails (after its retries; permanent errors are not retried) does not stop the others:
load and account run once every source is done, and the failed source's URLs and cause are logged.

Outcomes per URL: `loaded`, `unchanged`, `rejected`, `failed`, `skipped` (see the README for reasons).
"""


@dag(
    dag_id="news_ingest",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "ingest"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    params={
        "sources_file": Param(DEFAULT_SOURCES_FILE, type="string", description="Path to the sources YAML file"),
        "sources": Param([], type="array", description="Only these source names (empty: all sources)"),
    },
)
def news_ingest():
    @task
    def plan(params: dict | None = None) -> list[dict]:
        from newsflow.stages.failures import fail_task
        from newsflow.stages.plan import plan_run

        context = get_current_context()
        try:
            jobs = plan_run(params["sources_file"], params.get("sources"), context["run_id"])
        except Exception as exc:  # noqa: BLE001 - fail_task raises it again, as permanent or transient
            fail_task(exc, "plan")
        return [job.to_xcom() for job in jobs]

    @task(map_index_template=SOURCE_LABEL)
    def discover(job: dict) -> dict:
        label_source(job)
        from newsflow.stages.discover import discover_source
        from newsflow.stages.failures import run_stage

        return run_stage("discover", job, discover_source)

    @task(map_index_template=SOURCE_LABEL, execution_timeout=timedelta(hours=2))
    def fetch_extract(job: dict) -> dict:
        label_source(job)
        # one task, so fetching (network-bound, one core) overlaps extraction (CPU-bound, every core)
        from newsflow.stages.failures import run_stage
        from newsflow.stages.fetch_extract import fetch_extract_source

        return run_stage("fetch_extract", job, fetch_extract_source)

    @task_group(group_id="source", prefix_group_id=False)
    def each_source(job: dict):
        # a mapped group: each source's chain runs on its own map index, so a source that fails stops only
        # its own later stages (chained .expand calls failed every source's validate when one fetch failed)
        return validate(fetch_extract(discover(job)))

    jobs = plan()
    validated = each_source.expand(job=jobs)
    # a source whose stage failed must not stop the others: load and account run once every source is done,
    # take the planned jobs (not the mapped results, which lack the failed ones), and log each failed source
    loaded = load.override(trigger_rule=TriggerRule.ALL_DONE)(jobs)
    validated >> loaded
    account.override(trigger_rule=TriggerRule.ALL_DONE)(jobs, loaded)


news_ingest()
