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


UNREAD = ("failed", "skipped")
# a web page given as the source that led to its listing (the feed it announces, its site's robots.txt): read, but
# no listing; when what it led to could not be read either, nothing was
POINTERS = ("feed_linked", "sitemaps_from_robots")


def listing_unread(logged: list[tuple]) -> dict | None:
    """A source none of whose listings could be read ({stage, cause}), None otherwise: its stages ran, but a feed
    that answers 404, one robots.txt closes or that redirects to a refused address, or an archive that is not
    there gave nothing to load, and a run where that was every source was `succeeded` with nothing in it. Only
    listings count: an article page that is gone, or every page of a `urls` source failing, is an outcome of its
    URL (`articles_gone`, the fetch-failure rate), not of the source. `logged`: its fetch_log rows of the run
    (url_kind, seq, outcome, url, reason)."""
    listings = [row for row in logged if row[0] != "article"]
    pointer = [kind != "article" and outcome == "loaded" and reason in POINTERS
               for kind, _s, outcome, _u, reason in logged]
    if not listings or any(outcome not in UNREAD and not led for (_k, _s, outcome, _u, _r), led
                           in zip(logged, pointer, strict=True)):
        return None
    reasons = Counter(f"{kind} {reason}" for (kind, _s, _o, _u, reason), led in zip(logged, pointer, strict=True)
                      if kind != "article" and not led)
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
            if failed_keys is None and (unread := listing_unread(logged)):
                failed_sources[job.name] = unread
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
