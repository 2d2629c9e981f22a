-- One row per URL per run, replacing any earlier execution of the same run for these sources.
delete from fetch_log
where run_id = $run_id and source in (select distinct source from staged_ledger);

insert into fetch_log (
    run_id, source, url_kind, seq, url, canonical_url, outcome, reason, http_status, bytes,
    duration_ms, tries, fetched_at, article_id, final_url, logged_at
)
-- equality on all three columns (url_kind included): a constant test in the join condition made DuckDB fall back
-- from a hash join, ~10 s for 100,000 URLs
with decisions as (
    select
        *,
        'article' as url_kind
    from load_decisions
)

select
    $run_id as run_id,
    ledger.source,
    ledger.url_kind,
    ledger.seq,
    ledger.url,
    ledger.canonical_url,
    coalesce(ledger.outcome, decision.outcome) as outcome,
    coalesce(ledger.reason, decision.reason) as reason,
    ledger.http_status,
    ledger.bytes,
    ledger.duration_ms,
    ledger.tries,
    ledger.fetched_at,
    ledger.article_id,
    -- where the request ended, when that was another address (a redirect, a refresh shell)
    nullif(ledger.final_url, ledger.url) as final_url,
    $now as logged_at
from staged_ledger as ledger
left join decisions as decision
    on
        ledger.source = decision.source
        and ledger.seq = decision.seq
        and ledger.url_kind = decision.url_kind;
