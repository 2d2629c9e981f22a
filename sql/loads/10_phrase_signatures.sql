-- Keep phrase_signatures (sql/schema/004_phrase_signatures.sql) equal to the articles' text: recompute the rows of
-- every article this run (re)wrote, and of any article that has none; drop rows whose article is gone. A row
-- depends only on the title and body, which only a 'loaded' decision rewrites, so duplicate re-links and
-- unchanged articles keep theirs. Delete + insert, so loading the same run twice gives the same rows. Built by
-- another DuckDB's hash() (term_index_state), every row is rebuilt.
create or replace temp table phrase_signature_todo as
select article_id
from articles
where
    (select state.stale from term_index_state as state)
    or article_id in (
        select decision.article_id
        from load_decisions as decision
        where decision.outcome = 'loaded'
    )
    or article_id not in (select sig.article_id from phrase_signatures as sig);

delete from phrase_signatures
where
    article_id in (select todo.article_id from phrase_signature_todo as todo)
    or article_id not in (select articles.article_id from articles);

insert into phrase_signatures (article_id, pairs)
select
    article_id,
    pairs
from phrase_signature_rows((select list(todo.article_id) from phrase_signature_todo as todo));
