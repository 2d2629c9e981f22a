-- Warehouse quality checks (plugins/newsflow/quality_checks.py, DAG news_quality): one row per check, source and
-- run; source '*' is a warehouse-wide check. A rerun of the same run_id replaces its rows (delete + insert).

-- key: run_id, check_name, source; status is one of pass, warn, fail
create table if not exists quality_checks (
    run_id varchar not null,
    checked_at timestamptz not null,
    check_name varchar not null,
    source varchar not null,
    observed double,
    expected varchar,
    status varchar not null,
    details varchar
);
