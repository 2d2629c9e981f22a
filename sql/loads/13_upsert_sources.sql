-- The run's sources as its sources file described them, unless a run that started later already wrote a source: an
-- older run's load cleared and run again put back the old timezone (coverage_gaps reads it) and last_run_id. One
-- statement for all of them: a MERGE per source took 0.05 s each inside the load's transaction (a minute for 300
-- sources on a busy machine, the lake's one write slot held all the while).
merge into sources
using (
    with this_run as (
        -- a rerun keeps its first execution's start (runs.started_at is not updated on a rerun)
        select coalesce(min(started_at), cast($started as timestamptz)) as started_at
        from runs
        where run_id = $run_id and dag_id = $dag_id
    ),

    listed as (
        select unnest($source_rows, recursive := true)
    )

    select
        listed.name,
        listed.kind,
        listed.locator,
        this_run.started_at,
        cast(listed.language as varchar) as language,
        cast(listed.timezone as varchar) as timezone
    from listed
    cross join this_run
) as configured
    on sources.name = configured.name
when matched and coalesce(
    (
        select max(runs.started_at) from runs
        where runs.run_id = sources.last_run_id and sources.last_run_id != $run_id
    ) <= configured.started_at,
    true
) then
    update
        set
            kind = configured.kind,
            locator = configured.locator,
            language = configured.language,
            timezone = configured.timezone,
            last_run_id = $run_id,
            updated_at = $now
when not matched then
    insert (name, kind, locator, language, timezone, first_run_id, last_run_id, updated_at)
    values (
        configured.name, configured.kind, configured.locator, configured.language, configured.timezone,
        $run_id, $run_id, $now
    );
