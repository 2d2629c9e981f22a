-- Rebuild the term index (term_daily, 003), the phrase signatures (004, 006) and the frequent pairs (005) from
-- articles, with the macros the migrations defined last: term_daily here; the signatures and every day's frequent
-- pairs are marked unknown for newsflow.warehouse.refresh_phrase_signatures and refresh_phrase_daily to recompute.
-- For articles changed outside a load (loads keep all of this exact themselves), and to re-cluster term_daily by
-- term after many loads: written sorted by term_hash, one term's scan skips almost every row group.
-- Run by newsflow.warehouse.rebuild_term_index.
delete from term_daily;

insert into term_daily (published_date, term_hash, articles)
select
    published_date,
    term_hash,
    articles
from term_daily_rows((select list(distinct published_date) from articles))
order by term_hash, published_date;

delete from term_index_meta;

insert into term_index_meta (hash_probe) values (term_index_probe());

-- every signature unknown (a candidate for every phrase), recomputed by refresh_phrase_signatures in bounded
-- statements: one statement for 1M articles ran out of memory at the 1 GB limit
delete from phrase_signatures;

insert into phrase_signatures (article_id, pairs, triples)
select
    article_id,
    phrase_signature_unknown() as pairs,
    null as triples
from articles;

delete from phrase_daily;

delete from phrase_daily_days;
