-- term_coverage(term, grain): per day, week (ISO, starting Monday) or month, how many original articles
-- (duplicate_of is null, as in coverage_daily) mention term in their title or body, how many original articles
-- there are, and the share that mention it. Every period with at least one article appears, with 0 when no
-- article matches. Usage: select * from term_coverage('earthquake', 'week')
--
-- Matching is by whole words, case-insensitively in every script: the term (brought to NFC) is cut into words (runs
-- of anything that is not punctuation, a symbol, a space or a control character), and an article matches when the
-- words occur in it in order, separated only by such characters. So 'Iran' does not match 'Iranian' (but matches
-- "Iran's"), 'strike' does not match 'strikes', and 'al-Qaeda' matches 'al Qaeda'. Letters fold as lower() and
-- Unicode's simple case folding put them together (term_fold): 'İstanbul' matches 'ISTANBUL', 'ΟΔΟΣ' matches
-- 'οδος'. Chinese and Japanese are written without spaces: a Han, Hiragana or Katakana character (or the long
-- vowel mark ー/ｰ) is a boundary, so '政府' matches inside '政府部长', 'コーヒー' in 'コーヒーを', and '2018' in
-- '2018年'. Thai, Lao, Khmer and Myanmar have no spaces between words either: a term with their characters is found
-- inside runs of them ('กรุงเทพ' in 'ผู้ว่าราชการกรุงเทพมหานคร'), though not ending before a combining mark
-- (term_pattern). A term without any word character matches nothing.
-- How, for the articles the indexing step has reached (article_seq up to the watermark in article_terms_state):
-- the articles holding every key of the term (term_keys: its word pairs, its Chinese/Japanese character pairs, or
-- its word) are looked up in article_terms. For one or two words, or one or two Chinese/Japanese characters
-- (term_exact), that is the answer; for a longer phrase the keys may occur apart, so the candidates' bodies
-- confirm it (term_pattern). A longer Chinese or Japanese word, a phrase with one, or a term with Thai, Lao, Khmer
-- or Myanmar characters (the table holds their runs whole) reads every body (a probe without case is found as fast
-- as the bodies are read: quicker than the candidates' join). The articles loaded since (or not numbered yet) are
-- answered by reading their bodies: the term's longest word (term_probe) as a literal first, then term_pattern.
-- Either way the answer is the same (tests/unit/test_term_index.py).
-- noqa: disable=RF04
create or replace macro term_coverage(term, grain) as table
    with watermark as (
        select coalesce(max(indexed_seq), 0) as indexed_seq
        from article_terms_state
    ),

    lookup as (
        select
            term_keys(term) as keys,
            len(term_keys(term)) as key_count
    ),

    candidates as (
        -- indexed articles holding every key of the term (one row per article and key)
        select article_terms.article_seq
        from article_terms
        where len(term_keys(term)) > 0 and article_terms.term in (select unnest(lookup.keys) from lookup)
        group by article_terms.article_seq
        having count(*) = (select lookup.key_count from lookup)
    ),

    found_exact as (
        select term_period(articles.published_date, grain) as period
        from articles
        inner join candidates on articles.article_seq = candidates.article_seq
        where articles.duplicate_of is null and term_exact(term)
    ),

    candidate_list as (
        -- the candidates as one list unnested: the planner then takes them for the small side of the join below
        -- and hands their article_seq to the scan of articles as a filter. Joined straight to the grouped
        -- candidates, it built its hash table from the articles, every body in it (6.1 s against 4.8 s at 1M)
        select unnest(list(candidates.article_seq)) as article_seq
        from candidates
    ),

    found_confirmed as (
        -- a longer phrase: only the candidates' bodies go through the pattern. The condition names the candidate
        -- (the case), so it is evaluated after the join and not pushed into the scan of every body
        select term_period(articles.published_date, grain) as period
        from candidate_list
        inner join articles on candidate_list.article_seq = articles.article_seq
        where
            len(term_keys(term)) > 0
            and not term_exact(term)
            and not term_read_all(term)
            and articles.duplicate_of is null
            and case
                when candidate_list.article_seq is not null then term_matches(articles.title, articles.body, term)
                else false
            end
    ),

    found_scanned as (
        -- a longer Chinese or Japanese word, a phrase with one, a term in Thai, Lao, Khmer or Myanmar (term_read_all):
        -- every body is read
        select term_period(articles.published_date, grain) as period
        from articles
        where
            term_read_all(term)
            and articles.duplicate_of is null
            and term_matches(articles.title, articles.body, term)
    ),

    found_unindexed as (
        -- loaded since the last indexing step: their bodies are read. A join on article_seq above the watermark
        -- (not a scalar subquery): DuckDB passes the watermark to the scan of articles as a filter, so the files
        -- and row groups below it are not read
        select term_period(articles.published_date, grain) as period
        from articles
        inner join watermark on articles.article_seq > watermark.indexed_seq
        where
            len(term_keys(term)) > 0
            and not term_read_all(term)
            and articles.duplicate_of is null
            and term_matches(articles.title, articles.body, term)
    ),

    found_unnumbered as (
        -- rows loaded before article_seq existed, until the next indexing step numbers them
        select term_period(published_date, grain) as period
        from articles
        where
            len(term_keys(term)) > 0
            and not term_read_all(term)
            and article_seq is null
            and duplicate_of is null
            and term_matches(title, body, term)
    ),

    counted as (
        select
            term_period(published_date, grain) as period,
            count(*) as all_articles
        from articles
        where duplicate_of is null
        group by period
    ),

    found as (
        select
            period,
            count(*) as articles
        from (
            select period from found_exact
            union all
            select period from found_confirmed
            union all
            select period from found_scanned
            union all
            select period from found_unindexed
            union all
            select period from found_unnumbered
        ) as found_all
        group by period
    )

    select
        counted.period,
        coalesce(found.articles, 0) as articles,
        counted.all_articles,
        coalesce(found.articles, 0) / counted.all_articles as share
    from counted
    left join found on counted.period = found.period
    union all
    -- the grain checked on no article too: term_period raises per row, and a lake without articles has none
    select null, null, null, null  -- noqa: LT09
    where term_period(current_date, grain) is null
    order by period
