-- term_tokens(text): the distinct terms article_terms holds for a text, and term_coverage looks up for a search
-- term. Its words (term_words' definition: runs of anything but punctuation, symbols, spaces and control
-- characters), lower-cased; a word holding Han, Hiragana or Katakana characters is replaced by those characters
-- one by one (Chinese and Japanese have no boundaries to cut at: '政府' is looked up as 政 and 府, then confirmed by
-- term_pattern). A word without such characters is kept whole, so a one-word term needs no confirmation.
-- Splitting at the separators costs half of extracting the words (measured: docs/benchmarks.md); the test for
-- CJK characters runs once per text, not once per word, when the text has none.
create or replace macro term_tokens(text) as
list_distinct(
    case
        when regexp_matches(text, '[\p{Han}\p{Hiragana}\p{Katakana}]')
            then list_concat(
                list_filter(
                    string_split_regex(lower(text), '[\p{P}\p{S}\p{Z}\p{C}]+'),
                    lambda w: w <> '' and not regexp_matches(w, '[\p{Han}\p{Hiragana}\p{Katakana}]')
                ),
                regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]')
            )
        else list_filter(string_split_regex(lower(text), '[\p{P}\p{S}\p{Z}\p{C}]+'), lambda w: w <> '')
    end
);
