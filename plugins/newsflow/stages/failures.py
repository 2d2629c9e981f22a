"""How a stage fails: errors sorted into permanent (configuration, permissions, a corrupt or missing warehouse, bad
input: fail at once, no retry) and transient (network, a busy lock: retried), and a source's failure recorded in
its staging folder so the load can log it and the run's other sources still load.
"""

from __future__ import annotations

import errno
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

from newsflow import staging
from newsflow.stages.job import Job

log = logging.getLogger(__name__)

FAILURE_FILE = "stage_failed.json"
# the one line the CLI looks for in Airflow's output to say why a run failed (newsflow.airflow_runner)
CONSOLE_MARK = "newsflow-error:"
STAGES = ("discover", "fetch_extract", "extract", "validate")
# ledgers in the order the stages leave them: the last one present is where a failed source got to
_LEDGERS = (staging.DISCOVER_LEDGER_FILE, staging.FETCH_LEDGER_FILE, staging.EXTRACT_LEDGER_FILE)
# what each stage leaves in a source's staging folder, and the stages after it (news_reprocess's plan writes the
# discover and fetch ledgers from the warehouse, then runs extract)
_OUTPUTS = {
    "discover": (staging.DISCOVER_LEDGER_FILE,),
    "fetch_extract": (staging.FETCH_LEDGER_FILE, staging.ARTICLES_FILE, staging.EXTRACT_LEDGER_FILE),
    "extract": (staging.ARTICLES_FILE, staging.EXTRACT_LEDGER_FILE),
    "validate": (staging.VALID_FILE, staging.REJECTED_FILE, staging.VALIDATION_FILE, staging.VALIDATE_LEDGER_FILE),
}
_LATER = {"discover": ("fetch_extract", "validate"), "fetch_extract": ("validate",), "extract": ("validate",),
          "validate": ()}
_PERMANENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EISDIR, errno.ENOTDIR,
                     errno.ENOENT, errno.ENAMETOOLONG, errno.EDQUOT, errno.EEXIST}
_PERMANENT_WORDS = ("not a valid duckdb", "is a directory", "not a directory", "permission denied",
                    "read-only file system", "file is not a database", "database disk image is malformed",
                    "no space left", "serialization error", "corrupt")
# a lake data file its catalog lists is gone: the data folder moved, unmounted or deleted. Not any "No such file or
# directory": libpq says it of a Postgres catalog's unix socket while that server is down or restarting (transient)
_DATA_FILE_GONE = re.compile(r"cannot open file .*: no such file or directory")


class PermanentError(RuntimeError):
    """An error retrying cannot heal; its message is the one-line cause shown on the console."""


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify(exc: BaseException) -> tuple[bool, str]:
    """(permanent, one-line cause). Unknown errors count as transient: Airflow's retries stay the default."""
    from newsflow.config import ConfigError
    from newsflow.stages.job import AccountingError

    if isinstance(exc, PermanentError):
        return True, one_line(exc)
    if isinstance(exc, ConfigError):
        return True, one_line(f"configuration: {exc}")
    if isinstance(exc, AccountingError):
        return True, one_line(exc)
    if type(exc).__name__ == "WarehouseConfigError":  # the lake's location cannot be used as given
        return True, one_line(f"warehouse: {exc}")
    if type(exc).__name__ == "SqlFileError":  # a file of sql/ (a view, a migration) no retry can mend
        return True, one_line(f"sql: {exc}")
    # the warehouse's "busy" error wraps whatever DuckDB said; only a lock is worth waiting for
    cause = exc
    if type(exc).__name__ == "WarehouseBusy" and exc.__cause__ is not None:
        cause = exc.__cause__
    message = str(cause)
    lowered = message.lower()
    if type(cause).__name__ == "IOException" and "lock" in lowered and "is a directory" not in lowered:
        return False, one_line(f"warehouse busy: {message}")
    if "transaction conflict" in lowered and type(cause).__module__.split(".")[0] in ("duckdb", "_duckdb"):
        # another writer committed while this one was in flight (sql/loads/12_load_serial.sql): the retry reads
        # what it stored
        return False, one_line(f"warehouse: another writer committed to the lake first; retried: {message}")
    if isinstance(cause, FileNotFoundError) and cause.errno is None:
        # raised by newsflow itself on a look that found nothing ("no warehouse at …"): no retry makes it appear
        return True, one_line(message)
    if isinstance(cause, OSError) and cause.errno in _PERMANENT_ERRNOS:
        where = f" {cause.filename}" if cause.filename else ""
        return True, one_line(f"{cause.strerror or type(cause).__name__}:{where}")
    if any(word in lowered for word in _PERMANENT_WORDS) or _DATA_FILE_GONE.search(lowered):
        if type(cause).__module__.split(".")[0] in ("duckdb", "_duckdb"):
            return True, one_line(f"warehouse: {message}")
        if isinstance(cause, OSError):
            return True, one_line(message)
    return False, one_line(f"{type(cause).__name__}: {message}")


def fail_task(exc: BaseException, what: str) -> None:
    """Re-raise a task's error the way Airflow should treat it: a permanent one as AirflowFailException (no
    retries), with the cause on one console line; a transient one as it is, for Airflow to retry."""
    permanent, cause = classify(exc)
    log.error("%s %s: %s", CONSOLE_MARK, what, cause)
    if permanent:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{what}: {cause}") from exc
    raise exc


def run_stage(stage: str, job_data: dict, work: Callable[[Job], Job]) -> dict:
    """One source's stage in a task: on failure the source's staging folder records which stage failed and why
    (the load logs it, the other sources go on), then the error goes to Airflow (fail_task). What an earlier try
    left is removed first (clear_outputs)."""
    job = Job.from_xcom(job_data)
    try:
        clear_outputs(job, stage)
        done = work(job)
    except Exception as exc:  # noqa: BLE001 - recorded here, then raised again for Airflow
        record_failure(job, stage, exc)
        fail_task(exc, f"source {job.name} failed in {stage}")
    return done.to_xcom()


def clear_outputs(job: Job, stage: str) -> None:
    """Remove what `stage` and every later stage left in `job`'s staging folder, and a failure recorded there, before
    the stage runs again: a stage cleared and run again that was then killed or timed out (Airflow's
    AirflowTaskTimeout is no Exception, so nothing records it) left the files of the try before in place, and
    validate, load and account took them for this try's result: the run `succeeded` with the task red. With
    nothing left, the source is logged failed in this stage ("the task ended without a result")."""
    for name in (name for later in (stage, *_LATER[stage]) for name in _OUTPUTS[later]):
        for path in (job.staging / name, job.staging / f"{name}.tmp"):
            path.unlink(missing_ok=True)
    (job.staging / FAILURE_FILE).unlink(missing_ok=True)


def record_failure(job: Job, stage: str, exc: BaseException) -> tuple[bool, str]:
    """Write why `job`'s source failed in `stage` to its staging folder (the load logs its URLs as failed);
    returns (permanent, one-line cause)."""
    permanent, cause = classify(exc)
    log.error("%s: %s failed (%s): %s", job.name, stage, "permanent" if permanent else "transient", cause,
              exc_info=True)
    record = job.staging / FAILURE_FILE
    try:
        # never the run's folder (parents): news_maintenance removed it once the run finished, and a stage of that
        # run cleared and run again made it look there to the load (require_staging)
        job.staging.mkdir(exist_ok=True)
        record.write_text(json.dumps({"stage": stage, "cause": cause, "permanent": permanent}))
    except OSError:
        log.warning("%s: could not record the failure in %s", job.name, record)
    return permanent, cause


def recorded_failure(job: Job) -> dict | None:
    """The failure a stage recorded for `job`'s source ({stage, cause, permanent}), or None."""
    record = job.staging / FAILURE_FILE
    if not record.exists():
        return None
    try:
        return json.loads(record.read_text())
    except (OSError, ValueError):
        return {"stage": "unknown", "cause": "unreadable failure record"}


def require_staging(jobs: list[Job], run_id: str, step: str) -> None:
    """A PermanentError when any of the run's staging folders is not there (the plan makes every source's):
    news_maintenance removes a finished run's staging, and a load or account step cleared and run again afterwards
    read every source without a folder as failed (no ledger) and replaced the run's logged outcomes, rejections and
    validation results with that; one source's stage run again had made that source's folder, and the others'
    outcomes were replaced all the same. A worker whose data folder is not the run's sees none of it. `step`: what
    stops."""
    from newsflow.config import data_dir

    missing = [job.name for job in jobs if not job.staging.is_dir()]
    if not missing:
        return
    planned_in = jobs[0].staging.parent.parent.parent
    if planned_in != data_dir():
        # a worker with another data folder (Celery, a NEWSFLOW_DATA_DIR of its own) sees none of the run: that
        # is its setting to mend, not a run news_maintenance finished with
        raise PermanentError(f"the staging of run {run_id} is gone from this worker: its data folder is {data_dir()} "
                             f"(NEWSFLOW_DATA_DIR), the run's is {planned_in}; every worker must share the one data "
                             f"folder (docs/deploy.md, Shared data): nothing to {step}")
    # the causes before the folder: the console shows 300 characters, and a run's folder is a long path
    raise PermanentError(f"the staging of run {run_id} is gone (no folder for {', '.join(missing[:5])}"
                         f"{f' and {len(missing) - 5} more' if len(missing) > 5 else ''}): news_maintenance removes a "
                         "finished run's, and a worker not sharing the data folder (docs/deploy.md) sees none; nothing "
                         f"to {step} again; the run's rows in the warehouse stay as they are (news_reprocess re-extracts "
                         f"its articles from the archive); its folder: {jobs[0].staging.parent}")


def source_failure(job: Job) -> dict | None:
    """Why a source did not make it through validate ({stage, cause}), or None when it did."""
    failure = recorded_failure(job)
    if failure is not None:
        return failure
    if (job.staging / staging.VALIDATE_LEDGER_FILE).is_file():
        return None
    reached = [name.split(".")[1] for name in _LEDGERS if (job.staging / name).is_file()]
    after = {"discover": "fetch_extract", "fetch": "extract", "extract": "validate"}
    stage = after[reached[-1]] if reached else "discover"
    return {"stage": stage, "cause": "the task ended without a result (killed, timed out or never ran)"}


def failure_ledger(job: Job, failure: dict) -> Path:
    """A failed source's ledger for the load, in a folder of its own: the URLs the source got to end `failed`
    with `source_failed:<stage>`, and one `source` row carries the cause. Its valid, rejected and validation
    files stay empty, so nothing half-made is loaded."""
    folder = job.staging / "failed" / job.name
    folder.mkdir(parents=True, exist_ok=True)
    reached = [job.staging / name for name in _LEDGERS if (job.staging / name).is_file()]
    rows = staging.rows(reached[-1], staging.LEDGER) if reached else []
    reason = f"source_failed:{failure['stage']}"
    for row in rows:
        if row["outcome"] is None:
            row.update(outcome="failed", reason=reason)
    locator = (getattr(job.source, "url", None) or getattr(job.source, "path", None)
               or getattr(job.source, "urls_file", None) or job.name)
    rows.append(staging.ledger_row(0, "source", str(locator), outcome="failed",
                                   reason=one_line(f"{reason}: {failure['cause']}", 500)))
    staging.write(rows, staging.LEDGER, folder / staging.VALIDATE_LEDGER_FILE)
    for name, schema in ((staging.VALID_FILE, staging.ARTICLE), (staging.REJECTED_FILE, staging.REJECTED),
                         (staging.VALIDATION_FILE, staging.VALIDATION)):
        staging.write([], schema, folder / name)
    return folder


def expected_keys(job: Job) -> set[tuple[str, int]] | None:
    """The fetch_log keys a failed source must have (its discovered URLs and its `source` row), None if it
    did not fail."""
    failure = source_failure(job)
    if failure is None:
        return None
    keys = {("source", 0)}
    path = job.staging / staging.DISCOVER_LEDGER_FILE
    if path.is_file():
        table = staging.read(path, staging.LEDGER)
        keys |= set(zip(table.column("url_kind").to_pylist(), table.column("seq").to_pylist(), strict=True))
    return keys
