-- phrase_candidates(term) as 110_term_coverage_phrases.sql defines it, now also testing the term's adjacent token
-- triples against the triples filter (sql/schema/006_phrase_signature_triples.sql): a phrase of three or more
-- words whose pairs are frequent ('of the government') let ~11 % of the 1M benchmark's articles through on its
-- pairs alone. The candidates are still a superset of the articles that contain the phrase: no match is lost.
-- term_matches and term_coverage (111) call it by name, so they pick this definition up as they are.
-- noqa: disable=RF04
create or replace macro phrase_candidates(term) as table
    select sig.article_id
    from phrase_signatures as sig
    -- plain filters with constant bits, as in 110, so DuckDB estimates the candidates below the articles table
    -- and builds its semi-join on them. list_bool_and of no bits is null: a term of one token keeps every
    -- article, of two tokens has no triples to test.
    where
        coalesce(list_bool_and(list_transform(
            term_pair_bits(term_tokens(term)),
            lambda bit: (sig.pairs[cast(bit // 64 + 1 as bigint)] >> (bit % 64)) & 1 = 1
        )), true)
        and coalesce(list_bool_and(list_transform(
            term_triple_bits(term_tokens(term)),
            lambda bit: (sig.triples[cast(bit // 64 + 1 as bigint)] >> (bit % 64)) & 1 = 1
        )), true);
