-- source_coverage(src, grain): per day, week (ISO, starting Monday) or month, the articles of source src,
-- all articles, and src's share. Originals only, as in coverage_daily. Every period with at least one article
-- in the warehouse appears, with 0 when src published nothing.
-- Usage: select * from source_coverage('dailyherald', 'month')
-- noqa: disable=RF04
create or replace macro source_coverage(src, grain) as table
    with originals as (
        select
            source,
            case grain
                when 'day' then published_date
                when 'week' then cast(date_trunc('week', published_date) as date)
                when 'month' then cast(date_trunc('month', published_date) as date)
                else error('source_coverage: grain must be day, week or month')
            end as period
        from articles
        where duplicate_of is null
    ),

    counted as (
        select
            period,
            count(*) filter (where source = src) as articles,
            count(*) as all_articles
        from originals
        group by period
    )

    select
        period,
        articles,
        all_articles,
        articles / all_articles as share
    from counted
    union all
    -- the grain checked once more, on no article: the case above raises per row, and a lake without articles has none
    select
        null,
        null,
        null,
        null
    from (
        select
            case
                when grain in ('day', 'week', 'month') then current_date
                else error('source_coverage: grain must be day, week or month')
            end as period
    ) as checked
    where checked.period is null
    order by period
