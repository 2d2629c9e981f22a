-- term_tokens(text): the distinct terms article_terms holds for a text (a title or a body, each on its own):
-- - its words (term_words' definition: runs of anything but punctuation, symbols, spaces and control characters),
--   folded as term_coverage compares them (term_fold), and every pair of adjacent words (term_pairs: 'central
--   bank'), so a two-word phrase is looked up like a word and a longer one by its pairs;
-- - for a text holding Han, Hiragana or Katakana characters (or the long vowel mark ー/ｰ, script Common, which
--   Japanese writes among them: 'コーヒー'), those characters one by one and every pair of them that stand next to
--   each other (character bigrams, as Lucene's CJK analyser cuts such text) instead of the words and word pairs
--   holding them: so a Chinese or Japanese word of one or two characters, most of them, is looked up whole. Such
--   a character is a word boundary (term_pattern): the runs without them inside a word are words ('2018年',
--   'iPhone新品' hold 2018, iphone), and pair only across separators, not across the characters.
-- Splitting at the separators costs half of extracting the words (measured: docs/benchmarks.md): the test for
-- CJK characters runs once per text, not once per word, and a run of them becomes one word of its own, a Han
-- character (the text has none left to take it for), so the words beside it do not pair across it and its word
-- says the text held some. term_fold's translate() runs only on a text holding a letter it changes (on every
-- body it cost 8x lower(), measured): the class lists them. The words are bound once (the one-element
-- list_transform), as in term_pattern: binding the test and the folded text the same way, in lambdas of their
-- own, made indexing 8% slower (measured). The text is not brought to NFC (term_words says why).
create or replace macro term_tokens(text) as
list_transform(
    [
        string_split_regex(
            if(
                regexp_matches(text, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]'),
                regexp_replace(
                    if(regexp_matches(text, '[ςµſϐϵϑϰϖϱϕᲀ-ᲈẛ\x{345}\x{1FBE}]'), term_fold(text), lower(text)),
                    '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]+',
                    ' 中 ',
                    'g'
                ),
                if(regexp_matches(text, '[ςµſϐϵϑϰϖϱϕᲀ-ᲈẛ\x{345}\x{1FBE}]'), term_fold(text), lower(text))
            ),
            '[\p{P}\p{S}\p{Z}\p{C}]+'
        )
    ],
    lambda ws: list_distinct(
        case
            when list_contains(ws, '中')
                then list_concat(
                    list_filter(ws, lambda w: w <> '' and w <> '中'),
                    list_filter(
                        term_pairs(ws), lambda p: not (starts_with(p, ' ') or ends_with(p, ' ') or contains(p, '中'))
                    ),
                    regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]'),
                    flatten(
                        list_transform(
                            regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]{2,}'),
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
