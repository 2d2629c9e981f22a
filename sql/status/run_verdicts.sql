-- The warehouse's verdict on the runs `newsflow status` lists ($dag_ids and $run_ids, pairwise), for those it
-- did not record `succeeded`: Airflow calls a `partial` run (a source failed, the others loaded) a success. With
-- the sources that failed in each, as the account step judged them (sql/macros/failed_sources.sql), among the
-- run's own: another DAG's run may have the same id.
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
    from verdicts as v,
        lateral failed_sources(v.run_id, v.sources) as f
)

select
    v.dag_id,
    v.run_id,
    v.status,
    coalesce(list(f.source order by f.source) filter (where f.source is not null), []) as failed_sources
from verdicts as v
left join failed as f on v.dag_id = f.dag_id and v.run_id = f.run_id
group by v.dag_id, v.run_id, v.status
