-- Phrase signatures, second part: per article, a 4,096-bit Bloom filter of its adjacent token **triples**
-- (column triples), next to the pairs of 004. A phrase of three or more words whose pairs are both frequent
-- ('of the government': 'of the' is in 63 % of the 1M benchmark's articles, 'the government' in ~15 %) had
-- ~11 % of the articles as candidates by its pairs alone, because the pairs really do occur in those articles,
-- just not together; their triples tell them apart (sql/views/112_phrase_candidates_triples.sql).
--
-- Triples are those of the same token sequence as the pairs (term_tokens of title, line break, body), each
-- setting 2 bits from its 64-bit hash(first, second, third) as a pair does from hash(first, second). The two
-- filters are separate so each keeps the pairs' false-positive rate (~6 % per gram with ~600 tokens an article).
--
-- A null triples means "not computed yet": such an article stays a candidate for every phrase of three tokens
-- or more (phrase_candidates treats the unknown as a match), so it is never wrong, only slower. This migration
-- adds the column, null for every existing row; newsflow.warehouse.refresh_phrase_signatures then recomputes
-- those rows (pairs and triples, from one tokenising) a few hundred articles per statement, after the next load or
-- rebuild: one statement for a whole 1M-article warehouse ran out of memory at the 1 GB limit. Loads mark the
-- articles they (re)write unknown (sql/loads/10_phrase_signatures.sql) and the same refresh computes them once
-- the load has committed.
-- noqa: disable=RF04

alter table phrase_signatures add column if not exists triples ubigint[64];

-- the signature bits (0-4095) of a list of pair or triple hashes: the low 12 bits of each, then the next 12 bits of
-- each. Two flat lists rather than a two-element list per hash: DuckDB materialises every list of a batch of
-- articles at once, and ~600 small lists an article cost more memory than the bits themselves.
create or replace macro term_hash_bits(gram_hashes) as
list_concat(
    list_transform(gram_hashes, lambda gram_hash: gram_hash % 4096),
    list_transform(gram_hashes, lambda gram_hash: (gram_hash >> 12) % 4096)
);

-- the same bits as 004's term_pair_bits (in another order, which no reader depends on: they are set or tested as a
-- set), and their counterpart for the adjacent triples. Pass a column, as for 004's.
create or replace macro term_pair_bits(tokens) as
term_hash_bits(list_transform(range(1, len(tokens)), lambda i: hash(tokens[i], tokens[i + 1])));

create or replace macro term_triple_bits(tokens) as
term_hash_bits(list_transform(range(1, len(tokens) - 1), lambda i: hash(tokens[i], tokens[i + 1], tokens[i + 2])));

-- signature rows of the given articles (a list of article ids), both filters from one tokenising: the one
-- definition used by this backfill, by every load and by bench/synthetic_warehouse.py. Every listed article gets
-- a row, all zeros where it has no pairs or triples.
create or replace macro phrase_signature_rows(ids) as table
    with tokenised as (
        select
            article_id,
            term_tokens(coalesce(title, '') || chr(10) || body) as tokens
        from articles
        -- a join, not list_contains: only the listed articles' bodies are read
        where article_id in (select unnest(ids))
    ),

    bits as (
        -- pairs' bits as 0-4095, triples' as 4096-8191: one fold below builds both filters
        select
            article_id,
            unnest(list_concat(
                term_pair_bits(tokens),
                list_transform(term_triple_bits(tokens), lambda bit: bit + 4096)
            )) as bit
        from tokenised
    ),

    words as (
        select
            article_id,
            cast(bit // 64 as integer) as word,
            bit_or(cast(1 as ubigint) << (bit % 64)) as mask
        from bits
        group by article_id, word
    ),

    -- one column per signature word, as in 004: a pivot aggregates fixed-size values, which DuckDB can spill
    per_article as (
        pivot words
        on word in (
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
            32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
            48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
            64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
            80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
            96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
            112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127
        )
        using max(mask)
        group by article_id
    )

    select
        listed.listed_id as article_id,
        cast(
            list_transform(
                [*columns(lambda col: coalesce(try_cast(col as integer) < 64, false))],
                lambda word_mask: coalesce(word_mask, 0)
            ) as ubigint[64]
        ) as pairs,
        cast(
            list_transform(
                [*columns(lambda col: coalesce(try_cast(col as integer) >= 64, false))],
                lambda word_mask: coalesce(word_mask, 0)
            ) as ubigint[64]
        ) as triples
    -- the texts are read once, above: a CTE used twice would be materialised with every text in it
    from (
        select articles.article_id as listed_id
        from articles
        where articles.article_id in (select unnest(ids))
    ) as listed
    left join per_article on listed.listed_id = per_article.article_id;

-- the row of an article whose signature is not known (built by another DuckDB's hash(), or by a rebuild not yet
-- refreshed): every pair bit set and no triples, so it is a candidate for every phrase until it is recomputed
create or replace macro phrase_signature_unknown() as
cast(list_transform(range(64), lambda word: cast(18446744073709551615 as ubigint)) as ubigint[64]);
