-- Phrase signatures: per article, a 4,096-bit Bloom filter of its adjacent token pairs, so that term_coverage
-- (sql/views/110_term_coverage_phrases.sql) reads only the bodies of articles that can contain a phrase. Without it
-- a phrase of everyday words ('central bank') has to read every body in the warehouse: on 1M articles, 1.7 s.
--
-- A text's pairs are those of term_tokens (sql/schema/003_term_index.sql) over its title, a line break and its body:
-- every adjacent token pair a phrase match can use, plus one harmless extra across the title/body boundary. Each
-- pair sets 2 bits, from the low 12 and the next 12 bits of its 64-bit hash. An article whose signature lacks any
-- of a phrase's bits cannot contain the phrase, so skipping it never loses a match; a signature that has them all
-- only makes the article a candidate, which term_coverage then matches exactly. With ~600 tokens per article
-- (the 1M benchmark warehouse) ~24 % of the bits are set and a 2-word phrase lets ~6 % of articles through.
--
-- Stored as ubigint[64], one row per article (originals and copies alike: a row depends only on the text, so
-- re-linking duplicates never touches it): checking a few words of a fixed-size array over 1M rows takes ~0.1 s,
-- against ~0.4 s for get_bit on a BIT column. Built with the same hash() as term_daily and guarded by the same
-- probe (term_index_meta): term_coverage refuses a stale index, and the next load rebuilds both.
-- Maintained by every load (sql/loads/10_phrase_signatures.sql), backfilled here.
-- noqa: disable=RF04

create table if not exists phrase_signatures (
    article_id varchar not null,
    pairs ubigint[64] not null
);

-- same tokens as 003's term_tokens, faster: a text with no Chinese or Japanese (most texts; an ASCII text cannot
-- have any) skips the per-word script test. Tokenising is most of what building a signature costs.
create or replace macro term_tokens(txt) as
case
    when
        strlen(coalesce(txt, '')) = length(coalesce(txt, ''))
        or not regexp_matches(coalesce(txt, ''), '[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]')
        then term_words(txt)
    else flatten(list_transform(
        term_words(txt),
        lambda word: case
            when length(word) = 1 or not term_is_cjk(word) then [word]
            else list_transform(range(1, length(word)), lambda i: substr(word, i, 2))
        end
    ))
end;

-- the signature bits (0-4095) of a token list: two per adjacent pair. Pass a column, not an expression such as
-- term_tokens(txt): a macro argument is substituted wherever it appears, here once per pair, which would tokenise
-- the text again for every pair.
create or replace macro term_pair_bits(tokens) as
flatten(list_transform(
    list_transform(range(1, len(tokens)), lambda i: hash(tokens[i], tokens[i + 1])),
    lambda pair_hash: [pair_hash % 4096, (pair_hash >> 12) % 4096]
));

-- signature rows of the given articles (a list of article ids): the one definition used by this backfill, by
-- every load and by bench/synthetic_warehouse.py. Every listed article gets a row, all zeros if it has no pairs.
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
        select
            article_id,
            unnest(term_pair_bits(tokens)) as bit
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

    -- one column per signature word: a pivot aggregates fixed-size values, which DuckDB can spill to disk, where a
    -- list() per article could not (the 1M-article backfill ran out of memory at the 1 GB cap with list())
    per_article as (
        pivot words
        on word in (
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
            32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
            48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
        )
        using max(mask)
        group by article_id
    )

    select
        listed.listed_id as article_id,
        cast(
            list_transform(
                [*columns(lambda col: col != 'article_id' and col != 'listed_id')],
                lambda word_mask: coalesce(word_mask, 0)
            ) as ubigint[64]
        ) as pairs
    -- the texts are read once, above: a CTE used twice would be materialised with every text in it
    from (
        select articles.article_id as listed_id
        from articles
        where articles.article_id in (select unnest(ids))
    ) as listed
    left join per_article on listed.listed_id = per_article.article_id;

-- the backfill (and rebuild, when this file is applied again)
delete from phrase_signatures;

insert into phrase_signatures (article_id, pairs)
select
    article_id,
    pairs
from phrase_signature_rows((select list(article_id) from articles));
