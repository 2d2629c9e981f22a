-- term_exact(term): whether article_terms alone answers the term: one word without Han, Hiragana or Katakana
-- characters, which term_tokens keeps whole. A constant for a constant term, so the branch of term_coverage that
-- does not apply is dropped when the query is planned, before any file is read.
create or replace macro term_exact(term) as
len(term_words(term)) = 1
and not regexp_matches(term_words(term)[1], '[\p{Han}\p{Hiragana}\p{Katakana}]');
