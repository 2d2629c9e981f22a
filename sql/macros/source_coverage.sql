-- source_coverage(src, grain): per day, week (ISO, starting Monday) or month, the articles of source src,
-- all articles, and src's share. Originals only, as in coverage_daily. Every period with at least one article
-- in the warehouse appears, with 0 when src published nothing. A src that names no source (a typo, 'Metro' for
-- 'metro') raises instead of answering 0 for every period.
-- Usage: select * from source_coverage('dailyherald', 'month')
-- noqa: disable=RF04
create or replace macro source_coverage(src, grain) as table
    with originals as (
        select
            source,
            term_period(published_date, grain) as period
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
    -- the grain checked on no article too: term_period raises per row, and a lake without articles has none; and
    -- src, once the lake has a source: one no load configured and no article names answers 0 everywhere
    select null, null, null, null  -- noqa: LT09
    where
        term_period(current_date, grain) is null
        -- the error inside a CASE: as one side of an AND, DuckDB raised it whatever the other sides said when src
        -- was a subquery (`source_coverage((select ...), 'month')` said "no source named" of a source it has)
        or case
            when
                exists (select 1 from articles)
                and coalesce(
                    src not in (
                        select sources.name from sources
                        union all
                        select articles.source from articles
                    ),
                    true
                )
                then error('no source named ' || coalesce('''' || src || '''', 'null') || ' (sources.name)')
        end is not null
    order by period
