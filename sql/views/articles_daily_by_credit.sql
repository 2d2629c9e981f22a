-- Wire copy versus original reporting, per source and day, every copy counted: credit_kind is 'wire' when
-- an agency credit was found in the text (credit names it, e.g. Reuters, AFP), else 'original'.
-- share is the row's part of the source's articles that day.
-- noqa: disable=RF04
create or replace view articles_daily_by_credit as
with credited as (
    select
        source,
        published_date as day,
        case when credit is null then 'original' else 'wire' end as credit_kind
    from articles
),

counted as (
    select
        source,
        day,
        credit_kind,
        count(*) as articles
    from credited
    group by source, day, credit_kind
)

select
    source,
    day,
    credit_kind,
    articles,
    articles / sum(articles) over (partition by source, day) as share
from counted
