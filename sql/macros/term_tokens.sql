-- term_tokens(text): the distinct terms article_terms holds for a text. Its words (term_words' definition: runs of
-- anything but punctuation, symbols, spaces and control characters), lower-cased; a word holding Han, Hiragana
-- or Katakana characters is replaced by those characters one by one and by every pair of them that stand next to
-- each other (character bigrams, as Lucene's CJK analyser cuts text with no spaces between words): so a Chinese or
-- Japanese word of one or two characters, most of them, is looked up whole, like a word in other scripts.
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
                regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]'),
                flatten(
                    list_transform(
                        regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]{2,}'),
                        lambda run: list_transform(range(1, length(run)), lambda i: substr(run, i, 2))
                    )
                )
            )
        else list_filter(string_split_regex(lower(text), '[\p{P}\p{S}\p{Z}\p{C}]+'), lambda w: w <> '')
    end
);
