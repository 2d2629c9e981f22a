"""news_reprocess: re-extract, revalidate and reload archived articles from the WARC archive, never refetching.

Run it after upgrading the extractor; rows it changes carry the new extractor_version. Thin wiring only.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, get_current_context

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
`start_date` / `end_date` (publication days, YYYY-MM-DD, inclusive; empty: no bound; a day that does not exist or a
start after the end fails the run at once). It reads the archived responses of the
matching articles from the WARC files, then runs the same **extract → validate → load → index_terms / account**
stages as `news_ingest`; as there, a source whose extract fails does not stop the others (its URLs are logged
`source_failed:extract`, the run is `partial`). Articles whose extracted body and extractor version are unchanged
are logged `unchanged`; those re-extracted by a new version are `loaded` with reason `reextracted` or `changed`. The
pages whose latest verdict was a rejection (and that are no article since) are read again too, by their publication
day or, undated, the day they were fetched: one that passes now (a new extractor, a relaxed rule) is `loaded` `new`.
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
        # Airflow checks "format": "date" (jsonschema's FormatChecker) when the run is created, so the UI and the REST
        # API refuse 2018-13-01 at once; null, not "", is how a form leaves an optional field empty
        "start_date": Param(None, type=["null", "string"], format="date",
                            description="first publication day (YYYY-MM-DD); empty: no bound"),
        "end_date": Param(None, type=["null", "string"], format="date",
                          description="last publication day (YYYY-MM-DD); empty: no bound"),
    },
)
def news_reprocess():
    @newsflow_task()
    def plan(params: dict | None = None) -> list[dict]:
        from newsflow.stages.failures import fail_task
        from newsflow.stages.reprocess import plan_reprocess

        refuse_unknown_conf({"sources_file", "sources", "start_date", "end_date"})
        context = get_current_context()
        try:
            jobs = plan_reprocess(
                params["sources_file"], params.get("sources"), params.get("start_date"), params.get("end_date"),
                context["run_id"],
            )
        except Exception as exc:  # noqa: BLE001 - fail_task raises it again: a configuration error (a bad day, a
            # start after the end, a missing sources file) as AirflowFailException, since retrying cannot fix it
            fail_task(exc, "plan")
        return [job.to_xcom() for job in jobs]

    # as news_ingest: a source whose extract failed must not stop the others. validate, load and account run once
    # every source is done and take the planned jobs; each reads the sources' staging folders and logs a failed
    # source's URLs `source_failed:extract`
    jobs = plan()
    validated = validate.override(trigger_rule=TriggerRule.ALL_DONE)(jobs)
    extract.expand(job=jobs) >> validated
    loaded = load.override(trigger_rule=TriggerRule.ALL_DONE)(jobs)
    validated >> loaded
    index_terms(loaded)
    account.override(trigger_rule=TriggerRule.ALL_DONE)(jobs, loaded)


news_reprocess()
