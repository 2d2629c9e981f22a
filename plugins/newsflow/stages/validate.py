"""The validate stage: the Great Expectations suite over each source's extracted records, in batches (flat memory),
split into valid and rejected Parquet files; a rejected page's ledger row gets its reasons. One task per run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from newsflow import staging
from newsflow.stages.failures import (
    PermanentError,
    clear_outputs,
    record_failure,
    recorded_failure,
    require_staging,
)
from newsflow.stages.job import Job, peak_rss_mb
from newsflow.titles import clean_title, common_affixes

log = logging.getLogger(__name__)

VALIDATION_BATCH_ROWS = 2000


def source_title_affixes(path: Path) -> list[str]:
    """A site name no metadata declared still shows as the segment most of a source's titles share."""
    import pyarrow.parquet as pq

    if not path.exists():
        return []
    titles = [t for t in pq.read_table(path, columns=["title"]).column("title").to_pylist() if t]
    return common_affixes(titles) if len(titles) >= 3 else []


def landed_twice(path: Path) -> set[int]:
    """Pages of the source that two listed links landed on (a tracker's link and the page's own, two short links):
    every extraction after the first in listing order, which is the same in every run of the same listing."""
    import pyarrow.parquet as pq

    if not path.exists():
        return set()
    table = pq.read_table(path, columns=["seq", "article_id"])
    first: dict[str, int] = {}
    later: set[int] = set()
    for seq, article in sorted(zip(table.column("seq").to_pylist(), table.column("article_id").to_pylist(),
                                   strict=True)):
        if article in first:
            later.add(seq)
        else:
            first[article] = seq
    return later


def validate_source(job: Job) -> Job:
    """Great Expectations over the extracted records; results summed per expectation."""
    from newsflow.quality import ArticleValidator, merge_results

    folder = job.staging
    rows = staging.rows(folder / staging.EXTRACT_LEDGER_FILE, staging.LEDGER)
    by_seq = {r["seq"]: r for r in rows if r["url_kind"] == "article"}
    results: list[dict] = []
    site_affixes = source_title_affixes(folder / staging.ARTICLES_FILE)
    copies = landed_twice(folder / staging.ARTICLES_FILE)
    for seq in copies:
        by_seq[seq].update(outcome="skipped", reason="duplicate")
    validator = ArticleValidator(
        source=job.name,
        known_sources=list(job.known_sources),
        min_body_chars=job.settings.min_body_chars,
        max_body_chars=job.settings.max_body_chars,
    )
    with staging.BatchWriter(folder / staging.VALID_FILE, staging.ARTICLE) as valid, \
            staging.BatchWriter(folder / staging.REJECTED_FILE, staging.REJECTED) as rejected:
        for records in staging.iter_rows(folder / staging.ARTICLES_FILE, staging.ARTICLE, VALIDATION_BATCH_ROWS):
            if copies:
                records = [r for r in records if r["seq"] not in copies]
            if site_affixes:
                for record in records:
                    record["title"] = clean_title(record["title"], site_names=site_affixes)
            outcome = validator.validate(records)
            for record in outcome.valid:
                valid.add(record)
            for record in outcome.rejected:
                rejected.add(record)
                by_seq[record["seq"]].update(outcome="rejected", reason=";".join(record["reasons"]))
            results.append(outcome.results)
    staging.write(merge_results(results), staging.VALIDATION, folder / staging.VALIDATION_FILE)
    staging.write(rows, staging.LEDGER, folder / staging.VALIDATE_LEDGER_FILE)
    log.info("%s: %d valid, %d rejected (peak RSS %d MB)", job.name, valid.count, rejected.count, peak_rss_mb())
    return job.with_summary(valid=valid.count, rejected=rejected.count)


def validate_run(jobs: list[dict]) -> list[dict]:
    """Every source of the run that came through extraction, validated in this one process: Great Expectations'
    import (2.3-2.5 CPU s) is paid once a run, not once a source, where it was a quarter of a small source's
    cost on the service. A source that fails here is recorded in its staging folder (the load logs its URLs as
    failed) and the others go on; then the task fails naming each (PermanentError when no retry can help).
    Returns the validated jobs."""
    validated: list[dict] = []
    failed: list[tuple[str, bool, str]] = []
    jobs = [Job.from_xcom(j) for j in jobs or [] if j]
    if jobs:
        # a source without a folder did not fail before: the run's staging is not on this worker (another data
        # folder, or removed), and skipping every source passed the task with nothing validated
        require_staging(jobs, jobs[0].run_id, "validate")
    todo = []
    for job in jobs:
        earlier = recorded_failure(job)
        # an earlier stage's failure stands; this stage's own, from a try before, is tried again
        if earlier is not None and earlier.get("stage") != "validate":
            log.info("%s: not validated (it failed in %s)", job.name, earlier.get("stage"))
        elif not (job.staging / staging.EXTRACT_LEDGER_FILE).is_file():
            log.info("%s: not validated (its extraction left no result)", job.name)
        else:
            todo.append(job)
    # every source's results of a try before go first: this task killed or timed out part way left them for the
    # sources it had not reached, and the load took them for this try's
    cleared = []
    for job in todo:
        try:
            clear_outputs(job, "validate")
        except Exception as exc:  # noqa: BLE001 - recorded for the load; the run's other sources go on
            failed.append((job.name, *record_failure(job, "validate", exc)))
        else:
            cleared.append(job)
    for job in cleared:
        try:
            validated.append(validate_source(job).to_xcom())
        except Exception as exc:  # noqa: BLE001 - as above
            failed.append((job.name, *record_failure(job, "validate", exc)))
    if failed:
        names = ", ".join(name for name, _, _ in failed)
        causes = "; ".join(f"{name}: {cause}" for name, _, cause in failed)
        # the names before the causes: the console and the task's failure show one line of 300 characters, and a
        # cause names a staging file, so after two causes the other sources' names were cut off
        message = (f"{len(failed)} of {len(failed) + len(validated)} source(s) failed validation: {names} "
                   f"({causes})")
        # a transient cause among them is worth Airflow's retry, which validates every source again
        raise PermanentError(message) if all(permanent for _, permanent, _ in failed) else RuntimeError(message)
    return validated
