"""news_reprocess: re-extract, revalidate and reload archived articles from the WARC archive, never refetching.

Run it after upgrading the extractor; rows it changes carry the new extractor_version. Thin wiring only.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context

from newsflow.alerts import announce_failed_run
from newsflow.dag_tasks import (
    DEFAULT_ARGS,
    START_DATE,
    account,
    extract,
    index_terms,
    load,
    newsflow_task,
    refuse_unknown_conf,
    validate,
)

DOC = """
### news_reprocess

Manual DAG. Params: `sources_file` (for settings and the list of known sources), `sources` (names; empty: all),
`start_date` / `end_date` (publication days, inclusive; empty: no bound). It reads the archived responses of the
matching articles from the WARC files, then runs the same **extract → validate → load → index_terms / account**
stages as `news_ingest`. Articles whose extracted body and extractor version are unchanged are logged `unchanged`; those
re-extracted by a new version are `loaded` with reason `reextracted` or `changed`. The pages whose latest verdict
was a rejection (and that are no article since) are read again too, by their publication day or, undated, the day
they were fetched: one that passes now (a new extractor, a relaxed rule) is `loaded` `new`.
"""


@dag(
    dag_id="news_reprocess",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "reprocess"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    on_failure_callback=announce_failed_run,
    params={
        "sources_file": Param("config/sources.yaml", type="string"),
        "sources": Param([], type="array"),
        "start_date": Param("", type="string", description="first publication day (YYYY-MM-DD) or empty"),
        "end_date": Param("", type="string", description="last publication day (YYYY-MM-DD) or empty"),
    },
)
def news_reprocess():
    @newsflow_task()
    def plan(params: dict | None = None) -> list[dict]:
        from newsflow.stages.reprocess import plan_reprocess

        refuse_unknown_conf({"sources_file", "sources", "start_date", "end_date"})
        context = get_current_context()
        jobs = plan_reprocess(
            params["sources_file"], params.get("sources"), params.get("start_date"), params.get("end_date"),
            context["run_id"],
        )
        return [job.to_xcom() for job in jobs]

    validated = validate.expand(job=extract.expand(job=plan()))
    loaded = load(validated)
    index_terms(loaded)
    account(validated, loaded)


news_reprocess()
