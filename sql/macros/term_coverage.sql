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
-- How: the bodies are read (no index to keep): the term's longest word (term_probe), as a case-insensitive
-- literal, picks the candidates, and only those go through the regular expression (term_pattern;
-- docs/benchmarks.md).
-- noqa: disable=RF04
create or replace macro term_coverage(term, grain) as table
    with originals as (
        select
            case grain
                when 'day' then published_date
                when 'week' then cast(date_trunc('week', published_date) as date)
                when 'month' then cast(date_trunc('month', published_date) as date)
                else error('term_coverage: grain must be day, week or month')
            end as period,
            title,
            body
        from articles
        where duplicate_of is null
    ),

    tested as (
        select
            period,
            -- the longest word as a case-insensitive literal first: RE2 finds it about as fast as the bodies are
            -- read, and lower() or joining title and body would copy every body once more
            coalesce(
                case
                    when regexp_matches(body, '(?i)' || regexp_escape(term_probe(term)))
                        then regexp_matches(body, term_pattern(term))
                end,
                false
            )
            or coalesce(regexp_matches(title, term_pattern(term)), false) as mentions
        from originals
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
