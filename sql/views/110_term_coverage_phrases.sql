-- term_coverage(term, grain), as 109_term_coverage_indexed.sql defines it (same matching, same result), with
-- phrases narrowed by the phrase signatures (sql/schema/004_phrase_signatures.sql) instead of by days: a phrase of
-- everyday words ('central bank' on the 1M-article benchmark) occurs on most days, so the day narrowing of 109
-- read every body; the signatures let ~6 % of the articles through (docs/benchmarks.md).
-- Usage: select * from term_coverage('central bank', 'week')
--
-- - One token (a word, or one or two Chinese/Japanese characters): answered from the term index term_daily.
-- - Several tokens: the candidates are the articles whose signature has every bit of the phrase's adjacent token
--   pairs (phrase_candidates); each candidate original's title and body are matched exactly (term_phrase_in),
--   with regular expressions first so that few texts are tokenised whole. The candidates are a superset of the
--   matches: no match is lost.
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

-- The text tests behind a phrase, all on one text (the title or the body: a phrase does not run from one into the
-- other). The exact test is term_tokens(text) holding term_tokens(term) in a row; tokenising a whole body costs
-- ~0.15 ms, too much for every article of a phrase found in many ('prime minister'), so cheaper regular
-- expressions decide first:
-- - term_phrase_pattern(term), for a phrase without Chinese or Japanese words: its words in order,
--   case-insensitively, separated by separators, with a separator, a Chinese/Japanese character (a word of its
--   own) or the start before the first and after the last. Every exact match matches it. Its first match is
--   taken as it stands: when it holds no ZWNJ (which joins words, so a neighbouring letter could glue on), its
--   boundaries are the text's token boundaries and tokenising it alone settles the text. Otherwise, or when the
--   match is not an exact one (a case folding that RE2 and lower() do not share, as the long s 'ſ' folding to
--   's'), the whole text is tokenised. (Unicode classes are kept positive: a negated one costs RE2 ~7 ms to
--   compile, every query.)
-- - term_phrase_loose_pattern(term), for every phrase first: the words in order, case-insensitively, separated by
--   separators or by nothing. A phrase with Chinese or Japanese is then tokenised.
create or replace macro term_phrase_pattern(term) as
'(?:^|[\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}])'
|| array_to_string(
    list_transform(term_words(term), lambda word: '(?i:' || replace(regexp_escape(word), 'i', '[iİ]') || ')'),
    '[\p{P}\p{S}\p{Z}\p{C}]+'
)
|| '(?:$|[\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}])';

create or replace macro term_phrase_loose_pattern(term) as
'(?i)' || array_to_string(
    list_transform(term_words(term), lambda word: replace(regexp_escape(word), 'i', '[iİ]')),
    '[\p{P}\p{S}\p{Z}\p{C}]*'
);

-- the same words as an ilike pattern (anything between them): RE2 cannot search quickly for a case-insensitive
-- word with non-ASCII cased letters, ilike can (0.97 s against 0.77 s for a Cyrillic phrase on 1M articles).
-- σ becomes _ because the text's final ς is folded only by term_words.
create or replace macro term_phrase_like_pattern(term) as
'%' || array_to_string(
    list_transform(
        term_words(term),
        lambda word: replace(replace(replace(replace(word, '\', '\\'), '%', '\%'), '_', '\_'), 'σ', '_')
    ),
    '%'
) || '%';

-- whether txt can hold the phrase at all: the words in order, whatever is between them
create or replace macro term_phrase_maybe_in(txt, term) as
case
    -- ilike only for a term with cased letters outside ASCII (Cyrillic, Greek...): for ASCII, Chinese or Arabic
    -- the regular expression is the quicker (0.4 s against 0.8 s for a Chinese phrase)
    when
        lower(regexp_replace(term, '[\x00-\x7F]+', '', 'g')) = upper(regexp_replace(term, '[\x00-\x7F]+', '', 'g'))
        then regexp_matches(txt, term_phrase_loose_pattern(term))
    else txt ilike term_phrase_like_pattern(term) escape '\'
end;

-- txt holds term as a phrase (whole tokens, in order, next to each other); txt is a column, term a constant.
-- Cases, not ands: each test runs only on the rows the cheaper one before it let through. A phrase without Chinese
-- or Japanese is matched on words (term_words), which for it is the same as on tokens and saves the CJK step.
-- Only columns, the term and expressions that macro uses once go into another macro's argument: an argument is
-- copied wherever the macro uses it (term_tokens uses its own five times), and nesting expressions that way made
-- DuckDB spend 0.2 s planning each use.
create or replace macro term_phrase_in(txt, term) as
case
    when txt is null then false
    -- the loose pattern starts with the first word, which RE2 searches for quickly; the strict one starts with a
    -- class and has to run over every character: measured 0.5 s against 1.9 s for 'central bank' on 1M articles
    when not term_phrase_maybe_in(txt, term) then false
    when regexp_matches(term, '[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}]')
        then contains(
            ' ' || array_to_string(term_tokens(txt), ' ') || ' ',
            ' ' || array_to_string(term_tokens(term), ' ') || ' '
        )
    -- a yes/no match runs on RE2's fast automaton; finding where the match is costs several times more
    when not regexp_matches(txt, term_phrase_pattern(term)) then false
    -- the first match settles the text when it holds no ZWNJ and is an exact match
    when
        not contains(regexp_extract(txt, term_phrase_pattern(term)), chr(8204))
        and contains(
            ' ' || array_to_string(term_words(regexp_extract(txt, term_phrase_pattern(term))), ' ') || ' ',
            ' ' || array_to_string(term_words(term), ' ') || ' '
        )
        then true
    else contains(
        ' ' || array_to_string(term_words(txt), ' ') || ' ',
        ' ' || array_to_string(term_words(term), ' ') || ' '
    )
end;

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
