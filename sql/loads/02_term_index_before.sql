-- The term index (term_daily, sql/schema/003_term_index.sql) before this run changes anything: the day and the
-- original-or-copy status of every article the run can rewrite (staged articles) or re-link as a duplicate
-- (04_mark_duplicates.sql re-links every article whose last_run_id is this run, including articles an earlier
-- execution of the same run loaded for other sources). 09_term_index.sql compares them with the result.
create or replace temp table term_index_before as
select
    article_id,
    published_date,
    duplicate_of is null as original
from articles
where
    last_run_id = $run_id
    or article_id in (select staged.article_id from staged_articles as staged);

-- whether term_daily and phrase_signatures were built by another DuckDB's hash() (sql/schema/003_term_index.sql):
-- then 09 and 10 rebuild them whole. Decided once here, because 09 records the current hash when it is done.
create or replace temp table term_index_state as
select coalesce(max(meta.hash_probe) != term_index_probe(), true) as stale
from term_index_meta as meta;
