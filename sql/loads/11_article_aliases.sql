-- when: exists (select 1 from staged_ledger where final_url <> url) or exists (select 1 from article_aliases)
-- Listed links whose page is stored under another URL (sql/schema/008_article_aliases.sql), from this run's fetch_log:
-- a link that landed on a stored article becomes (or stays) its alias; a link that lands on itself again, or whose
-- landing page was not stored, stops being one. Not-due links made no request, so they keep what they had, and
-- neither does a link answered later than this run asked it (http_cache.fetched_at: a run's load cleared and run
-- again after a newer run's put back where the link used to land).
create or replace temp table landed_links as
with fetched as (
    select
        logged.canonical_url as alias_url,
        left(sha1(logged.canonical_url), 20) as alias_id,
        logged.article_id,
        logged.fetched_at,
        articles.article_id is not null as stored,
        row_number() over (
            partition by logged.canonical_url
            order by logged.fetched_at desc, logged.source asc, logged.seq asc
        ) as rank
    from fetch_log as logged
    left join articles on logged.article_id = articles.article_id
    where
        logged.run_id = $run_id
        and logged.url_kind = 'article'
        and logged.canonical_url is not null
        and logged.fetched_at is not null
        and logged.outcome <> 'failed'
)

select
    fetched.alias_id,
    fetched.alias_url,
    fetched.article_id,
    fetched.stored and fetched.article_id <> fetched.alias_id as is_alias
from fetched
left join http_cache on fetched.alias_url = http_cache.canonical_url
where
    fetched.rank = 1
    and (http_cache.fetched_at is null or http_cache.fetched_at <= fetched.fetched_at);

-- DuckLake's MERGE takes one UPDATE or DELETE action: the links that are no aliases any more go first
delete from article_aliases
where alias_id in (
    select alias_id from landed_links
    where not is_alias
);

merge into article_aliases
using (
    select * from landed_links
    where is_alias
) as landed
    on article_aliases.alias_id = landed.alias_id
when matched then
    update
        set
            article_id = landed.article_id,
            last_run_id = $run_id,
            updated_at = $now
when not matched then insert (
    alias_id, alias_url, article_id, first_run_id, last_run_id, updated_at
) values (
    landed.alias_id,
    landed.alias_url,
    landed.article_id,
    $run_id,
    $run_id,
    $now
);
