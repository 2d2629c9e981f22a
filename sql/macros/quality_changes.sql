-- quality_changes(run): the checks of quality run `run` whose status is not what it was in the quality run before
-- it (the latest run checked at an earlier time; runs are ordered by the time they judged the warehouse at), and
-- the checks that run had and `run` no longer has. previous_status is null for a check the run before did not
-- have (a new source, or the first run); status is null for one that is gone. The dashboard shows these; the
-- alerts compare with what they last said instead (open_alerts). A run that wrote no check (a typo, a run_id of
-- news_ingest) raises instead of answering that nothing changed.
-- Usage: select * from quality_changes('asset_triggered__2026-12-04T06:00:00+00:00')
-- noqa: disable=RF04
create or replace macro quality_changes(run) as table
    with this_run as (
        select
            check_name,
            source,
            status,
            observed,
            expected,
            details,
            checked_at
        from quality_checks
        where run_id = run
    ),

    previous_run as (
        select run_id
        from quality_checks
        where checked_at < (select min(checked_at) from this_run)
        group by run_id
        order by max(checked_at) desc, run_id desc
        limit 1
    ),

    previous_checks as (
        select
            check_name,
            source,
            status
        from quality_checks
        where run_id = (select run_id from previous_run)
    )

    select
        coalesce(this_run.check_name, previous_checks.check_name) as check_name,
        coalesce(this_run.source, previous_checks.source) as source,
        previous_checks.status as previous_status,
        this_run.status,
        this_run.observed,
        this_run.expected,
        this_run.details,
        (select run_id from previous_run) as previous_run_id
    from this_run
    full outer join previous_checks
        on this_run.check_name = previous_checks.check_name and this_run.source = previous_checks.source
    where this_run.status is distinct from previous_checks.status
    union all
    -- a run nothing names: otherwise a typo reads as "no change"
    select null, null, null, null, null, null, null, null  -- noqa: LT09
    -- (the error inside a CASE: as one side of an AND, DuckDB raised it whatever the other side said when run was a
    -- subquery, `quality_changes((select max(run_id) from quality_checks))`)
    where
        case
            when not exists (select 1 from this_run)
                then error(
                    'no quality run named ' || coalesce('''' || run || '''', 'null') || ' (quality_checks.run_id)'
                )
        end is not null
    order by check_name, source
