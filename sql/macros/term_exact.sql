-- term_exact(term): whether article_terms alone answers the term: one word, either without Han, Hiragana or
-- Katakana characters (term_tokens keeps it whole) or made of one or two of them only (term_tokens holds every
-- such character and pair). A constant for a constant term, so the branch of term_coverage that does not apply
-- is dropped when the query is planned, before any file is read.
create or replace macro term_exact(term) as
len(term_words(term)) = 1
and (
    not regexp_matches(term_words(term)[1], '[\p{Han}\p{Hiragana}\p{Katakana}]')
    or regexp_full_match(term_words(term)[1], '[\p{Han}\p{Hiragana}\p{Katakana}]{1,2}')
);
