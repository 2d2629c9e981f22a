"""news_maintenance: daily upkeep of the lake: compact small files, expire snapshots older than the retention,
delete files nothing refers to, and remove the staging of finished and dead runs. Thin wiring only: the work lives in newsflow.maintenance, imported in the task.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag

from newsflow.alerts import announce_failed_run
from newsflow.dag_tasks import DEFAULT_ARGS, START_DATE, newsflow_task

DOC = """
### news_maintenance

Daily, through the 1-slot `duckdb_write` pool (never at the same time as a load):

1. **maintain_lake**: index the articles no `index_terms` task reached (the term table behind `term_coverage`),
   flush inlined rows to Parquet, rewrite the small files whose rows later loads updated (runs, http_cache,
   sources, articles: one transaction per table), merge adjacent small files (the term table's come out sorted
   by term), prune
   the term rows of replaced article versions, delete the quality_checks rows older than
   `quality_retention_days` (default `$NEWSFLOW_QUALITY_RETENTION_DAYS` or 90; the latest quality run's always
   stay), mark `interrupted` the runs loaded over a day ago and never accounted for (a retired schedule's last
   run), rewrite the files of those two tables mostly deleted, expire snapshots older than `retention_days`
   (default `$NEWSFLOW_SNAPSHOT_RETENTION_DAYS` or 7), delete the files only expired snapshots used (one
   retention after they expired), and delete orphaned files (older than 6 hours);
2. **clean_staging**: remove the staging folders of runs the warehouse records as finished, and of dead runs
   (nothing in them changed for 6 hours); the WARC archive is kept (articles point into it).
3. **clean_logs**: delete Airflow's log files (task logs, the dag-processor's) not written for `log_retention_days`
   (default `$NEWSFLOW_LOG_RETENTION_DAYS` or 30; never one written in the last hour), and the folders they leave
   empty.

Readers are never blocked: each keeps reading its snapshot's files until that snapshot expires. The first pass
after a schema change (an upgrade) ends the sessions open across it: they must reconnect (docs/warehouse.md).
"""


@dag(
    dag_id="news_maintenance",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["newsflow", "maintenance"],
    doc_md=DOC,
    default_args=DEFAULT_ARGS,
    on_failure_callback=announce_failed_run,
    params={
        "retention_days": Param(None, type=["null", "number"], minimum=0,
                                description="Keep snapshots this many days (empty: the setting, default 7)"),
        "log_retention_days": Param(None, type=["null", "number"], minimum=0,
                                    description="Keep Airflow's log files this many days (empty: the setting, "
                                                "default 30)"),
        "quality_retention_days": Param(None, type=["null", "number"], minimum=1,
                                        description="Keep quality_checks rows this many days (empty: the setting, "
                                                    "default 90)"),
    },
)
def news_maintenance():
    @newsflow_task(pool="duckdb_write", execution_timeout=timedelta(hours=2))
    def maintain_lake(params: dict | None = None) -> dict:
        from newsflow.config import warehouse_location
        from newsflow.maintenance import maintain, quality_retention_days, retention_days

        days = (params or {}).get("retention_days")
        quality_days = (params or {}).get("quality_retention_days")
        return maintain(warehouse_location(), retention_days=retention_days() if days is None else float(days),
                        quality_days=quality_retention_days() if quality_days is None else float(quality_days))

    # staging is cleaned even when compaction failed: the two do not depend on each other's work
    @newsflow_task(execution_timeout=timedelta(hours=1), trigger_rule="all_done")
    def clean_staging(summary: dict | None) -> list[str]:
        from newsflow.cleanup import clean_dead_staging, finished_run_keys
        from newsflow.config import warehouse_location

        return [str(p) for p in clean_dead_staging(finished=finished_run_keys(warehouse_location()))]

    # logs are Airflow's, not the lake's: cleaned whatever the other tasks did, outside the write pool
    @newsflow_task(execution_timeout=timedelta(hours=1))
    def clean_logs(params: dict | None = None) -> dict:
        from airflow.sdk.configuration import conf

        from newsflow.cleanup import log_retention_days, prune_logs

        days = (params or {}).get("log_retention_days")
        return prune_logs(conf.get("logging", "base_log_folder"),
                          older_than_days=log_retention_days() if days is None else float(days))

    clean_staging(maintain_lake())
    clean_logs()


news_maintenance()
