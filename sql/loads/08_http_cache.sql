-- Validators for the next conditional request of every URL answered in this run.
insert into http_cache (
    canonical_url, etag, last_modified, content_sha1, warc_file, warc_offset, last_status, updated_at
)
select
    canonical_url,
    etag,
    last_modified,
    content_sha1,
    warc_file,
    warc_offset,
    http_status,
    $now
from (
    select
        *,
        row_number() over (partition by canonical_url order by fetched_at desc) as rank
    from staged_ledger
    where
        canonical_url is not null
        and http_status between 200 and 299
        and (etag is not null or last_modified is not null or content_sha1 is not null)
) as answered
where rank = 1
on conflict (canonical_url) do update set
    etag = excluded.etag,
    last_modified = excluded.last_modified,
    content_sha1 = excluded.content_sha1,
    warc_file = excluded.warc_file,
    warc_offset = excluded.warc_offset,
    last_status = excluded.last_status,
    updated_at = excluded.updated_at;
