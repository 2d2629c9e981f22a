-- Articles without an article_seq (loaded before migration 004, or copied in by `newsflow warehouse upgrade`) get
-- one above every other, in the order they were inserted. A no-op (one scan of article_seq) once all have one.
update articles
set article_seq = numbered.article_seq
from (
    select
        article_id,
        (select coalesce(max(article_seq), 0) from articles)
        + row_number() over (order by inserted_at, article_id) as article_seq
    from articles
    where article_seq is null
) as numbered
where articles.article_id = numbered.article_id and articles.article_seq is null
