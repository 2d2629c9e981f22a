-- Recompute the phrase signatures (pairs and triples, sql/schema/004 and 006) of the listed articles ($ids, a
-- list of article ids): those whose triples are not known yet. Delete first, so an article listed twice keeps one
-- row. Run by newsflow.warehouse.refresh_phrase_signatures, in its own transaction.
delete from phrase_signatures
where article_id in (select unnest($ids));

insert into phrase_signatures (article_id, pairs, triples)
select
    article_id,
    pairs,
    triples
from phrase_signature_rows($ids);
