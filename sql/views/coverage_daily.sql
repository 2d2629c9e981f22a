-- Articles per source, language and publication day, with each row's share of all articles that day.
-- A story carried by several outlets is counted once: only originals (duplicate_of is null) are counted,
-- for the source that published it first. coverage_daily_per_outlet (102) counts every copy.
-- noqa: disable=RF04
create or replace view coverage_daily as
with originals as (
    select
        source,
        language,
        published_date as day
    from articles
    where duplicate_of is null
),

counted as (
    select
        source,
        language,
        day,
        count(*) as articles
    from originals
    group by source, language, day
)

select
    source,
    language,
    day,
    articles,
    articles / sum(articles) over (partition by day) as share
from counted
