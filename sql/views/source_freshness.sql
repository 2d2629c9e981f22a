-- Per configured source: when it last published, was last fetched (a request that was answered with a page:
-- loaded, unchanged or rejected, as the freshness_fetched_hours check counts), last asked (any outcome: a dead
-- site is still asked; a news_reprocess asks none), last listed by an ingest run (runs.sources: a source taken out
-- of the sources file keeps its row, and this date stops), how much it published in the last 1, 7 and 30 days
-- (relative to now(), every copy counted), and a status:
-- fresh  = an article published within the last 2 days
-- stale  = the latest article is 2 to 7 days old
-- silent = nothing published for 7 days or more, or never
-- noqa: disable=RF04
create or replace view source_freshness as
with configured as (
    select
        name as source,
        kind,
        last_run_id
    from sources
),

published as (
    select
        source,
        max(published_at) as last_published,
        count(*) filter (where published_at >= now() - interval 1 day) as articles_1d,
        count(*) filter (where published_at >= now() - interval 7 day) as articles_7d,
        count(*) filter (where published_at >= now() - interval 30 day) as articles_30d
    from articles
    group by source
),

fetched_by_run as (
    select
        source,
        run_id,
        max(fetched_at) filter (where outcome in ('loaded', 'unchanged', 'rejected')) as last_fetched,
        -- a request made: a skipped URL, or a known one not due for a revisit, was not asked for (stages/job.py's
        -- REQUESTED, which the quality checks and the revisit wait use, says the same)
        max(coalesce(fetched_at, logged_at)) filter (
            where outcome != 'skipped' and not (outcome = 'unchanged' and coalesce(reason, '') = 'not_due')
        ) as last_attempted
    from fetch_log
    group by source, run_id
),

fetched as (
    select
        source,
        max(last_fetched) as last_fetched,
        -- a news_reprocess asks no site: a source whose extract failed there has a `source` row without a fetch
        -- time, stamped when the load logged it, which made a site not asked for days look asked and not answering
        -- (tested on the grouped runs, as listing_turnover does, not on every fetch_log row)
        max(last_attempted) filter (
            where not exists (
                select 1 from runs
                where runs.run_id = fetched_by_run.run_id and runs.dag_id = 'news_reprocess'
            )
        ) as last_attempted
    from fetched_by_run
    group by source
),

ingest_runs as (
    select
        unnest(sources) as source,
        coalesce(loaded_at, started_at) as run_at
    from runs
    -- a reprocess reads the archive: it lists no source
    where dag_id != 'news_reprocess'
),

listed as (
    select
        source,
        max(run_at) as last_listed
    from ingest_runs
    group by source
)

select
    configured.source,
    configured.kind,
    configured.last_run_id,
    published.last_published,
    fetched.last_fetched,
    fetched.last_attempted,
    listed.last_listed,
    coalesce(published.articles_1d, 0) as articles_1d,
    coalesce(published.articles_7d, 0) as articles_7d,
    coalesce(published.articles_30d, 0) as articles_30d,
    case
        when published.last_published >= now() - interval 2 day then 'fresh'
        when published.last_published >= now() - interval 7 day then 'stale'
        else 'silent'
    end as status
from configured
left join published on configured.source = published.source
left join fetched on configured.source = fetched.source
left join listed on configured.source = listed.source
