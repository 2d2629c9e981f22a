-- Keep phrase_signatures (sql/schema/004_phrase_signatures.sql and 006) true to the articles' text: every article
-- this run (re)wrote, and any article that has no row, gets phrase_signature_unknown() (a candidate for every
-- phrase, so term_coverage stays right), and newsflow.warehouse.refresh_phrase_signatures computes the real rows
-- after the commit, a bounded number per statement. Computing them here, in one statement for the whole run,
-- made the load's memory grow with the run (1.1 GB peak at 2,000 pages, 1.5 GB at 10,000). Rows whose article
-- is gone are dropped. A row depends only on the title and body, which only a 'loaded' decision rewrites, so
-- duplicate re-links and unchanged articles keep theirs. Delete + insert, so loading the same run twice gives
-- the same rows. Built by another DuckDB's hash() (term_index_state), every row becomes unknown.
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

insert into phrase_signatures (article_id, pairs, triples)
select
    todo.article_id,
    phrase_signature_unknown() as pairs,
    null as triples
from phrase_signature_todo as todo;
