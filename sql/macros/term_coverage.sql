-- term_coverage(term, grain): per day, week (ISO, starting Monday) or month, how many original articles
-- (duplicate_of is null, as in coverage_daily) mention term in their title or body, how many original articles
-- there are, and the share that mention it. Every period with at least one article appears, with 0 when no
-- article matches. Usage: select * from term_coverage('earthquake', 'week')
--
-- Matching is by whole words, case-insensitively in every script: the term is cut into words (runs of anything
-- that is not punctuation, a symbol, a space or a control character), and an article matches when the words
-- occur in it in order, separated only by such characters. So 'Iran' does not match 'Iranian' (but matches
-- "Iran's"), 'strike' does not match 'strikes', and 'al-Qaeda' matches 'al Qaeda'. Chinese and Japanese are
-- written without spaces: next to a Han, Hiragana or Katakana character no boundary is required, so '政府'
-- matches inside '政府部长'. A term without any word character matches nothing.
-- How: the bodies are read (no index to keep): a plain substring test of the term's longest word, lower-cased,
-- picks the candidates, and only those go through the regular expression (docs/benchmarks.md).
-- noqa: disable=RF04
create or replace macro term_coverage(term, grain) as table
    with term_words as (
        select regexp_extract_all(lower(trim(term)), '[^\p{P}\p{S}\p{Z}\p{C}]+') as words
    ),

    longest as (
        -- the longest word: the rarest substring, the cheapest first test
        select word
        from (select unnest(words) as word from term_words) as term_word
        order by length(word) desc, word
        limit 1
    ),

    search as (
        select
            (select longest.word from longest) as longest,
            '(?i)'
            || if(regexp_matches(words[1], '^[\p{Han}\p{Hiragana}\p{Katakana}]'), '', '(?:^|[\p{P}\p{S}\p{Z}\p{C}])')
            || array_to_string(
                list_transform(
                    range(1, len(words) + 1),
                    lambda i: case
                        when i = 1 then ''
                        when
                            regexp_matches(words[i - 1], '[\p{Han}\p{Hiragana}\p{Katakana}]$')
                            and regexp_matches(words[i], '^[\p{Han}\p{Hiragana}\p{Katakana}]')
                            then '[\p{P}\p{S}\p{Z}\p{C}]*'
                        else '[\p{P}\p{S}\p{Z}\p{C}]+'
                    end || regexp_escape(words[i])
                ),
                ''
            )
            || if(regexp_matches(words[-1], '[\p{Han}\p{Hiragana}\p{Katakana}]$'), '', '(?:$|[\p{P}\p{S}\p{Z}\p{C}])')
                as pattern
        from term_words
        where len(words) > 0
    ),

    originals as (
        select
            case grain
                when 'day' then published_date
                when 'week' then cast(date_trunc('week', published_date) as date)
                when 'month' then cast(date_trunc('month', published_date) as date)
                else error('term_coverage: grain must be day, week or month')
            end as period,
            coalesce(title, '') || chr(10) || body as text
        from articles
        where duplicate_of is null
    ),

    tested as (
        select
            originals.period,
            coalesce(
                case
                    when contains(lower(originals.text), search.longest)
                        then regexp_matches(originals.text, search.pattern)
                    else false
                end,
                false
            ) as mentions
        from originals
        left join search on true
    ),

    counted as (
        select
            period,
            count(*) filter (where mentions) as articles,
            count(*) as all_articles
        from tested
        group by period
    )

    select
        period,
        articles,
        all_articles,
        articles / all_articles as share
    from counted
    order by period
