"""news_ingest: sources file -> discover -> fetch_extract -> validate (mapped per source) -> load -> account.

Thin wiring only: every stage lives in newsflow.stages and is imported inside its task, never at parse time.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task

from newsflow.dag_tasks import DEFAULT_ARGS, START_DATE, account, load, validate

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
4. **account** fails the run if any discovered URL has no outcome in `fetch_log`.

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
        from newsflow.stages.plan import plan_run

        context = get_current_context()
        return [job.to_xcom() for job in plan_run(params["sources_file"], params.get("sources"), context["run_id"])]

    @task(map_index_template="{{ job.name }}")
    def discover(job: dict) -> dict:
        from newsflow.stages.discover import discover_source
        from newsflow.stages.job import Job

        return discover_source(Job.from_xcom(job)).to_xcom()

    @task(map_index_template="{{ job.name }}", execution_timeout=timedelta(hours=2))
    def fetch_extract(job: dict) -> dict:
        # one task, so fetching (network-bound, one core) overlaps extraction (CPU-bound, every core)
        from newsflow.stages.fetch_extract import fetch_extract_source
        from newsflow.stages.job import Job

        return fetch_extract_source(Job.from_xcom(job)).to_xcom()

    validated = validate.expand(job=fetch_extract.expand(job=discover.expand(job=plan())))
    account(validated, load(validated))


news_ingest()
