-- The terms of the articles numbered in ($from_seq, $to_seq]: one row per distinct term (term_tokens) of title and
-- body. Constant bounds, so the scan of articles skips the files and row groups outside them. Sorted by term on
-- insert (the table's `set sorted by`), so each file keeps a term's rows together.
insert into article_terms (term, article_seq)
with texts as (
    select
        article_seq,
        coalesce(title, '') || chr(10) || body as text
    from articles
    where article_seq > $from_seq and article_seq <= $to_seq
)

select
    unnest(term_tokens(text)) as term,
    article_seq
from texts
