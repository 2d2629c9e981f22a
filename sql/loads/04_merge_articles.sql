-- when: exists (select 1 from load_decisions where outcome = 'loaded' and stored)
-- New and changed articles in one MERGE keyed on the canonical-URL id (DuckLake has no primary key: this
-- statement is what keeps article_id unique). A changed row is rewritten, keeping what must survive a change
-- (first_run_id, inserted_at, and the duplicate link, which 05_mark_duplicates.sql then recomputes). Articles
-- seen again unchanged are not written at all: their fetch_log rows say so (a lake rewrites a whole row, body
-- included, to update one column). Articles the lake does not hold yet were inserted by
-- 03_insert_new_articles.sql: the MERGE machinery costs ~4x a plain insert.
-- A row whose title or body changes gets a new article_seq: the term rows of its old text (article_terms) then no
-- longer join, and the indexing step indexes the new text.
merge into articles
using (
    select
        staged.*,
        files.body,
        decision.outcome,
        decision.new_seq
    from staged_articles as staged
    inner join load_decisions as decision
        on staged.article_id = decision.article_id and decision.outcome = 'loaded' and decision.stored
    -- the bodies straight from the staged files (00_staged_inputs.sql keeps them out of memory)
    inner join read_parquet($valid_files) as files
        on staged.source = files.source and staged.seq = files.seq
) as staged
    on articles.article_id = staged.article_id
when matched then
    update
        set
            url = staged.url,
            canonical_url = staged.canonical_url,
            source = staged.source,
            source_domain = staged.source_domain,
            sitename = staged.sitename,
            title = staged.title,
            author = staged.author,
            published_at = staged.published_at,
            published_date = staged.published_date,
            date_source = staged.date_source,
            date_disagreement = staged.date_disagreement,
            language = staged.language,
            language_source = staged.language_source,
            body = staged.body,
            body_chars = staged.body_chars,
            link_density = staged.link_density,
            body_hash = staged.body_hash,
            simhash = staged.simhash,
            credit = staged.credit,
            access = staged.access,
            categories = staged.categories,
            tags = staged.tags,
            fetched_at = staged.fetched_at,
            http_status = staged.http_status,
            warc_file = staged.warc_file,
            warc_offset = staged.warc_offset,
            last_run_id = $run_id,
            changed_run_id = $run_id,
            extractor_version = staged.extractor_version,
            extractor_settings = staged.extractor_settings,
            updated_at = $now,
            -- same text, same key: a rerun or a re-extraction that keeps the text keeps its term rows. By
            -- body_hash (whitespace-collapsed NFKC) and length: comparing the bodies themselves read the stored
            -- ones too and ran out of the writer's 1 GB on a rerun of 100,000 articles (only a change NFKC hides at
            -- the same length, full-width ＡＢＣ become ABC, would keep the old terms)
            article_seq = case
                when
                    articles.title is not distinct from staged.title
                    and articles.body_hash = staged.body_hash
                    and articles.body_chars is not distinct from staged.body_chars
                    then articles.article_seq
                else staged.new_seq
            end
when not matched then insert (
    article_id, url, canonical_url, source, source_domain, sitename, title, author,
    published_at, published_date, date_source, date_disagreement, language, language_source,
    body, body_chars, link_density, body_hash, simhash, credit, access, categories, tags, duplicate_of, duplicate_kind,
    fetched_at, http_status, warc_file, warc_offset, first_run_id, last_run_id, changed_run_id,
    extractor_version, extractor_settings, inserted_at, updated_at, article_seq
) values (
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
    staged.access,
    staged.categories,
    staged.tags,
    null,
    null,
    staged.fetched_at,
    staged.http_status,
    staged.warc_file,
    staged.warc_offset,
    $run_id,
    $run_id,
    $run_id,
    staged.extractor_version,
    staged.extractor_settings,
    $now,
    $now,
    staged.new_seq
);
