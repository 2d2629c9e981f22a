-- Per feed source, its latest ingest run: how many of the article pages its feed listed were already known (stored, or
-- checked since: unchanged, or loaded again as changed; or rejected by an earlier run) against how many were fetched
-- and judged, and how many runs read the source. A feed lists its newest items only: none known on a re-read means it
-- turned over completely since the last run, and what it listed in between was never seen (quality check
-- listing_turnover).
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
    count(*) filter (where fetch_log.outcome in ('loaded', 'unchanged', 'rejected')) as listed
from latest
inner join fetch_log
    on latest.source = fetch_log.source and latest.run_id = fetch_log.run_id
left join rejected
    on fetch_log.source = rejected.source and fetch_log.url = rejected.url
where fetch_log.url_kind = 'article'
group by latest.source, latest.run_id, latest.runs
