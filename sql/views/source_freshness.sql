-- Per configured source: when it last published and was last fetched, how much it published in the last
-- 1, 7 and 30 days (relative to now(), every copy counted), and a status:
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

fetched as (
    select
        source,
        max(fetched_at) as last_fetched
    from fetch_log
    group by source
)

select
    configured.source,
    configured.kind,
    configured.last_run_id,
    published.last_published,
    fetched.last_fetched,
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
