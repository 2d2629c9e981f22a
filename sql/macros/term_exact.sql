-- term_exact(term): whether article_terms alone answers the term: it has keys (term_keys) and is one word or two
-- (a longer phrase's pairs may each occur apart, so its candidates are confirmed in their bodies). A constant
-- for a constant term, so the branches of term_coverage that do not apply are dropped when the query is planned,
-- before any file is read.
create or replace macro term_exact(term) as
len(term_words(term)) <= 2 and len(term_keys(term)) > 0;
