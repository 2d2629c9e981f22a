-- Frequent phrases per day: for each publication day, the exact number of original articles (duplicate_of is
-- null) holding each of its frequent two- and three-token phrases, so that term_coverage
-- (sql/views/111_term_matches.sql) answers a phrase found in many articles ('of the', 'one of the', 'prime
-- minister') without reading their bodies: the phrase signatures (004) cannot skip an article that does contain
-- the phrase, and 'of the' read 63 % of the bodies of the 1M-article benchmark (8.7 s).
--
-- A gram is two or three adjacent tokens of term_tokens (sql/schema/003_term_index.sql, 004) of the title or of the
-- body, as term_coverage matches a phrase of that many tokens; it is keyed by the 64-bit hash(first, second) or
-- hash(first, second, third), the signatures' hashes. A day's gram is stored when at least
-- phrase_daily_min_articles(originals of the day) of its originals hold it; its count is then exact. A gram with no
-- row on a day is counted by term_coverage from the articles, as before: so a missing row is never wrong, only
-- slower, and the table only has to be exact for the rows it has and the days listed in phrase_daily_days.
--
-- Maintained outside the load's transaction: every load deletes the rows and the phrase_daily_days entry of each
-- day it changed (sql/loads/11_phrase_daily.sql, the same days as the term index), and then
-- newsflow.warehouse.refresh_phrase_daily recomputes the days missing from phrase_daily_days, a few days per
-- statement (a day of ~900 articles has ~600,000 distinct grams to count: all at once, three years of them would
-- not fit the 1 GB memory limit). A warehouse migrated to this version starts empty and is filled by the next
-- load or refresh; until then term_coverage reads bodies as it did. Built by hash(), like term_daily: guarded by
-- the same probe (term_index_meta), so a stale index is refused and rebuilt by the next load.
-- noqa: disable=RF04

create table if not exists phrase_daily (
    published_date date not null,
    gram_hash ubigint not null,
    articles integer not null
);

-- the days whose frequent grams are in phrase_daily and current (a day with no frequent gram has no rows, so the
-- rows alone cannot say whether a day was computed)
create table if not exists phrase_daily_days (
    published_date date not null primary key
);

-- the hashes of a token list's adjacent pairs and triples, as the signatures (004, 006) hash them. Pass a
-- column: the argument is substituted once per gram.
create or replace macro term_gram_hashes(tokens) as
list_concat(
    list_transform(range(1, len(tokens)), lambda i: hash(tokens[i], tokens[i + 1])),
    list_transform(range(1, len(tokens) - 1), lambda i: hash(tokens[i], tokens[i + 1], tokens[i + 2]))
);

-- the key of a phrase's tokens in phrase_daily; null for a phrase of any other length
create or replace macro term_gram_key(tokens) as
case len(tokens)
    when 2 then hash(tokens[1], tokens[2])
    when 3 then hash(tokens[1], tokens[2], tokens[3])
end;

-- a gram is frequent on a day when at least 2 % of the day's originals hold it (and at least 8 of them, so that
-- quiet days store few rows): scanning what is left of a phrase then reads at most ~2 % of the bodies, plus the
-- signatures' false positives
create or replace macro phrase_daily_min_articles(originals) as
greatest(8, ceil(originals * 0.02));

-- the frequent grams of the given days (a list of dates), straight from articles: the one definition used by
-- newsflow.warehouse.refresh_phrase_daily and the tests
create or replace macro phrase_daily_rows(days) as table
    with day_sizes as (
        select
            published_date,
            count(*) as originals
        from articles
        where
            duplicate_of is null
            and published_date in (select unnest(days))
        group by published_date
    ),

    tokenised as (
        select
            published_date,
            term_tokens(title) as title_tokens,
            term_tokens(body) as body_tokens
        from articles
        where
            duplicate_of is null
            -- a join, not list_contains: only these days' bodies are read
            and published_date in (select unnest(days))
    ),

    article_grams as (
        select
            published_date,
            -- each article once per gram, wherever and however often it holds it
            unnest(list_distinct(list_concat(term_gram_hashes(title_tokens), term_gram_hashes(body_tokens))))
                as gram_hash
        from tokenised
    ),

    counted as (
        select
            published_date,
            gram_hash,
            count(*) as articles
        from article_grams
        group by published_date, gram_hash
    )

    select
        counted.published_date,
        counted.gram_hash,
        cast(counted.articles as integer) as articles
    from counted
    inner join day_sizes on counted.published_date = day_sizes.published_date
    where counted.articles >= phrase_daily_min_articles(day_sizes.originals);
