-- Validators for the next conditional request of every URL answered in this run (MERGE keyed on canonical_url),
-- unless the row holds a later answer: loads run in the order runs reach them, not the order they fetched.
-- Not from an answer that failed (cut at max_bytes, its extraction timed out or crashed): nothing of that page was
-- stored or judged, and a 304 or the same bytes at the next run would read `unchanged` for a page never read (or, for
-- a known article, confirm the old text its new one never replaced). The validators kept before stay.
merge into http_cache
using (
    select
        canonical_url,
        etag,
        last_modified,
        content_sha1,
        warc_file,
        warc_offset,
        http_status,
        nullif(final_url, url) as final_url,
        fetched_at
    from (
        select
            *,
            row_number() over (partition by canonical_url order by fetched_at desc) as rank
        from staged_ledger
        where
            canonical_url is not null
            and http_status between 200 and 299
            and outcome is distinct from 'failed'
            and (etag is not null or last_modified is not null or content_sha1 is not null)
    ) as answered
    where rank = 1
) as answered
    on http_cache.canonical_url = answered.canonical_url
when matched and (http_cache.fetched_at is null or answered.fetched_at >= http_cache.fetched_at) then
    update
        set
            etag = answered.etag,
            last_modified = answered.last_modified,
            content_sha1 = answered.content_sha1,
            warc_file = answered.warc_file,
            warc_offset = answered.warc_offset,
            last_status = answered.http_status,
            final_url = answered.final_url,
            fetched_at = answered.fetched_at,
            updated_at = $now
when not matched then insert (
    canonical_url, etag, last_modified, content_sha1, warc_file, warc_offset, last_status, final_url, fetched_at,
    updated_at
) values (
    answered.canonical_url,
    answered.etag,
    answered.last_modified,
    answered.content_sha1,
    answered.warc_file,
    answered.warc_offset,
    answered.http_status,
    answered.final_url,
    answered.fetched_at,
    $now
);
