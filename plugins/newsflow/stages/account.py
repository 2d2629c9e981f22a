"""The account stage: every URL discovered in the run has exactly one fetch_log row with a valid outcome and its
URL exactly as discovered, or the run fails loudly; the run's row in `runs` records the verdict.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime

from newsflow import staging
from newsflow.stages.failures import PermanentError, expected_keys, require_staging, source_failure
from newsflow.stages.job import OUTCOMES, AccountingError, Job

log = logging.getLogger(__name__)


def listing_unread(listings: list[str]) -> dict:
    """Why a source none of whose listings could be read failed ({stage, cause}): its stages ran, but a feed that
    answers 404, one robots.txt closes or that redirects to a refused address, or an archive that is not there gave
    nothing to load, and a run where that was every source was `succeeded` with nothing in it. Which sources those
    are is sql/macros/failed_sources.sql's rule, the one the run summary and `newsflow status` read; `listings`:
    its `url_kind reason` there."""
    reasons = Counter(listings)
    said = ", ".join(f"{what} ×{n}" if n > 1 else what for what, n in reasons.most_common(3))
    more = f" and {len(reasons) - 3} more" if len(reasons) > 3 else ""
    return {"stage": "discover", "cause": f"no listing could be read ({said}{more})"}


def check_accounting(jobs: list[Job], *, run_id: str, dag_id: str | None = None) -> dict:
    """The verdict on the run's fetch_log rows of its sources, recorded in its `runs` row. `dag_id` names the row
    when another DAG's run has the same id (two schedules firing at one instant); None: every row of the id."""
    from newsflow.warehouse import connect

    jobs = [Job.from_xcom(j) for j in jobs or [] if j]
    if not jobs:
        # the plan failed (its own error says why) or planned nothing: no retry can change that
        raise PermanentError("nothing to account for: the run has no source jobs (see the plan task)")
    require_staging(jobs, run_id, "account for")
    con = connect(jobs[0].warehouse)
    try:
        problems = []
        failed_sources = {}
        # every source's rows at once: a query per source cost 0.03 s each, ten seconds of a 300-source run
        logged_by_source = defaultdict(list)
        for source, *row in con.execute(
                "select source, url_kind, seq, outcome, url, reason from fetch_log where run_id = ? "
                "and list_contains(?, source)", [run_id, [job.name for job in jobs]]).fetchall():
            logged_by_source[source].append(tuple(row))
        unread = dict(con.execute("select source, unread_listings from failed_sources(?, ?) where not stage_failed",
                                  [run_id, [job.name for job in jobs]]).fetchall())
        for job in jobs:
            failed_keys = expected_keys(job)
            discovered = staging.read(job.staging / staging.DISCOVER_LEDGER_FILE, staging.LEDGER)
            keys = list(zip(discovered.column("url_kind").to_pylist(), discovered.column("seq").to_pylist(),
                            strict=True))
            urls_by_key = dict(zip(keys, discovered.column("url").to_pylist(), strict=True))
            if failed_keys is not None:
                failed_sources[job.name] = source_failure(job)
                keys = sorted(failed_keys)
            logged = logged_by_source[job.name]
            if failed_keys is None and job.name in unread:
                failed_sources[job.name] = listing_unread(unread[job.name])
            got = Counter((k, s) for k, s, *_ in logged)
            missing = set(keys) - set(got)
            extra = set(got) - set(keys)
            doubled = [key for key, n in got.items() if n > 1]
            bad = [(k, s, o) for k, s, o, *_ in logged if o not in OUTCOMES]
            wrong_url = [(k, s) for k, s, _o, u, _r in logged if (k, s) in urls_by_key and urls_by_key[(k, s)] != u]
            if missing or extra or doubled or bad or wrong_url:
                problems.append(
                    f"{job.name}: {len(missing)} without outcome {sorted(missing)[:5]}, {len(extra)} unexpected, "
                    f"{len(doubled)} logged twice, {len(bad)} with unknown outcome, {len(wrong_url)} with altered URL"
                )
        if problems:
            status = "failed_accounting"
        elif failed_sources:
            # some sources failed: the others loaded; every source failing fails the run
            status = "failed" if len(failed_sources) == len(jobs) else "partial"
        else:
            status = "succeeded"
        con.execute("update runs set status = ?, finished_at = ? where run_id = ? and dag_id = coalesce(?, dag_id)",
                    [status, datetime.now(UTC), run_id, dag_id])
        counts = dict(
            con.execute(
                "select outcome, count(*) from fetch_log where run_id = ? and url_kind = 'article' "
                "and list_contains(?, source) group by outcome",
                [run_id, [job.name for job in jobs]],
            ).fetchall()
        )
    finally:
        con.close()
    if problems:
        raise AccountingError("URLs unaccounted for in run " + run_id + ":\n  " + "\n  ".join(problems))
    failed = {name: f"{f['stage']}: {f['cause']}" for name, f in failed_sources.items()}
    for name, why in failed.items():
        log.error("source %s failed in %s", name, why)
    if failed and len(failed) == len(jobs):
        # the names first: the console line is cut at 300 characters, and each cause may hold a long path
        raise PermanentError(f"every source failed: {', '.join(failed)} ("
                             + "; ".join(f"{n}: {w}" for n, w in failed.items()) + ")")
    return {"run_id": run_id, "status": status, "counts": {k: counts.get(k, 0) for k in OUTCOMES},
            "failed_sources": failed}
