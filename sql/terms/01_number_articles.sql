-- Articles without an article_seq (loaded before migration 004, or copied in by `newsflow warehouse upgrade`) get
-- one above every other, in the order they were inserted. A no-op (one scan of article_seq) once all have one.
update articles
set article_seq = numbered.article_seq
from (
    select
        unnumbered.article_id,
        (select coalesce(max(numbered_before.article_seq), 0) from articles as numbered_before)
        + row_number() over (order by unnumbered.inserted_at, unnumbered.article_id) as article_seq
    from articles as unnumbered
    where unnumbered.article_seq is null
) as numbered
where articles.article_id = numbered.article_id and articles.article_seq is null
