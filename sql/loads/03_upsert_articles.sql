-- New and changed articles: one upsert keyed on the canonical-URL id; first_run_id survives updates.
insert into articles (
    article_id, url, canonical_url, source, source_domain, sitename, title, author,
    published_at, published_date, date_source, date_disagreement, language, language_source,
    body, body_chars, link_density, body_hash, simhash, credit, categories, tags, duplicate_of, duplicate_kind,
    fetched_at, http_status, warc_file, warc_offset, first_run_id, last_run_id, changed_run_id,
    extractor_version, extractor_settings, inserted_at, updated_at
)
select
    staged.article_id, staged.url, staged.canonical_url, staged.source, staged.source_domain, staged.sitename,
    staged.title, staged.author, staged.published_at, staged.published_date, staged.date_source,
    staged.date_disagreement, staged.language, staged.language_source, staged.body, staged.body_chars, staged.link_density,
    staged.body_hash, staged.simhash, staged.credit, staged.categories, staged.tags, null, null,
    staged.fetched_at, staged.http_status, staged.warc_file, staged.warc_offset, $run_id, $run_id, $run_id,
    staged.extractor_version, staged.extractor_settings, $now, $now
from staged_articles as staged
inner join load_decisions as decision
    on staged.article_id = decision.article_id and decision.outcome = 'loaded'
on conflict (article_id) do update set
    url = excluded.url,
    canonical_url = excluded.canonical_url,
    source = excluded.source,
    source_domain = excluded.source_domain,
    sitename = excluded.sitename,
    title = excluded.title,
    author = excluded.author,
    published_at = excluded.published_at,
    published_date = excluded.published_date,
    date_source = excluded.date_source,
    date_disagreement = excluded.date_disagreement,
    language = excluded.language,
    language_source = excluded.language_source,
    body = excluded.body,
    body_chars = excluded.body_chars,
    link_density = excluded.link_density,
    body_hash = excluded.body_hash,
    simhash = excluded.simhash,
    credit = excluded.credit,
    categories = excluded.categories,
    tags = excluded.tags,
    fetched_at = excluded.fetched_at,
    http_status = excluded.http_status,
    warc_file = excluded.warc_file,
    warc_offset = excluded.warc_offset,
    last_run_id = excluded.last_run_id,
    changed_run_id = excluded.changed_run_id,
    extractor_version = excluded.extractor_version,
    extractor_settings = excluded.extractor_settings,
    updated_at = excluded.updated_at
