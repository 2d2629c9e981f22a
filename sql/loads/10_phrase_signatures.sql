-- Keep phrase_signatures (sql/schema/004_phrase_signatures.sql and 006) equal to the articles' text: recompute the
-- rows of every article this run (re)wrote, and of any article that has none; drop rows whose article is gone. A
-- row depends only on the title and body, which only a 'loaded' decision rewrites, so duplicate re-links and
-- unchanged articles keep theirs. Delete + insert, so loading the same run twice gives the same rows.
-- Built by another DuckDB's hash() (term_index_state), every row becomes phrase_signature_unknown() (a candidate
-- for every phrase) and newsflow.warehouse.refresh_phrase_signatures recomputes them after the commit, a bounded
-- number per statement: all of them in this one statement ran out of memory on 1M articles.
create or replace temp table phrase_signature_todo as
select article_id
from articles
where
    not (select state.stale from term_index_state as state)
    and (
        article_id in (
            select decision.article_id
            from load_decisions as decision
            where decision.outcome = 'loaded'
        )
        or article_id not in (select sig.article_id from phrase_signatures as sig)
    );

delete from phrase_signatures
where
    article_id in (select todo.article_id from phrase_signature_todo as todo)
    or article_id not in (select articles.article_id from articles)
    or (select state.stale from term_index_state as state);

insert into phrase_signatures (article_id, pairs, triples)
select
    article_id,
    phrase_signature_unknown() as pairs,
    null as triples
from articles
where (select state.stale from term_index_state as state);

insert into phrase_signatures (article_id, pairs, triples)
select
    article_id,
    pairs,
    triples
from phrase_signature_rows((select list(todo.article_id) from phrase_signature_todo as todo));
