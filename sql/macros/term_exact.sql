-- term_exact(term): whether article_terms alone answers the term (its keys, term_keys, say it all): one word or two
-- without Han, Hiragana or Katakana characters (or the long vowel mark ー/ｰ, which Japanese writes among them), or
-- one word of one or two such characters only. Any other term's keys may all occur apart (a longer phrase, a
-- longer Chinese word), so its candidates are confirmed in their bodies. Nor a term with Thai, Lao, Khmer or
-- Myanmar characters: the term table holds a run of them as one word, not the words inside it (term_read_all).
-- A constant for a constant term, so the branches of term_coverage that do not apply are dropped when the query is
-- planned, before any file is read.
create or replace macro term_exact(term) as
list_transform(
    [term_words(term)],
    lambda ws: (
        len(ws) between 1 and 2
        and not list_bool_or(
            list_transform(
                ws,
                lambda w: regexp_matches(
                    w, '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]'
                )
            )
        )
    )
    or (len(ws) = 1 and regexp_full_match(ws[1], '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]{1,2}'))
)[1];
