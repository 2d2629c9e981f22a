-- term_tokens(text): the distinct terms article_terms holds for a text (a title or a body, each on its own):
-- - its words (term_words' definition: runs of anything but punctuation, symbols, spaces and control characters),
--   lower-cased, and every pair of adjacent words (term_pairs: 'central bank'), so a two-word phrase is looked up
--   like a word and a longer one by its pairs;
-- - for a word holding Han, Hiragana or Katakana characters (Chinese and Japanese have no spaces to cut at), those
--   characters one by one and every pair of them that stand next to each other (character bigrams, as Lucene's
--   CJK analyser cuts such text) instead of the word and its word pairs: so a Chinese or Japanese word of one or
--   two characters, most of them, is looked up whole.
-- Splitting at the separators costs half of extracting the words (measured: docs/benchmarks.md); the test for
-- CJK characters runs once per text, not once per word, when the text has none. The words are bound once (the
-- one-element list_transform), as in term_pattern.
create or replace macro term_tokens(text) as
list_transform(
    [string_split_regex(lower(text), '[\p{P}\p{S}\p{Z}\p{C}]+')],
    lambda ws: list_distinct(
        case
            when regexp_matches(text, '[\p{Han}\p{Hiragana}\p{Katakana}]')
                then list_concat(
                    list_filter(
                        ws, lambda w: w <> '' and not regexp_matches(w, '[\p{Han}\p{Hiragana}\p{Katakana}]')
                    ),
                    list_filter(
                        term_pairs(ws),
                        lambda p: not regexp_matches(p, '(?:^ |[\p{Han}\p{Hiragana}\p{Katakana}]| $)')
                    ),
                    regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]'),
                    flatten(
                        list_transform(
                            regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]{2,}'),
                            lambda run: list_transform(range(1, length(run)), lambda i: substr(run, i, 2))
                        )
                    )
                )
            else list_concat(
                list_filter(ws, lambda w: w <> ''),
                -- the empty word at a text's start or end (a leading separator) pairs with nothing
                list_filter(term_pairs(ws), lambda p: not (starts_with(p, ' ') or ends_with(p, ' ')))
            )
        end
    )
)[1];
