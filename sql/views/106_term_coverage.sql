-- Superseded by 109_term_coverage_indexed.sql (whole words, answered from the term index), which replaces this
-- macro in every warehouse: 106 stays only because applied migrations are never edited away.
-- term_coverage(term, grain): per day, week (ISO, starting Monday) or month, how many articles mention term
-- (case-insensitively, anywhere in the title or the body), how many articles there are, and the share that
-- mention it. The term is trimmed and matched literally as a substring (no word boundaries). Matching is
-- the fastest measured on the 1,000,000-article benchmark (docs/benchmarks.md): an ASCII term goes through
-- RE2 with (?i) and the escaped term, any other term through ILIKE with its % _ and backslash escaped (RE2's
-- Unicode case folding is slow, ILIKE lower-cases every script). Originals only, as in coverage_daily.
-- Every period with at least one article appears, with 0 when no article matches.
-- Usage: select * from term_coverage('earthquake', 'week')
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
            case
                when strlen(trim(term)) = length(trim(term))
                    then
                        regexp_matches(coalesce(title, ''), '(?i)' || regexp_escape(trim(term)))
                        or regexp_matches(body, '(?i)' || regexp_escape(trim(term)))
                else
                    coalesce(title, '') ilike '%' || replace(
                        replace(replace(trim(term), '\', '\\'), '%', '\%'), '_', '\_'
                    ) || '%' escape '\'
                    or body ilike '%' || replace(
                        replace(replace(trim(term), '\', '\\'), '%', '\%'), '_', '\_'
                    ) || '%' escape '\'
            end as mentions
        from articles
        where duplicate_of is null
    ),

    counted as (
        select
            period,
            count(*) filter (where mentions) as articles,
            count(*) as all_articles
        from originals
        group by period
    )

    select
        period,
        articles,
        all_articles,
        articles / all_articles as share
    from counted
    order by period
