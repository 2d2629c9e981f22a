-- Source-days with no or abnormally few articles against the source's own trailing baseline: the median
-- and MAD of its daily counts over the 28 days before (the day itself excluded). Every copy counts, since an
-- outage is about the outlet's own output. A calendar spine runs from each source's first day to the last
-- day any source published, so days with no rows at all appear with articles = 0; but only to the source's
-- last_complete_day: a day in progress (a Los Angeles outlet's evening, a publisher's tomorrow east of UTC) is no
-- outage yet, as for volume_latest_day.
-- gap_kind 'zero': no articles while the baseline median is at least 1
-- gap_kind 'low' : articles < median - 3 * max(1.4826 * MAD, sqrt(median) / 2, 1), the scale of the
--                  volume_latest_day check: a source of 2 a day, MAD 0, is not flagged for a day of 1
-- A baseline needs at least 7 earlier days. After 14 zero days the median itself falls to 0 and a
-- long outage stops being flagged: source_freshness reports it as silent.
-- noqa: disable=RF04
create or replace view coverage_gaps as
with daily as (
    select
        source,
        published_date as day,
        count(*) as articles
    from articles
    group by source, published_date
),

spans as (
    select
        daily.source,
        min(daily.day) as first_day,
        least(
            max(max(daily.day)) over (), last_complete_day(any_value(sources.timezone), now())
        ) as last_day
    from daily
    left join sources on daily.source = sources.name
    group by daily.source
),

spine as (
    select
        source,
        cast(unnest(range(first_day, last_day + 1, interval 1 day)) as date) as day
    from spans
),

filled as (
    select
        spine.source,
        spine.day,
        coalesce(daily.articles, 0) as articles
    from spine
    left join daily on spine.source = daily.source and spine.day = daily.day
),

baselined as (
    select
        source,
        day,
        articles,
        median(articles) over (
            partition by source order by day rows between 28 preceding and 1 preceding
        ) as baseline_median,
        mad(articles) over (
            partition by source order by day rows between 28 preceding and 1 preceding
        ) as baseline_mad,
        count(*) over (
            partition by source order by day rows between 28 preceding and 1 preceding
        ) as baseline_days
    from filled
)

select
    source,
    day,
    articles,
    baseline_median,
    baseline_mad,
    case when articles = 0 then 'zero' else 'low' end as gap_kind
from baselined
where
    baseline_days >= 7
    and (
        (articles = 0 and baseline_median >= 1)
        or articles < baseline_median - 3 * greatest(1.4826 * baseline_mad, sqrt(baseline_median) / 2, 1)
    )
