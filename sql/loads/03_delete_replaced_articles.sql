-- when: exists (select 1 from load_decisions where writes and stored)
-- Changed articles (a new text, or a new extractor version) replace their stored row: it is deleted here and its
-- new version inserted by 04_insert_articles.sql with the new ones, in the load's transaction, keeping what
-- 01_decide_outcomes.sql took from it. Not a MERGE or an UPDATE: a lake writes an updated row whole either way, and
-- DuckLake took 8 s to update 100,000 rows that a plain insert had written, where deleting them and inserting the
-- new versions takes ~2 s (docs/benchmarks.md, "The lake over months"). Articles seen again unchanged are not
-- written at all: their fetch_log rows say so.
-- The delete goes to storage, not to the catalog (DuckLake's data inlining keeps deletes of up to 10 rows there
-- until a flush): deletes kept there that took the last live rows of a file left it listed after the flush, every
-- row deleted, which no merge takes; written to storage, the delete that empties a file drops it. Only for this
-- statement: the insert of a few new articles stays inlined (small files make the analyst views slower). The
-- load's connection has DuckLake's default, which `reset` restores.
set ducklake_default_data_inlining_row_limit = 0;

delete from articles
where
    article_id in (
        select load_decisions.article_id from load_decisions
        where load_decisions.writes and load_decisions.stored
    );

reset ducklake_default_data_inlining_row_limit;
