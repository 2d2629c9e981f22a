-- Keep the term index exact: recompute every publication day whose set of original articles or their text this
-- run changed, from articles, as the migration's backfill does (term_daily_rows). A day is recomputed when an
-- original on it was (re)written (new, changed, re-extracted, or a rerun of this run), left it (its date moved),
-- or became a copy or an original again. Days of copies that stay copies are left alone: the index counts
-- originals only. Delete + insert of whole days, so loading the same run twice gives the same index. If the
-- index was built by a DuckDB whose hash() differs from this one (term_index_state), every day is rebuilt.
create or replace temp table term_index_days as
with stale_index as (
    select distinct published_date
    from articles
    where (select state.stale from term_index_state as state)
),

after_load as (
    select
        article_id,
        published_date,
        duplicate_of is null as original
    from articles
    where last_run_id = $run_id
),

rewritten as (
    select article_id
    from load_decisions
    where outcome = 'loaded'
),

changes as (
    select
        before_load.published_date as before_day,
        after_load.published_date as after_day,
        coalesce(before_load.original, false) as counted_before,
        coalesce(after_load.original, false) as counted_after
    from after_load
    full outer join term_index_before as before_load
        on after_load.article_id = before_load.article_id
    where
        after_load.article_id in (select rewritten.article_id from rewritten)
        or before_load.article_id is null
        or after_load.article_id is null
        or before_load.published_date != after_load.published_date
        or before_load.original != after_load.original
)

select before_day as published_date
from changes
where counted_before
union
select after_day as published_date
from changes
where counted_after
union
select published_date
from stale_index;

delete from term_daily
where
    published_date in (select days.published_date from term_index_days as days)
    or (select state.stale from term_index_state as state);

insert into term_daily (published_date, term_hash, articles)
select
    published_date,
    term_hash,
    articles
from term_daily_rows((select list(days.published_date) from term_index_days as days))
order by term_hash, published_date;

delete from term_index_meta;

insert into term_index_meta (hash_probe) values (term_index_probe());
