"""The load stage: everything a run staged, for every source, written to the warehouse in one transaction from the
SQL files in sql/loads (upserts keyed on the canonical-URL id, so a rerun never duplicates or loses rows).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from newsflow import staging
from newsflow.stages.failures import PermanentError, failure_ledger, source_failure
from newsflow.stages.job import OUTCOMES, Job

log = logging.getLogger(__name__)


def load_run(jobs: list[Job], *, run_id: str, dag_id: str, started_at: datetime | None = None) -> dict:
    """Everything the run produced, in one transaction: a failure leaves the warehouse as it was."""
    from newsflow.config import sql_dir
    from newsflow.extract import extractor_version
    from newsflow.warehouse import open_for_write, run_sql_file

    jobs = [Job.from_xcom(j) for j in jobs or [] if j]
    if not jobs:
        # the plan failed (its own error says why) or planned nothing: no retry can change that
        raise PermanentError("nothing to load: the run has no source jobs (see the plan task)")
    now = datetime.now(UTC)

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
        return [str(p) for p in paths]

    names = [j.name for j in jobs]
    params = {
        "run_id": run_id,
        "now": now,
        "sources": names,
        "valid_files": files("valid.parquet", staging.ARTICLE),
        "ledger_files": files("ledger.validate.parquet", staging.LEDGER),
        "rejected_files": files("rejected.parquet", staging.REJECTED),
        "validation_files": files("validation.parquet", staging.VALIDATION),
    }

    con = open_for_write(jobs[0].warehouse)
    try:
        con.execute("begin transaction")
        try:
            for path in sorted((sql_dir() / "loads").glob("*.sql")):
                run_sql_file(con, path, params)
            for job in jobs:
                _upsert_source(con, job, now)
            counts = dict(
                con.execute(
                    "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' group by outcome",
                    [run_id],
                ).fetchall()
            )
            con.execute(
                """
                insert into runs (run_id, dag_id, started_at, loaded_at, status, sources_file, sources, discovered,
                                  loaded, unchanged, rejected, failed, skipped, extractor_version)
                values ($run_id, $dag_id, $started, $now, 'loaded', $file, $sources, $discovered, $loaded, $unchanged,
                        $rejected, $failed, $skipped, $version)
                on conflict (run_id) do update set
                    loaded_at = excluded.loaded_at, status = excluded.status, sources = excluded.sources,
                    discovered = excluded.discovered, loaded = excluded.loaded, unchanged = excluded.unchanged,
                    rejected = excluded.rejected, failed = excluded.failed, skipped = excluded.skipped,
                    extractor_version = excluded.extractor_version
                """,
                {
                    "run_id": run_id, "dag_id": dag_id, "started": started_at or now, "now": now,
                    "file": jobs[0].sources_file, "sources": names,
                    "discovered": sum(counts.values()), "version": extractor_version(),
                    **{k: counts.get(k, 0) for k in OUTCOMES},
                },
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        _refresh_term_index(con)
    finally:
        con.close()
    summary = {k: counts.get(k, 0) for k in OUTCOMES}
    log.info("run %s loaded: %s", run_id, summary)
    return {"run_id": run_id, "sources": names, "counts": summary, "warehouse": jobs[0].warehouse}


def _refresh_term_index(con) -> None:
    """After the commit, the parts of the term index a load leaves unknown (warehouse.refresh_term_index): the
    phrase signatures of the articles it (re)wrote and the frequent pairs of the days it changed, in statements of
    bounded size, so the load's memory does not grow with the run. The articles are in whatever
    happens here, and term_coverage treats the unknown as "read the articles", so a failure costs speed, not data.
    It is logged, and the next load picks the work up again."""
    from newsflow import warehouse

    try:
        warehouse.refresh_term_index(con)
    except Exception:
        log.warning("term index refresh failed; term_coverage reads the articles where it is incomplete until the "
                    "next load refreshes it", exc_info=True)


def _upsert_source(con, job: Job, now: datetime) -> None:
    source = job.source
    locator = getattr(source, "url", None) or getattr(source, "path", None) or getattr(source, "urls_file", None)
    locator = locator or f"{len(source.urls or [])} listed URLs"
    con.execute(
        """
        insert into sources (name, kind, locator, language, timezone, first_run_id, last_run_id, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (name) do update set kind = excluded.kind, locator = excluded.locator,
            language = excluded.language, timezone = excluded.timezone, last_run_id = excluded.last_run_id,
            updated_at = excluded.updated_at
        """,
        [source.name, source.kind, locator, source.language, job.timezone, job.run_id, job.run_id, now],
    )
