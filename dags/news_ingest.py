"""news_ingest: sources file -> discover -> fetch -> extract -> validate (mapped per source) -> load -> account.

Thin wiring only: every stage lives in newsflow.pipeline and is imported inside its task, never at parse time.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

ARTICLES = Asset("newsflow://warehouse/articles")
DEFAULT_SOURCES_FILE = "config/sources.yaml"

DOC = """
### news_ingest

One run ingests every source in the sources file (or those named in `sources`):

1. **plan** validates the sources file and creates the run's staging folder;
2. per source (mapped): **discover** (feed, sitemap, URL list or WARC) → **fetch** (polite async HTTP, raw
   responses to WARC) → **extract** (trafilatura and newsflow's date, title, language, credit and duplicate fields)
   → **validate** (Great Expectations suite: date, source, body, language);
3. **load** writes everything in one DuckDB transaction through the 1-slot `duckdb_write` pool (upserts: a rerun
   never duplicates);
4. **account** fails the run if any discovered URL has no outcome in `fetch_log`.

Outcomes per URL: `loaded`, `unchanged`, `rejected`, `failed`, `skipped` (see the README for reasons).
"""


@dag(
    dag_id="news_ingest",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "ingest"],
    doc_md=DOC,
    default_args={
        "owner": "newsflow",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    params={
        "sources_file": Param(DEFAULT_SOURCES_FILE, type="string", description="Path to the sources YAML file"),
        "sources": Param([], type="array", description="Only these source names (empty: all sources)"),
    },
)
def news_ingest():
    @task
    def plan(params: dict | None = None) -> list[dict]:
        from newsflow.pipeline import plan_run

        context = get_current_context()
        return plan_run(params["sources_file"], params.get("sources"), context["run_id"])

    @task(map_index_template="{{ job.source }}")
    def discover(job: dict) -> dict:
        from newsflow.pipeline import discover_source

        return discover_source(job)

    @task(map_index_template="{{ job.source }}", execution_timeout=timedelta(hours=2))
    def fetch(job: dict) -> dict:
        from newsflow.pipeline import fetch_source

        return fetch_source(job)

    @task(map_index_template="{{ job.source }}", execution_timeout=timedelta(hours=2))
    def extract(job: dict) -> dict:
        from newsflow.pipeline import extract_source

        return extract_source(job)

    @task(map_index_template="{{ job.source }}")
    def validate(job: dict) -> dict:
        from newsflow.pipeline import validate_source

        return validate_source(job)

    @task(pool="duckdb_write", outlets=[ARTICLES])
    def load(jobs: list[dict]) -> dict:
        from newsflow.pipeline import load_run

        context = get_current_context()
        return load_run(
            list(jobs), run_id=context["run_id"], dag_id=context["dag"].dag_id, started_at=context["dag_run"].start_date
        )

    @task(pool="duckdb_write", retries=0)
    def account(jobs: list[dict], loaded: dict) -> dict:
        from newsflow.pipeline import check_accounting

        context = get_current_context()
        return check_accounting(list(jobs), run_id=context["run_id"])

    validated = validate.expand(job=extract.expand(job=fetch.expand(job=discover.expand(job=plan()))))
    account(validated, load(validated))


news_ingest()
