-- term_keys(term): the terms of article_terms (term_tokens) that every article holding the term holds:
-- - one word without Han, Hiragana or Katakana characters, or one or two such characters: the word itself;
-- - a phrase whose words have no such characters: the distinct pairs of adjacent words (term_pairs);
-- - anything else (a longer Chinese or Japanese word, a phrase with one): none, and term_coverage reads every body.
create or replace macro term_keys(term) as
list_transform(
    [term_words(term)],
    lambda ws: case
        when
            len(ws) = 1
            and (
                not regexp_matches(ws[1], '[\p{Han}\p{Hiragana}\p{Katakana}]')
                or regexp_full_match(ws[1], '[\p{Han}\p{Hiragana}\p{Katakana}]{1,2}')
            )
            then ws
        when
            len(ws) > 1
            and not list_bool_or(list_transform(ws, lambda w: regexp_matches(w, '[\p{Han}\p{Hiragana}\p{Katakana}]')))
            then list_distinct(term_pairs(ws))
        else []
    end
)[1];
