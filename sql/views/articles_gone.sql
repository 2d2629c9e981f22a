-- Stored articles whose own URL stopped serving them, as the latest request after their last good answer found:
-- `gone` (HTTP 404 or 410: unpublished, retracted, or the site moved without redirects), `moved` (it redirects to a
-- page stored as another article: the story now lives at moved_to) or `redirected` (it redirects to a page that is no
-- article: the home page, a section front, a removal notice). A later good answer (the page stored again, or
-- confirmed unchanged: a 304, the same bytes or text) puts the article back, and it leaves the view. Only URLs a
-- revisit policy still fetches are asked (README, "Revisiting known articles"), so an article unpublished after its
-- window closed is not seen here; errors that say nothing of the page (5xx, timeouts, bot walls) are not removals.
-- noqa: disable=RF04
create or replace view articles_gone as
with telling_answers as (
    -- the answers that tell: a 404 or 410, or a redirect; not a 5xx, a timeout or a wall
    select
        canonical_url,
        final_url,
        run_id,
        fetched_at,
        http_status,
        outcome,
        article_id as landed_id
    from fetch_log
    where
        url_kind = 'article'
        and (http_status in (404, 410) or final_url is not null)
),

asked as (
    -- two equi-joins, one per key (a single join on either key would be a nested loop over articles x answers)
    -- requests to the article's own URL
    select
        articles.article_id,
        answers.*
    from articles
    inner join telling_answers as answers
        on
            articles.canonical_url = answers.canonical_url
            and articles.fetched_at < answers.fetched_at
    union all
    -- links that led to it (a tracker, an old address) and found its URL answering 404 or 410
    select
        articles.article_id,
        answers.*
    from articles
    inner join telling_answers as answers
        on
            articles.url = answers.final_url
            and articles.fetched_at < answers.fetched_at
    where answers.http_status in (404, 410)
),

-- the asked articles' last confirmations (fetched_at is the fetch that stored the text)
confirmations as (
    select
        article_id,
        confirmed_at
    from article_confirmations(null)
    where article_id in (select asked.article_id from asked)
),

judged as (
    select
        *,
        case
            when http_status in (404, 410) then 'gone'
            when landed_id = article_id or final_url is null then null
            when landed_id in (select stored.article_id from articles as stored) then 'moved'
            when outcome = 'rejected' then 'redirected'
        end as status
    from asked
),

latest as (
    -- judged first, then the latest: an answer that says nothing (a redirect back to the page that then failed)
    -- does not hide an earlier removal
    select
        judged.*,
        confirmations.confirmed_at
    from judged
    left join confirmations on judged.article_id = confirmations.article_id
    where
        judged.status is not null
        and (confirmations.confirmed_at is null or judged.fetched_at > confirmations.confirmed_at)
    qualify row_number() over (partition by judged.article_id order by judged.fetched_at desc) = 1
)

select
    articles.article_id,
    articles.source,
    articles.url,
    articles.title,
    articles.published_date,
    greatest(articles.fetched_at, latest.confirmed_at) as last_served_at,
    latest.fetched_at as noticed_at,
    latest.run_id as noticed_run_id,
    latest.status,
    latest.http_status,
    case when latest.status = 'moved' then latest.final_url end as moved_to
from latest
inner join articles on latest.article_id = articles.article_id
