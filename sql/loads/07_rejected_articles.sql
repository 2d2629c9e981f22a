-- Every record that failed validation in this run, with the expectations it failed.
delete from rejected_articles
where run_id = $run_id and source in (select distinct source from staged_ledger);

insert into rejected_articles (
    run_id, source, seq, url, canonical_url, article_id, reasons, failed_expectations, title,
    published_at, published_date, date_source, language, body_chars, body, fetched_at,
    extractor_version, rejected_at, warc_file, warc_offset, http_status, listing_date, listing_title
)
select
    $run_id as run_id,
    source,
    seq,
    url,
    canonical_url,
    article_id,
    reasons,
    failed_expectations,
    title,
    published_at,
    published_date,
    date_source,
    language,
    body_chars,
    left(body, 5000),
    fetched_at,
    extractor_version,
    $now,
    warc_file,
    warc_offset,
    http_status,
    listing_date,
    listing_title
from staged_rejected;
