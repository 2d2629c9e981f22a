-- Like coverage_daily, but every copy counts for the outlet that ran it: a wire story carried by five
-- outlets is five articles. duplicates says how many of a row's articles are copies of an earlier article.
-- noqa: disable=RF04
create or replace view coverage_daily_per_outlet as
with every_copy as (
    select
        source,
        language,
        published_date as day,
        duplicate_of is not null as is_copy
    from articles
),

counted as (
    select
        source,
        language,
        day,
        count(*) as articles,
        count(*) filter (where is_copy) as duplicates
    from every_copy
    group by source, language, day
)

select
    source,
    language,
    day,
    articles,
    articles / sum(articles) over (partition by day) as share,
    duplicates
from counted
