-- Per feed source, its latest ingest run: how many of the article pages its feed listed were already known (stored, or
-- checked since: unchanged, or loaded again as changed; or rejected by an earlier run) against how many were fetched
-- and judged, and how many runs read the source. A feed lists its newest items only: none known on a re-read means it
-- turned over completely since the last run, and what it listed in between was never seen (quality check
-- listing_turnover). That says the schedule reads it too seldom only when the run before the latest one on its
-- schedule (its DAG) read it too: a source taken out of the sources file for a week, or moved from a daily schedule
-- to an hourly one, finds its feed turned over at its first run back, which no schedule could have prevented.
-- noqa: disable=RF04
create or replace view listing_turnover as
with source_runs as (
    select
        fetch_log.source,
        fetch_log.run_id,
        max(fetch_log.logged_at) as logged_at
    from fetch_log
    inner join sources
        on fetch_log.source = sources.name and sources.kind = 'feed'
    where fetch_log.url_kind = 'article'
    group by fetch_log.source, fetch_log.run_id
),

latest as (
    select
        source,
        run_id,
        count(*) over (partition by source) as runs
    from source_runs
    -- a reprocess reads the archive, not the feed: its rows are every archived article, all known (tested on the
    -- grouped runs, not on every fetch_log row: 0.9 s more on a year of a 15-minute schedule)
    where
        not exists (
            select 1 from runs
            where runs.run_id = source_runs.run_id and runs.dag_id = 'news_reprocess'
        )
    qualify row_number() over (partition by source order by logged_at desc, run_id desc) = 1
),

-- each ingest run with the sources of the run of its DAG before it (lag over the runs: one pass, however many)
dag_runs as (
    select
        run_id,
        dag_id,
        sources,
        lag(run_id) over by_dag as previous_run_id,
        lag(sources) over by_dag as previous_sources
    from runs
    where dag_id != 'news_reprocess'
    window by_dag as (partition by dag_id order by coalesce(loaded_at, started_at), run_id)
),

-- whether the latest run's DAG read the source at its run before; true where the runs cannot tell (a warehouse
-- with fetch_log rows and no runs rows, a run loaded before runs.sources was kept), as before they could. A run id
-- two DAGs share (scheduled__<time> on two schedules): the run that listed the source. A news_ingest run is one by
-- hand (`newsflow ingest --source`): that DAG has no schedule, and its run before may have been another source's
-- alone, which said nothing of whether this one was taken out; judged as before, against whatever read it last
continued as (
    select
        latest.source,
        case
            when dag_runs.run_id is null or dag_runs.sources is null then true
            when dag_runs.dag_id = 'news_ingest' then true
            when dag_runs.previous_run_id is null then false
            when dag_runs.previous_sources is null then true
            else list_contains(dag_runs.previous_sources, latest.source)
        end as read_by_previous_run
    from latest
    left join dag_runs on latest.run_id = dag_runs.run_id
    qualify row_number() over (
        partition by latest.source
        order by coalesce(list_contains(dag_runs.sources, latest.source), false) desc, dag_runs.dag_id
    ) = 1
),

-- the pages a run of the source rejected (a paywall shell that day), with the first and last such run: listed again,
-- loaded as new now or rejected again, they were known all the same when a run before the latest rejected them,
-- and the feed had not turned over (rejected rows are few: one pass over them, not over the latest runs' rows again).
-- Ingest runs only: a reprocess after the latest run judges its rejected pages again, which made them known to it
rejected as (
    select
        source,
        url,
        min(run_id) as first_run_id,
        max(run_id) as last_run_id
    from fetch_log
    where
        url_kind = 'article' and outcome = 'rejected'
        and not exists (
            select 1 from runs
            where runs.run_id = fetch_log.run_id and runs.dag_id = 'news_reprocess'
        )
    group by source, url
)

select
    latest.source,
    latest.run_id,
    latest.runs,
    count(*) filter (
        where fetch_log.outcome = 'unchanged' or (fetch_log.outcome = 'loaded' and fetch_log.reason != 'new')
        or (
            fetch_log.outcome in ('loaded', 'rejected')
            and (rejected.first_run_id != latest.run_id or rejected.last_run_id != latest.run_id)
        )
    ) as known,
    -- judged pages only: a URL that failed (the site down) says nothing of whether it was new
    count(*) filter (where fetch_log.outcome in ('loaded', 'unchanged', 'rejected')) as listed,
    any_value(continued.read_by_previous_run) as read_by_previous_run
from latest
inner join continued on latest.source = continued.source
inner join fetch_log
    on latest.source = fetch_log.source and latest.run_id = fetch_log.run_id
left join rejected
    on fetch_log.source = rejected.source and fetch_log.url = rejected.url
where fetch_log.url_kind = 'article'
group by latest.source, latest.run_id, latest.runs
