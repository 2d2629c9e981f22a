-- when: exists (select 1 from staged_ledger where outcome = 'unchanged' and article_id is not null)
-- Articles a request confirmed unchanged before extraction (HTTP 304, or the same bytes as last time): their last
-- fetch moves, so a revisit policy counts its interval from this request. Not-due URLs made none and are not here.
update articles
set
    fetched_at = greatest(articles.fetched_at, confirmed.fetched_at),
    updated_at = $now
from (
    select
        article_id,
        max(fetched_at) as fetched_at
    from staged_ledger
    where
        url_kind = 'article'
        and outcome = 'unchanged'
        and fetched_at is not null
        and article_id is not null
    group by article_id
) as confirmed
where articles.article_id = confirmed.article_id
