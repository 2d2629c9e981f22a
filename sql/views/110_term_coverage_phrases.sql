-- term_coverage(term, grain), as 109_term_coverage_indexed.sql defines it (same matching, same result), with
-- phrases narrowed by the phrase signatures (sql/schema/004_phrase_signatures.sql) instead of by days: a phrase of
-- everyday words ('central bank' on the 1M-article benchmark) occurs on most days, so the day narrowing of 109
-- read every body; the signatures let ~6 % of the articles through (docs/benchmarks.md).
-- Usage: select * from term_coverage('central bank', 'week')
--
-- - One token (a word, or one or two Chinese/Japanese characters): answered from the term index term_daily.
-- - Several tokens: the candidates are the articles whose signature has every bit of the phrase's adjacent token
--   pairs (phrase_candidates); each candidate original is tested with a regular expression built from the term
--   (the words in order, separated by anything that is not a word character, case-insensitively) and the
--   survivors are tokenised and matched exactly. The candidates are a superset of the matches: no match is lost.
--   The exact match tokenises every body the regular expression lets through, so a phrase found in most
--   articles ('of the') costs what tokenising most of the warehouse costs: a minute on 1M articles.
-- noqa: disable=RF04
-- phrase_candidates(term): the articles (originals and copies) whose phrase signature has every bit of the term's
-- adjacent token pairs, i.e. every article that can contain the term as a phrase (and a few that cannot). A term
-- of one token has no pairs: every article is a candidate.
create or replace macro phrase_candidates(term) as table
    select sig.article_id
    from phrase_signatures as sig
    -- one test per bit of the term (the term is a constant, so its bits are computed once); a plain filter rather
    -- than a join with the term's bits, so DuckDB estimates the candidates below the articles table and builds
    -- its semi-join on them. list_bool_and of no bits is null: a term without pairs keeps every article.
    where coalesce(list_bool_and(list_transform(
        term_pair_bits(term_tokens(term)),
        lambda bit: (sig.pairs[cast(bit // 64 + 1 as bigint)] >> (bit % 64)) & 1 = 1
    )), true);

create or replace macro term_coverage(term, grain) as table
    with index_check as (
    -- term_daily holds DuckDB hashes of terms: refuse an index built by another hash() (see 003_term_index.sql)
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

    days as (
        select
            published_date,
            count(*) as all_articles
        from articles
        where duplicate_of is null
        group by published_date
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

    candidate_articles as (
        select candidates.article_id
        from phrase_candidates(term) as candidates
        where
            len(term_tokens(term)) > 1
            and (select index_check.valid from index_check)
    ),

    scanned as (
        -- the text tests (and the originals-only test, which would make DuckDB estimate the articles below the
        -- candidates and build the join on the articles) sit in the aggregate's filter clause, above the semi-join:
        -- only the candidates' rows are read and tested
        select
            published_date,
            count(*) filter (
                where
                duplicate_of is null
                -- a case, not an and: the exact token match runs only on the rows the regular expression lets through
                and case
                    when
                        regexp_matches(
                            coalesce(title, '') || chr(10) || body,
                            '(?i)' || array_to_string(
                                list_transform(
                                    range(1, len(term_words(term)) + 1),
                                    lambda i: case
                                        when i = 1 then ''
                                        when
                                            term_is_cjk(term_words(term)[i])
                                            or term_is_cjk(right(term_words(term)[i - 1], 1))
                                            then '[\p{P}\p{S}\p{Z}\p{C}]*'
                                        else '[\p{P}\p{S}\p{Z}\p{C}]+'
                                    end || replace(regexp_escape(term_words(term)[i]), 'i', '[iİ]')
                                ),
                                ''
                            )
                        )
                        then
                            contains(
                                ' ' || array_to_string(term_tokens(title), ' ') || ' ',
                                ' ' || array_to_string(term_tokens(term), ' ') || ' '
                            )
                            or contains(
                                ' ' || array_to_string(term_tokens(body), ' ') || ' ',
                                ' ' || array_to_string(term_tokens(term), ' ') || ' '
                            )
                    else false
                end
            ) as articles
        from articles
        where
            len(term_tokens(term)) > 1
            and article_id in (select candidate_articles.article_id from candidate_articles)
        group by published_date
    ),

    matched as (
        select * from indexed
        union all
        select * from scanned
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
        left join matched on days.published_date = matched.published_date
        group by period
    )

    select
        period,
        articles,
        all_articles,
        articles / all_articles as share
    from by_period
    order by period
