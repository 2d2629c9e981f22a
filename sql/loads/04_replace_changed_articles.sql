-- when: exists (select 1 from load_decisions where outcome = 'loaded' and stored)
-- Changed articles (a new text, or a new extractor version) replace their stored row: deleted and inserted again
-- in the load's transaction, keeping what must survive a change (first_run_id, inserted_at, and the duplicate
-- link, which 05_mark_duplicates.sql then recomputes). Not a MERGE or an UPDATE: a lake writes an updated row
-- whole either way, and DuckLake took 8 s to update 100,000 rows that a plain insert had written, where deleting
-- them and inserting the new versions takes ~2 s (docs/benchmarks.md, "The lake over months"). The decision was
-- taken in this transaction and loads run one at a time (the duckdb_write pool): article_id stays unique. Articles
-- seen again unchanged are not written at all, their fetch_log rows say so; new ones were inserted by 03.
-- A row whose title or body changes gets a new article_seq: the term rows of its old text (article_terms) then no
-- longer join, and the indexing step indexes the new text.
create or replace temp table replaced_articles as
select
    article_id,
    first_run_id,
    inserted_at,
    duplicate_of,
    duplicate_kind,
    title,
    body_hash,
    body_chars,
    article_seq
from articles
where
    article_id in (
        select load_decisions.article_id from load_decisions
        where load_decisions.outcome = 'loaded' and load_decisions.stored
    );

delete from articles
where article_id in (select replaced_articles.article_id from replaced_articles);

insert into articles (
    article_id, url, canonical_url, source, source_domain, sitename, title, author,
    published_at, published_date, date_source, date_disagreement, language, language_source,
    body, body_chars, link_density, body_hash, simhash, credit, access, categories, tags, duplicate_of, duplicate_kind,
    fetched_at, http_status, warc_file, warc_offset, first_run_id, last_run_id, changed_run_id,
    extractor_version, extractor_settings, inserted_at, updated_at, article_seq
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
    -- the bodies straight from the staged files (00_staged_inputs.sql keeps them out of memory)
    files.body,
    staged.body_chars,
    staged.link_density,
    staged.body_hash,
    staged.simhash,
    staged.credit,
    staged.access,
    staged.categories,
    staged.tags,
    replaced.duplicate_of,
    replaced.duplicate_kind,
    staged.fetched_at,
    staged.http_status,
    staged.warc_file,
    staged.warc_offset,
    replaced.first_run_id,
    $run_id,
    $run_id,
    staged.extractor_version,
    staged.extractor_settings,
    replaced.inserted_at,
    $now,
    -- same text, same key: a rerun or a re-extraction that keeps the text keeps its term rows. By body_hash
    -- (whitespace-collapsed NFKC) and length: comparing the bodies themselves read the stored ones too and ran
    -- out of the writer's 1 GB on a rerun of 100,000 articles (only a change NFKC hides at the same length,
    -- full-width ＡＢＣ become ABC, would keep the old terms)
    case
        when (
            replaced.title is not distinct from staged.title
            and replaced.body_hash = staged.body_hash
            and replaced.body_chars is not distinct from staged.body_chars
        ) then replaced.article_seq
        else decision.new_seq
    end as article_seq
from staged_articles as staged
inner join load_decisions as decision
    on staged.article_id = decision.article_id and decision.outcome = 'loaded' and decision.stored
inner join replaced_articles as replaced on staged.article_id = replaced.article_id
inner join read_parquet($valid_files) as files
    on staged.source = files.source and staged.seq = files.seq;
