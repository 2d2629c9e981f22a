-- Term rows of article versions that are gone (a changed title or body gave the article a new article_seq; the
-- old version's rows never join again, they only take space). Only numbers up to the watermark that no article
-- holds now: one pass over the integer column of article_terms, none over its terms. Run by news_maintenance
-- after the merge of small files (DuckLake merges none that carries deletes); files mostly pruned are rewritten.
delete from article_terms
where article_seq in (
    select seqs.article_seq
    from (
        select unnest(range(1, (select coalesce(max(indexed_seq), 0) + 1 from article_terms_state))) as article_seq
    ) as seqs
    anti join articles on seqs.article_seq = articles.article_seq
)
