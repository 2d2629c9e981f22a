-- when: exists (select 1 from load_decisions where writes)
-- New articles, and the new versions of changed ones (03_delete_replaced_articles.sql deleted the old), in one plain
-- insert read with their bodies straight from the staged files (00_staged_inputs.sql keeps them out of memory); the
-- MERGE machinery costs ~4x a plain insert. A changed row keeps what 01_decide_outcomes.sql took from the stored one
-- (first_run_id, inserted_at, the duplicate link, and article_seq when the title and text are the same); a new
-- title or text gets a new article_seq, so the term rows of the old text (article_terms) no longer join and the
-- indexing step indexes the new. The decisions were taken in this transaction and loads run one at a time (the
-- duckdb_write pool), so no other load can have inserted the same article_id meanwhile: article_id stays unique.
insert into articles (
    article_id, url, canonical_url, source, source_domain, sitename, title, author,
    published_at, published_date, date_source, date_disagreement, language, language_source,
    body, body_chars, link_density, body_hash, simhash, credit, access, categories, tags, duplicate_of, duplicate_kind,
    fetched_at, http_status, warc_file, warc_offset, first_run_id, last_run_id, changed_run_id,
    extractor_version, extractor_settings, inserted_at, updated_at, article_seq, listing_date, listing_title
)
select
    staged.article_id,
    staged.url,
    staged.canonical_url,
    staged.source,
    staged.source_domain,
    staged.sitename,
    staged.title,
    staged.author,
    staged.published_at,
    staged.published_date,
    staged.date_source,
    staged.date_disagreement,
    staged.language,
    staged.language_source,
    files.body,
    staged.body_chars,
    staged.link_density,
    staged.body_hash,
    staged.simhash,
    staged.credit,
    staged.access,
    staged.categories,
    staged.tags,
    decision.duplicate_of,
    decision.duplicate_kind,
    staged.fetched_at,
    staged.http_status,
    staged.warc_file,
    staged.warc_offset,
    decision.first_run_id,
    $run_id,
    $run_id,
    staged.extractor_version,
    staged.extractor_settings,
    decision.inserted_at,
    $now,
    decision.article_seq,
    staged.listing_date,
    staged.listing_title
from staged_articles as staged
inner join load_decisions as decision
    on staged.article_id = decision.article_id and decision.writes
inner join read_parquet($valid_files) as files
    on staged.source = files.source and staged.seq = files.seq;
