-- Where the response a rejected record was extracted from is archived, and its HTTP status: news_reprocess judges
-- the pages last rejected again from the archive, and a `warc` source writes no http_cache row to find them by, so
-- its rejected pages were never judged again. Rows written before stay null; for pages newsflow fetched,
-- http_cache still points to their archived response.
alter table rejected_articles add column if not exists warc_file varchar;

alter table rejected_articles add column if not exists warc_offset bigint;

alter table rejected_articles add column if not exists http_status integer;
