-- term_read_all(term): whether term_coverage answers the term by reading every body: a Chinese or Japanese term
-- article_terms cannot answer alone (a word of three characters or more, a phrase with one), and any term with
-- Thai, Lao, Khmer or Myanmar characters (the term table holds a run of them whole, and their character pairs
-- would swell it: a Thai word is mostly three code points or more, with its vowel and tone marks). Its probe has no
-- case, so contains() finds it as fast as the bodies are read, quicker than joining its candidates
-- (docs/benchmarks.md). A constant for a constant term, like term_exact.
create or replace macro term_read_all(term) as
not term_exact(term)
and regexp_matches(term, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]');
