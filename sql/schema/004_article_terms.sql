-- The term table term_coverage answers from (issue 14's one allowed remedy beyond reading the bodies): the
-- distinct words of each article version, keyed by a compact integer instead of the 20-hex article_id (random
-- ids do not compress: a (term, article_id) table was measured at ~7 GB for 1M articles, docs/benchmarks.md).
-- article_seq: given by the loads, increasing; an article whose text is rewritten gets a new one, so the term rows
-- of its old text stop joining. Rows loaded before this migration are numbered by the first indexing step
-- (sql/terms/01_number_articles.sql), not here: numbering rewrites every row (bodies included) and the migration
-- runs at the start of a load.
alter table articles add column if not exists article_seq bigint;

-- key: term, article_seq. Filled outside the loads by the indexing step (newsflow.terms, sql/terms) for every
-- article_seq above the watermark; sorted by term (on insert and by compaction), so a lookup reads a few row groups
create table if not exists article_terms (
    term varchar not null,
    article_seq bigint not null
);

alter table article_terms set sorted by (term); -- noqa: PRS

-- key: indexed_seq. One row per indexing step that added terms: every article_seq up to max(indexed_seq) is in
-- article_terms; term_coverage reads the others' bodies
create table if not exists article_terms_state (
    indexed_seq bigint not null,
    articles bigint not null,
    term_rows bigint not null,
    indexed_at timestamptz not null
);
