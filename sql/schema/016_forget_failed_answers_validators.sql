-- Validators that an answer which failed left in http_cache, before sql/loads/09_http_cache.sql skipped such
-- answers (cut at max_bytes, an extraction that timed out or crashed). Such a page then got a 304, or the same
-- bytes, at every later run and was logged `unchanged`, never read; a known article's failed new text confirmed the
-- old one. Forgotten, the next request asks without them and the page is read in full. A row written before 013
-- (no fetched_at) cannot be matched to its answer and stays.
delete from http_cache
where exists (
    select 1
    from fetch_log
    where
        fetch_log.canonical_url = http_cache.canonical_url
        and fetch_log.fetched_at = http_cache.fetched_at
        and fetch_log.outcome = 'failed'
        and fetch_log.http_status between 200 and 299
);
