-- term_read_all(term): whether term_coverage answers the term by reading every body: a Chinese or Japanese term
-- article_terms cannot answer alone (a word of three characters or more, a phrase with one). Its probe has no case,
-- so contains() finds it as fast as the bodies are read, quicker than joining its candidates (docs/benchmarks.md).
-- A constant for a constant term, like term_exact.
create or replace macro term_read_all(term) as
not term_exact(term) and regexp_matches(term, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]');
