-- The warehouse contract (docs/warehouse.md): articles, rejections, the per-URL fetch log, runs,
-- validation results, configured sources, and the conditional-request state of every fetched URL.
-- The first migration of the lake (a DuckLake starts its own series; `newsflow warehouse upgrade` moves the rows
-- of an earlier DuckDB file in). DuckLake has no PRIMARY KEY, UNIQUE or CHECK: the keys named in each table's
-- comment are kept unique by the loads (MERGE, or delete + insert of a run's rows in the same transaction) and
-- checked by the tests and the quality checks.

-- key: name
create table if not exists sources (
    name varchar not null,
    kind varchar not null,
    locator varchar not null,
    language varchar,
    timezone varchar,
    first_run_id varchar,
    last_run_id varchar,
    updated_at timestamptz not null
);

-- key: run_id, dag_id (Airflow run ids are unique per DAG only)
create table if not exists runs (
    run_id varchar not null,
    dag_id varchar not null,
    started_at timestamptz,
    loaded_at timestamptz,
    finished_at timestamptz,
    status varchar not null,
    sources_file varchar,
    sources varchar[],
    discovered integer,
    loaded integer,
    unchanged integer,
    rejected integer,
    failed integer,
    skipped integer,
    extractor_version varchar
);

-- key: article_id
create table if not exists articles (
    article_id varchar not null,
    url varchar not null,
    canonical_url varchar not null,
    source varchar not null,
    source_domain varchar,
    sitename varchar,
    title varchar,
    author varchar,
    published_at timestamptz not null,
    published_date date not null,
    date_source varchar,
    date_disagreement boolean,
    language varchar,
    language_source varchar,
    body varchar not null,
    body_chars integer,
    link_density float,
    body_hash varchar not null,
    simhash ubigint,
    credit varchar,
    categories varchar[],
    tags varchar[],
    duplicate_of varchar,
    duplicate_kind varchar,
    fetched_at timestamptz,
    http_status integer,
    warc_file varchar,
    warc_offset bigint,
    first_run_id varchar not null,
    last_run_id varchar not null,
    changed_run_id varchar not null,
    extractor_version varchar not null,
    extractor_settings varchar,
    inserted_at timestamptz not null,
    updated_at timestamptz not null
);

-- key: run_id, source, seq
create table if not exists rejected_articles (
    run_id varchar not null,
    source varchar not null,
    seq integer not null,
    url varchar not null,
    canonical_url varchar,
    article_id varchar,
    reasons varchar[] not null,
    failed_expectations varchar[],
    title varchar,
    published_at timestamptz,
    published_date date,
    date_source varchar,
    language varchar,
    body_chars integer,
    body varchar,
    fetched_at timestamptz,
    extractor_version varchar,
    rejected_at timestamptz not null
);

-- key: run_id, source, url_kind, seq; outcome is one of loaded, unchanged, rejected, failed, skipped
create table if not exists fetch_log (
    run_id varchar not null,
    source varchar not null,
    url_kind varchar not null,
    seq integer not null,
    url varchar not null,
    canonical_url varchar,
    outcome varchar not null,
    reason varchar,
    http_status integer,
    bytes bigint,
    duration_ms integer,
    tries integer,
    fetched_at timestamptz,
    article_id varchar,
    logged_at timestamptz not null
);

-- key: run_id, source, expectation, column_name
create table if not exists validation_results (
    run_id varchar not null,
    source varchar not null,
    expectation varchar not null,
    column_name varchar not null,
    success boolean not null,
    element_count integer,
    unexpected_count integer,
    unexpected_percent double,
    details varchar,
    validated_at timestamptz not null
);

-- key: canonical_url
create table if not exists http_cache (
    canonical_url varchar not null,
    etag varchar,
    last_modified varchar,
    content_sha1 varchar,
    warc_file varchar,
    warc_offset bigint,
    last_status integer,
    updated_at timestamptz not null
);
