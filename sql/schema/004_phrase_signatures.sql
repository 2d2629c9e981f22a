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
    with listed as (
        select
            article_id,
            coalesce(title, '') || chr(10) || body as txt
        from articles
        -- a join, not list_contains: only the listed articles' bodies are read
        where article_id in (select unnest(ids))
    ),

    tokenised as (
        select
            article_id,
            term_tokens(txt) as tokens
        from listed
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

    per_article as (
        select
            article_id,
            list(word order by word) as word_numbers,
            list(mask order by word) as masks
        from words
        group by article_id
    )

    select
        listed.article_id,
        cast(
            case
                -- the usual case: every word has a bit
                when len(per_article.masks) = 64 then per_article.masks
                else list_transform(
                    range(64),
                    lambda i: coalesce(per_article.masks[list_position(per_article.word_numbers, i)], 0)
                )
            end as ubigint[64]
        ) as pairs
    from listed
    left join per_article on listed.article_id = per_article.article_id;

-- the backfill (and rebuild, when this file is applied again)
delete from phrase_signatures;

insert into phrase_signatures (article_id, pairs)
select
    article_id,
    pairs
from phrase_signature_rows((select list(article_id) from articles));
