-- coverage_daily by ISO week: week is the Monday the week starts on. Originals only, as in coverage_daily.
-- noqa: disable=RF04
create or replace view coverage_weekly as
with originals as (
    select
        source,
        language,
        cast(date_trunc('week', published_date) as date) as week
    from articles
    where duplicate_of is null
),

counted as (
    select
        source,
        language,
        week,
        count(*) as articles
    from originals
    group by source, language, week
)

select
    source,
    language,
    week,
    articles,
    articles / sum(articles) over (partition by week) as share
from counted
