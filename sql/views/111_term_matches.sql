-- term_coverage(term, grain) as 110_term_coverage_phrases.sql defines it (same matching, same result), now in two
-- parts: term_matches(term), the matching original articles per publication day, and term_coverage, which puts
-- them into periods next to all originals. A later change to how terms are found redefines term_matches only.
-- Usage: select * from term_coverage('central bank', 'week')
--
-- New here: a phrase of two or three tokens is answered from phrase_daily (sql/schema/005_phrase_daily.sql) on
-- every day where it is frequent, and only the other days' candidates are read. 'of the', in 63 % of the 1M
-- benchmark's articles, read most bodies through 110 (8.7 s).
-- - One token (a word, or one or two Chinese/Japanese characters): from the term index term_daily.
-- - Two or three tokens: from phrase_daily on the days where the phrase is frequent; on the others as below.
-- - Several tokens: the candidates of the phrase signatures (phrase_candidates, 112), each original's title and
--   body matched exactly (term_phrase_in, 110).
-- noqa: disable=RF04
create or replace macro term_matches(term) as table
    with index_check as (
    -- term_daily, phrase_daily and the signatures hold DuckDB hashes: refuse what another hash() built (003)
        select
            case
                when meta.hash_probe = term_index_probe() then true
                else error(
                    'term_coverage: term_daily was built by a DuckDB with another hash(): the next load or '
                    || 'newsflow.warehouse.rebuild_term_index rebuilds it'
                )
            end as valid
        from term_index_meta as meta
    ),

    indexed as (
        select
            idx.published_date,
            idx.articles
        from term_daily as idx
        where
            len(term_tokens(term)) = 1
            and idx.term_hash = term_key_hash(term_tokens(term)[1])
            and (select index_check.valid from index_check)
    ),

    frequent_gram as (
        select
            grams.published_date,
            grams.articles
        from phrase_daily as grams
        where
            len(term_tokens(term)) in (2, 3)
            and grams.gram_hash = term_gram_key(term_tokens(term))
            and (select index_check.valid from index_check)
    ),

    candidate_articles as (
        -- the signatures' candidates on the days phrase_daily does not answer, found from the articles' ids and
        -- days alone: left to the text scan below, the day test came after DuckDB had read the body of every
        -- candidate ('of the': 656,000 bodies, 2.4 s)
        select dated.article_id
        from articles as dated
        where
            len(term_tokens(term)) > 1
            and dated.article_id in (select candidates.article_id from phrase_candidates(term) as candidates)
            and dated.published_date not in (select frequent_gram.published_date from frequent_gram)
            and (select index_check.valid from index_check)
    ),

    scanned as (
        -- the text tests (and the originals-only test, which would make DuckDB estimate the articles below the
        -- candidates and build the join on the articles) sit in the aggregate's filter clause, above the join:
        -- only the candidates' rows are read and tested
        select
            published_date,
            count(*) filter (
                where
                duplicate_of is null
                -- one quick pass over the whole text first: most candidates do not have the words in order at all
                and case
                    when term_phrase_maybe_in(coalesce(title, '') || chr(10) || body, term)
                        then term_phrase_in(title, term) or term_phrase_in(body, term)
                    else false
                end
            ) as articles
        from articles
        where
            len(term_tokens(term)) > 1
            and article_id in (select candidate_articles.article_id from candidate_articles)
        group by published_date
    )

    select * from indexed
    union all
    select * from frequent_gram
    union all
    select * from scanned;

create or replace macro term_coverage(term, grain) as table
    with days as (
        select
            published_date,
            count(*) as all_articles
        from articles
        where duplicate_of is null
        group by published_date
    ),

    by_period as (
        select
            case grain
                when 'day' then days.published_date
                when 'week' then cast(date_trunc('week', days.published_date) as date)
                when 'month' then cast(date_trunc('month', days.published_date) as date)
                else error('term_coverage: grain must be day, week or month')
            end as period,
            cast(sum(coalesce(matched.articles, 0)) as bigint) as articles,
            cast(sum(days.all_articles) as bigint) as all_articles
        from days
        left join term_matches(term) as matched on days.published_date = matched.published_date
        group by period
    )

    select
        period,
        articles,
        all_articles,
        articles / all_articles as share
    from by_period
    order by period;
