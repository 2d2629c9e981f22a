-- term_coverage(term, grain): per day, week (ISO, starting Monday) or month, how many original articles
-- (duplicate_of is null, as in coverage_daily) mention term in their title or body, how many original articles
-- there are, and the share that mention it. Every period with at least one article appears, with 0 when no
-- article matches. Usage: select * from term_coverage('earthquake', 'week')
--
-- Matching is by whole words, as attention-over-time tools (Media Cloud) count: the term and the texts are cut
-- into tokens by term_tokens (sql/schema/003_term_index.sql: lower case in every script, split on anything that
-- is not a letter, mark or number, Persian ZWNJ kept inside words, Chinese and Japanese as character bigrams),
-- and an article matches when the term's tokens occur in it in order, next to each other. So 'Iran' does not
-- match 'Iranian' (but matches "Iran's"), 'strike' does not match 'strikes', and punctuation or case in the term
-- do not matter ('al-Qaeda' = 'al qaeda'). A term without any letter or digit matches nothing.
-- - One token (a word, or one or two Chinese/Japanese characters): answered from the term index term_daily.
-- - Several tokens (a phrase, or three or more Chinese/Japanese characters): only days on which every token
--   occurs in some original can have a match (from term_daily); on those days each original is first tested with
--   a regular expression built from the term (a permissive test: the words in order, separated by anything that
--   is not a word character, case-insensitively) and the survivors are tokenised and matched exactly.
-- noqa: disable=RF04
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

    phrase_tokens as (
        select unnest(list_distinct(term_tokens(term))) as token
    ),

    phrase_hashes as (
        select term_key_hash(phrase_tokens.token) as token_hash
        from phrase_tokens
    ),

    candidate_days as (
        select idx.published_date
        from term_daily as idx
        where
            len(term_tokens(term)) > 1
            and idx.term_hash in (select phrase_hashes.token_hash from phrase_hashes)
            and (select index_check.valid from index_check)
        group by idx.published_date
        having count(*) = (select count(*) from phrase_tokens)
        -- never binding (a day per row), but it caps DuckDB's size estimate below the articles table's, so the
        -- candidate days become the build side of the join and their values filter the articles scan itself
        order by idx.published_date
        limit 100000
    ),

    scanned as (
        -- the text tests sit in the aggregate's filter clause, so DuckDB cannot push them below the day filter:
        -- only the candidate days' originals are read and tested (as plain where-conditions DuckDB would run them
        -- on every article first, reading every body)
        select
            published_date,
            count(*) filter (
                where
                -- a case, not an and: the exact token match runs only on the rows the regular expression lets through
                case
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
            and duplicate_of is null
            and published_date in (select candidate_days.published_date from candidate_days)
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
