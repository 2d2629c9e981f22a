-- The terms of the articles numbered in ($from_seq, $to_seq]: one row per distinct term (term_tokens) of the title
-- and the body, each cut on its own so that no word pair spans the two (term_coverage looks in each apart).
-- Constant bounds, so the scan of articles skips the files and row groups outside them. Sorted by term on insert
-- (the table's `set sorted by`), so each file keeps a term's rows together.
insert into article_terms (term, article_seq)
with texts as (
    select
        article_seq,
        list_distinct(list_concat(term_tokens(coalesce(title, '')), term_tokens(coalesce(body, '')))) as terms
    from articles
    where article_seq > $from_seq and article_seq <= $to_seq
)

select
    unnest(terms) as term,
    article_seq
from texts
