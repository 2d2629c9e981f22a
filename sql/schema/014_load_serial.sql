-- One row that every load rewrites (sql/loads/12_load_serial.sql): two loads in flight at once then conflict at
-- commit, the later one fails and its retry reads what the first stored. The duckdb_write pool keeps one
-- deployment's loads apart, not two deployments on one Postgres catalog, nor two `newsflow ingest` without the
-- service (`airflow dags test` uses no pool); two first loads into a new lake only insert, DuckLake saw no
-- conflict, and each stored every article. Its one row is written in 015, once the table is not inlined.
create table if not exists load_serial (
    loads bigint not null,
    run_id varchar,
    dag_id varchar,
    loaded_at timestamptz
);
