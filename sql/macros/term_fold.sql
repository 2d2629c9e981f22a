-- term_fold(text): text with its letters folded as term_coverage compares them on both of its paths, the term
-- table's words (term_tokens) and the search term's (term_words): DuckDB's lower(), then the letters Unicode's simple
-- case folding puts with another letter that lower() keeps apart, taken as that letter: the Greek final sigma ς as
-- σ (lower('ΟΔΟΣ') is 'οδοσ', the same word written 'οδος'), the micro sign µ as μ, the long s ſ as s, the Greek
-- symbol forms ϐ ϵ ϑ ϰ ϖ ϱ ϕ, ypogegrammeni (U+0345) and prosgegrammeni (U+1FBE) as β ε θ κ π ρ φ ι ι, the old
-- Cyrillic forms ᲀ-ᲈ as в д о с т т ъ ѣ ꙋ, and ẛ as ṡ. So the bodies path can match a term's letters with RE2's
-- (?i), which folds exactly so, with the one fold lower() adds, İ as i, written out (term_pattern, term_matches).
-- Found by comparing lower() with RE2's (?i) on every code point (tests/unit/test_term_index.py keeps it so). The
-- last two letters of the first string are U+0345 and U+1FBE: literals, not chr(), plan ~3 ms faster per query.
create or replace macro term_fold(text) as
translate(lower(text), 'ςµſϐϵϑϰϖϱϕᲀᲁᲂᲃᲄᲅᲆᲇᲈẛͅι', 'σμsβεθκπρφвдосттъѣꙋṡιι');
