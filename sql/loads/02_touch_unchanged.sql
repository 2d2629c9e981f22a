-- when: exists (select 1 from load_decisions where outcome = 'unchanged')
-- Articles seen again with the same content: only the bookkeeping moves.
update articles
set
    last_run_id = $run_id,
    fetched_at = greatest(articles.fetched_at, staged.fetched_at),
    updated_at = $now
from staged_articles as staged
inner join load_decisions as decision
    on staged.article_id = decision.article_id and decision.outcome = 'unchanged'
where articles.article_id = staged.article_id
