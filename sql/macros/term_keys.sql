-- term_keys(term): terms of article_terms (term_tokens) that every article holding the term holds, the fewest that
-- narrow it well:
-- - each pair of adjacent words without Han, Hiragana or Katakana characters (term_pairs: 'central bank'), the long
--   vowel mark ー/ｰ counted as one of them (as everywhere term_coverage looks for Chinese and Japanese);
-- - for a word with such characters, each pair of adjacent ones (a lone one: itself): '政府部长' -> 政府, 府部, 部长;
-- - the words without such characters, when the term has no pair of them: 'earthquake', or 'Iran' in 'Iran 政府'.
-- A word with Thai, Lao, Khmer or Myanmar characters gives none, nor its pairs: the term table holds a run of them
-- as one word with whatever is written against it ('ผู้ว่าราชการกรุงเทพมหานคร'), not the words inside it; such a term
-- is answered by reading every body (term_read_all). Empty for a term without words (it matches nothing), or with
-- no word but such ones.
create or replace macro term_keys(term) as
list_transform(
    [term_words(term)],
    lambda ws: list_transform(
        [
            list_filter(
                term_pairs(ws),
                lambda p: not regexp_matches(
                    p, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]'
                )
            )
        ],
        lambda pairs: list_distinct(
            list_concat(
                pairs,
                flatten(
                    list_transform(
                        flatten(
                            list_transform(ws, lambda w: regexp_extract_all(w, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]+'))
                        ),
                        lambda run: if(
                            length(run) = 1, [run], list_transform(range(1, length(run)), lambda i: substr(run, i, 2))
                        )
                    )
                ),
                if(
                    len(pairs) = 0,
                    list_filter(
                        ws,
                        lambda w: not regexp_matches(
                            w, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]'
                        )
                    ),
                    []
                )
            )
        )
    )[1]
)[1];
