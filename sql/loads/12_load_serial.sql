-- The lake's one load token (migration 014): rewritten by every load, so a load that committed while this one was
-- in flight makes this one's commit fail (a DuckLake conflict; Airflow retries the task) instead of both storing
-- the same articles.
update load_serial
set
    loads = loads + 1,
    run_id = $run_id,
    dag_id = $dag_id,
    loaded_at = $now
