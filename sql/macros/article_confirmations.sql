-- article_confirmations(since): per article id, its latest request since `since` (null: ever) that found the page
-- as before: HTTP 304, the same bytes or the same text (fetch_log `unchanged` with a fetch time; a `not_due` row made
-- no request). A page rejected before answers so too while still rejected: its id is in no `articles` row. Every
-- caller here asks about ids it read from `articles` already; a semi-join in here cost a recent `since` (the
-- loads') twice its time on a million articles (57 -> 112 ms). A confirmation writes no article row (a lake
-- rewrites a whole row, body included, to update one column), so this is where the revisit policy, the loads'
-- superseded check and articles_gone find it; the fetch that stored the text is the article's own fetched_at.
-- fetch_log's per-run files carry fetched_at bounds: a recent `since` reads the recent files only.
create or replace macro article_confirmations(since) as table
    select
        article_id,
        max(fetched_at) as confirmed_at
    from fetch_log
    where
        url_kind = 'article'
        and outcome = 'unchanged'
        and fetched_at >= coalesce(since, '-infinity'::timestamptz)
    group by article_id
