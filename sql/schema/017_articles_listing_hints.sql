-- What the feed or sitemap said of the article when its row was written: its date as written there and its title.
-- Extraction weighs both (a listing time refines a page that states only its day; a listing date that disagrees
-- sets date_disagreement; the feed's title confirms a headline), and news_reprocess reads no listing: without them
-- a reprocess of the same bytes gave another date or title than the ingest (25 of 973 articles). Rows written
-- before stay null; news_reprocess then carries over a date whose date_source is feed or sitemap, as before.
alter table articles add column if not exists listing_date varchar;

alter table articles add column if not exists listing_title varchar;

alter table rejected_articles add column if not exists listing_date varchar;

alter table rejected_articles add column if not exists listing_title varchar;
