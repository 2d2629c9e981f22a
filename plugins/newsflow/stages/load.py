"""The load stage: everything a run staged, for every source, written to the warehouse in one transaction from the
SQL files in sql/loads (upserts keyed on the canonical-URL id, so a rerun never duplicates or loses rows).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from newsflow import staging
from newsflow.stages.failures import PermanentError, failure_ledger, require_staging, source_failure
from newsflow.stages.job import OUTCOMES, Job

log = logging.getLogger(__name__)


def _refuse_sources_another_dag_loaded(con, run_id: str, dag_id: str, names: list[str]) -> None:
    """Two schedules that fire at one instant share a run id; their sources are disjoint, unless a source moved
    from one to the other while a run of the old one was in flight (or a retired schedule's run came back). The
    ledger keys a URL's row by run id and source: a second load would replace the first run's rows for that source,
    its outcomes lost while `runs` still counts them. Refused, the first run's ledger stands and the next run of
    this DAG fetches those URLs again."""
    taken = con.execute(
        "select dag_id, list_sort(list_intersect(sources, $names)) from runs "
        "where run_id = $run_id and dag_id <> $dag_id and len(list_intersect(sources, $names)) > 0 order by dag_id",
        {"run_id": run_id, "dag_id": dag_id, "names": names}).fetchall()
    if taken:
        said = "; ".join(f"{', '.join(shared)} by {other}" for other, shared in taken)
        raise PermanentError(
            f"run {run_id} of {dag_id} not loaded: under this run id the warehouse already holds {said} (a source "
            f"moved to another schedule while a run of its old one was in flight). Loading would replace that "
            f"run's outcomes; this DAG's next run fetches its URLs again")


def load_run(jobs: list[Job], *, run_id: str, dag_id: str, started_at: datetime | None = None) -> dict:
    """Everything the run produced, in one transaction: a failure leaves the warehouse as it was, and readers see
    the lake before or after it, never between. The time it took to get a writable connection to the lake is the
    load's wait on the warehouse (with a single DuckDB file, readers made it grow without bound): recorded in the
    summary and in runs.warehouse_wait_s. The migrations that follow are the load's own work (migrate_s)."""
    from newsflow.warehouse import connect, migrate, transaction

    jobs = [Job.from_xcom(j) for j in jobs or [] if j]
    if not jobs:
        # the plan failed (its own error says why) or planned nothing: no retry can change that
        raise PermanentError("nothing to load: the run has no source jobs (see the plan task)")
    require_staging(jobs, run_id, "load")
    now = datetime.now(UTC)

    opening = time.monotonic()
    con = connect(jobs[0].warehouse)
    wait_s = time.monotonic() - opening
    try:
        migrate(con)
        migrate_s = time.monotonic() - opening - wait_s
        writing = time.monotonic()
        with transaction(con):
            counts, steps_s, skipped = write_run(con, jobs, run_id=run_id, dag_id=dag_id, now=now,
                                                 started_at=started_at or now, wait_s=wait_s)
        write_s = time.monotonic() - writing
    finally:
        con.close()
    summary = {k: counts.get(k, 0) for k in OUTCOMES}
    log.info("run %s loaded: %s; waited %.3f s for the warehouse, migrations %.2f s, wrote in %.1f s (%s; nothing to do: %s)",
             run_id, summary, wait_s, migrate_s, write_s, ", ".join(f"{k} {v:.2f} s" for k, v in steps_s.items()),
             ", ".join(skipped) or "none")
    return {"run_id": run_id, "sources": [j.name for j in jobs], "counts": summary, "warehouse": jobs[0].warehouse,
            "warehouse_wait_s": round(wait_s, 3), "migrate_s": round(migrate_s, 3), "write_s": round(write_s, 3),
            "steps_s": steps_s, "skipped_steps": skipped}


def write_run(con, jobs: list[Job], *, run_id: str, dag_id: str, now: datetime, started_at: datetime,
              wait_s: float) -> tuple[dict, dict, list]:
    """The load's writes, inside the caller's transaction on `con` (a migrated lake): the sql/loads steps, the
    sources and the run's row. Returns the run's article outcomes, each step's seconds and the steps skipped."""
    from newsflow.config import sql_dir
    from newsflow.extract import extractor_version
    from newsflow.warehouse import run_sql_file

    # a source whose stages failed loads only its failure record (failures.failure_ledger): its URLs and the
    # cause are logged, and the run's other sources load as usual
    folders = []
    for job in jobs:
        failure = source_failure(job)
        if failure is not None:
            log.warning("%s: failed in %s (%s); its URLs are logged as failed", job.name, failure["stage"],
                        failure["cause"])
        folders.append(job.staging if failure is None else failure_ledger(job, failure))

    def files(name: str, schema) -> list[str]:
        paths = [folder / name for folder in folders]
        for path in paths:
            if not path.exists():  # a stage that had nothing to say still leaves a typed, empty file
                staging.write([], schema, path)
            else:
                staging.conform_file(path, schema)
        return [str(p) for p in paths]

    names = [j.name for j in jobs]
    params = {
        "run_id": run_id,
        "dag_id": dag_id,
        "now": now,
        "sources": names,
        "valid_files": files(staging.VALID_FILE, staging.ARTICLE),
        "ledger_files": files(staging.VALIDATE_LEDGER_FILE, staging.LEDGER),
        "rejected_files": files(staging.REJECTED_FILE, staging.REJECTED),
        "validation_files": files(staging.VALIDATION_FILE, staging.VALIDATION),
        "source_rows": [_configured_source(job) for job in jobs],
        "started": started_at,
    }
    _refuse_sources_another_dag_loaded(con, run_id, dag_id, names)
    steps_s, skipped = {}, []
    for path in sorted((sql_dir() / "loads").glob("*.sql")):
        started = time.monotonic()
        if not run_sql_file(con, path, params):
            skipped.append(path.stem)
        steps_s[path.stem] = round(time.monotonic() - started, 3)
    counts = dict(
        con.execute(
            "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' "
            "and list_contains(?, source) group by outcome",
            [run_id, names],
        ).fetchall()
    )
    con.execute(
        """
        merge into runs
        using (
            select $run_id as run_id, $dag_id as dag_id, $started as started_at, $now as loaded_at,
                   $file as sources_file, $sources as sources, $discovered as discovered, $loaded as loaded,
                   $unchanged as unchanged, $rejected as rejected, $failed as failed, $skipped as skipped,
                   $version as extractor_version, $wait_s as warehouse_wait_s
        ) as run
        -- Airflow's run ids are unique per DAG only: two schedules that fire at one instant (`@hourly` and
        -- `15m` at 06:00) both run `scheduled__…T06:00:00+00:00`, each its own sources
        on runs.run_id = run.run_id and runs.dag_id = run.dag_id
        -- loaded again (its load cleared and rerun): the account step's verdict and finish are undone
        -- until it runs again, not left standing beside counts it never checked
        when matched then update set
            loaded_at = run.loaded_at, status = 'loaded', finished_at = null, sources = run.sources,
            discovered = run.discovered, loaded = run.loaded, unchanged = run.unchanged,
            rejected = run.rejected, failed = run.failed, skipped = run.skipped,
            extractor_version = run.extractor_version, warehouse_wait_s = run.warehouse_wait_s
        when not matched then insert (run_id, dag_id, started_at, loaded_at, status, sources_file, sources,
                discovered, loaded, unchanged, rejected, failed, skipped, extractor_version, warehouse_wait_s)
            values (run.run_id, run.dag_id, run.started_at, run.loaded_at, 'loaded', run.sources_file,
                run.sources, run.discovered, run.loaded, run.unchanged, run.rejected, run.failed,
                run.skipped, run.extractor_version, run.warehouse_wait_s)
        """,
        {
            "run_id": run_id, "dag_id": dag_id, "started": started_at, "now": now,
            "file": jobs[0].sources_file, "sources": names,
            "discovered": sum(counts.values()), "version": extractor_version(), "wait_s": wait_s,
            **{k: counts.get(k, 0) for k in OUTCOMES},
        },
    )
    return counts, steps_s, skipped


def _configured_source(job: Job) -> dict:
    """The source as this run's sources file describes it, a row of sql/loads/13_upsert_sources.sql."""
    source = job.source
    locator = getattr(source, "url", None) or getattr(source, "path", None) or getattr(source, "urls_file", None)
    return {"name": source.name, "kind": source.kind, "locator": locator or f"{len(source.urls or [])} listed URLs",
            "language": source.language, "timezone": job.timezone}
