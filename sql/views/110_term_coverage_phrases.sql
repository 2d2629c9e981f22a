-- term_coverage(term, grain), as 109_term_coverage_indexed.sql defines it (same matching, same result), with
-- phrases narrowed to the articles whose phrase signature (sql/schema/004_phrase_signatures.sql) has every bit of
-- the phrase's adjacent token pairs. A phrase of everyday words ('central bank' on the 1M-article benchmark) then
-- reads the bodies of ~6 % of the originals instead of all of them (docs/benchmarks.md).
-- Usage: select * from term_coverage('central bank', 'week')
--
-- - One token (a word, or one or two Chinese/Japanese characters): answered from the term index term_daily.
-- - Several tokens: the candidates are the originals on days where every token occurs (term_daily) whose
--   signature has the phrase's bits; each candidate is tested with a regular expression built from the term (the
--   words in order, separated by anything that is not a word character, case-insensitively) and the survivors
--   are tokenised and matched exactly. Both narrowings are supersets of the matches, so no match is lost.
-- noqa: disable=RF04
-- phrase_candidates(term): the articles (originals and copies) whose phrase signature has every bit of the term's
-- adjacent token pairs, i.e. every article that can contain the term as a phrase (and a few that cannot). A term
-- of one token has no pairs: every article is a candidate.
create or replace macro phrase_candidates(term) as table
    with phrase_words as (
        -- the 64-bit words of the signature the phrase needs (1-based), with the bits each must have
        select
            cast(bit // 64 + 1 as bigint) as word,
            bit_or(cast(1 as ubigint) << (bit % 64)) as mask
        from (
            select unnest(term_pair_bits(phrase.tokens)) as bit
            from (select term_tokens(term) as tokens) as phrase
        ) as phrase_bits
        group by word
    ),

    needed as (
        select coalesce(list({ 'word': phrase_words.word, 'mask': phrase_words.mask }), []) as words
        from phrase_words
    )

    select sig.article_id
    from phrase_signatures as sig
    -- list_bool_and of no words is null: a term without pairs keeps every article
    where coalesce(list_bool_and(list_transform(
        (select needed.words from needed),
        lambda need: sig.pairs[need.word] & need.mask = need.mask
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

    candidate_articles as (
        select candidates.article_id
        from phrase_candidates(term) as candidates
        where len(term_tokens(term)) > 1
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
