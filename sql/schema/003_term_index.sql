-- The term index behind term_coverage (sql/views/109_term_coverage_indexed.sql): per publication day and term,
-- how many original articles (duplicate_of is null) mention the term in their title or body, each article
-- counted once. A term is stored as its 64-bit DuckDB hash (term_key_hash): an equality scan over ubigints is
-- ~8x faster than over the words and the rows are smaller; 64 bits make a collision among a few million
-- distinct terms a ~1e-7 event. hash() is not guaranteed stable across DuckDB releases, so term_index_meta keeps
-- the hash of a fixed probe string: term_coverage refuses to answer from an index built by another hash, and the
-- next load rebuilds it. Maintained by every load (sql/loads/02_term_index_before.sql and 09_term_index.sql: the
-- days a run touched are deleted and recomputed from articles), backfilled here for a warehouse that already has
-- articles. Rows exist only for counts > 0, one row per (published_date, term) by construction (no primary key:
-- an ART index over tens of millions of rows would cost more memory and load time than it is worth).
--
-- Tokenisation lives here and only here, shared by the index build and the query side:
--   term_words(txt)   lower-cased words (Greek final sigma folded to sigma), split on anything that is not a
--                     letter, mark or number. A zero-width non-joiner (U+200C) between letters stays inside the
--                     word (Persian "می‌شود" is one word). Han, Hiragana and Katakana runs (scripts written
--                     without spaces) are separate words of their own, even when glued to Latin letters.
--   term_tokens(txt)  the ordered tokens a phrase is matched on: words as they are, a CJK run as its overlapping
--                     character bigrams (a 1-character run as itself).
--   term_keys(txt)    the distinct index keys of a text: its words, and for every CJK run each character and each
--                     bigram, so a 1- or 2-character CJK term is answered from the index.
-- Changing any of these means a new migration that redefines them and rebuilds term_daily (as the backfill here).
-- noqa: disable=RF04

create table if not exists term_daily (
    published_date date not null,
    term_hash ubigint not null,
    articles integer not null
);

create table if not exists term_index_meta (
    hash_probe ubigint not null
);

create or replace macro term_key_hash(term_key) as hash(term_key);

create or replace macro term_index_probe() as term_key_hash('newsflow term index');

create or replace macro term_words(txt) as
regexp_extract_all(
    replace(lower(coalesce(txt, '')), 'ς', 'σ'),
    '[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]+'
    || '|[^\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]+'
    || '(?:\x{200C}+[^\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]+)*'
);

-- a word from term_words is all CJK or has no CJK at all: its first character decides (U+2E80 is where the CJK
-- blocks start, so most words never reach the regular expression)
create or replace macro term_is_cjk(word) as
unicode(word) >= 11904 and regexp_matches(word, '^[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]');

create or replace macro term_tokens(txt) as
flatten(list_transform(
    term_words(txt),
    lambda word: case
        when length(word) = 1 or not term_is_cjk(word) then [word]
        else list_transform(range(1, length(word)), lambda i: substr(word, i, 2))
    end
));

-- most texts have no Chinese or Japanese at all (an ASCII text cannot): their keys are just their distinct words,
-- without the per-word test, which saves ~15% of the index build
create or replace macro term_keys(txt) as
list_distinct(
    case
        when
            strlen(coalesce(txt, '')) = length(coalesce(txt, ''))
            or not regexp_matches(coalesce(txt, ''), '[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]')
            then term_words(txt)
        else flatten(list_transform(
            term_words(txt),
            lambda word: case
                when not term_is_cjk(word) then [word]
                else list_concat(
                    list_transform(range(1, length(word) + 1), lambda i: substr(word, i, 1)),
                    list_transform(range(1, length(word)), lambda i: substr(word, i, 2))
                )
            end
        ))
    end
);

-- index rows of the given days (a list of dates), straight from articles: the one definition used by this
-- backfill, by every load and by bench/synthetic_warehouse.py
create or replace macro term_daily_rows(days) as table
    with keyed as (
        select
            published_date,
            unnest(term_keys(coalesce(title, '') || chr(10) || body)) as term
        from articles
        where
            duplicate_of is null
            -- a join, not list_contains: DuckDB then filters the articles scan by these days and reads only
            -- their bodies (list_contains would read every body in the warehouse)
            and published_date in (select unnest(days))
    )

    select
        published_date,
        term_key_hash(term) as term_hash,
        cast(count(*) as integer) as articles
    from keyed
    group by published_date, term_key_hash(term);

-- backfill (and rebuild, when this file is applied again), clustered by term_hash: the scan for one term then
-- skips almost every row group (min/max per row group) and sorted hashes compress ~3x better
delete from term_daily;

insert into term_daily (published_date, term_hash, articles)
select
    published_date,
    term_hash,
    articles
from term_daily_rows((select list(distinct published_date) from articles))
order by term_hash, published_date;

delete from term_index_meta;

insert into term_index_meta (hash_probe) values (term_index_probe());
