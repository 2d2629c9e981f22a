-- New and changed articles, keyed on the canonical-URL id: rows being replaced are deleted and written again, with
-- what must survive a change kept aside (first_run_id, inserted_at; the duplicate link, which
-- 04_mark_duplicates.sql then recomputes). Delete + insert rather than INSERT ... ON CONFLICT DO UPDATE: DuckDB holds
-- the updated versions of every replaced row in memory, and rewriting 100,000 articles that way (a rerun of the
-- same run) ran out of memory under the writer's 1 GB cap.
create or replace temp table replaced_articles as
select
    articles.article_id,
    articles.first_run_id,
    articles.inserted_at,
    articles.duplicate_of,
    articles.duplicate_kind
from articles
inner join load_decisions as decision
    on articles.article_id = decision.article_id and decision.outcome = 'loaded';

delete from articles
where article_id in (select kept.article_id from replaced_articles as kept);

insert into articles (
    article_id, url, canonical_url, source, source_domain, sitename, title, author,
    published_at, published_date, date_source, date_disagreement, language, language_source,
    body, body_chars, link_density, body_hash, simhash, credit, categories, tags, duplicate_of, duplicate_kind,
    fetched_at, http_status, warc_file, warc_offset, first_run_id, last_run_id, changed_run_id,
    extractor_version, extractor_settings, inserted_at, updated_at
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
    staged.body,
    staged.body_chars,
    staged.link_density,
    staged.body_hash,
    staged.simhash,
    staged.credit,
    staged.categories,
    staged.tags,
    kept.duplicate_of,
    kept.duplicate_kind,
    staged.fetched_at,
    staged.http_status,
    staged.warc_file,
    staged.warc_offset,
    coalesce(kept.first_run_id, $run_id),
    $run_id,
    $run_id,
    staged.extractor_version,
    staged.extractor_settings,
    coalesce(kept.inserted_at, $now),
    $now
from staged_articles as staged
inner join load_decisions as decision
    on staged.article_id = decision.article_id and decision.outcome = 'loaded'
left join replaced_articles as kept
    on staged.article_id = kept.article_id;
