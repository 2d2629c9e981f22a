-- The warehouse's verdict on the runs `newsflow status` lists ($dag_ids and $run_ids, pairwise), for those it
-- did not record `succeeded`: Airflow calls a `partial` run (a source failed, the others loaded) a success. With
-- the sources that failed in each, as the account step judged them (plugins/newsflow/stages/account.py): a
-- source whose stage failed has a `source` row, and one none of whose listings could be read has only failed
-- or skipped rows, a listing's among them (a page that only pointed to its listing counts as none read).
with listed as (
    select
        unnest($dag_ids) as dag_id,
        unnest($run_ids) as run_id
),

verdicts as (
    select
        r.dag_id,
        r.run_id,
        r.status,
        r.sources
    from runs as r
    inner join listed as l on r.dag_id = l.dag_id and r.run_id = l.run_id
    where r.status <> 'succeeded'
),

failed as (
    select
        v.dag_id,
        v.run_id,
        f.source
    from fetch_log as f
    inner join verdicts as v on f.run_id = v.run_id and list_contains(v.sources, f.source)
    group by v.dag_id, v.run_id, f.source
    having
        bool_or(f.url_kind = 'source')
        -- every row, the articles' too (account's listing_unread): a WARC cut short has a failed `warc` row, and
        -- the pages read before the cut are loaded
        or (
            bool_or(f.url_kind <> 'article')
            and bool_and(
                f.outcome in ('failed', 'skipped')
                or (
                    f.url_kind <> 'article'
                    and f.outcome = 'loaded'
                    and f.reason in ('feed_linked', 'sitemaps_from_robots')
                )
            )
        )
)

select
    v.dag_id,
    v.run_id,
    v.status,
    coalesce(list(f.source order by f.source) filter (where f.source is not null), []) as failed_sources
from verdicts as v
left join failed as f on v.dag_id = f.dag_id and v.run_id = f.run_id
group by v.dag_id, v.run_id, v.status
