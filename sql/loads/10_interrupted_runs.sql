-- when: exists (select 1 from runs where dag_id = $dag_id and run_id <> $run_id and finished_at is null)
-- Earlier runs of this DAG that loaded but never reached their account step. Airflow runs one at a time per DAG
-- (max_active_runs = 1), so such a run was stopped (`newsflow down` mid-run, a killed process) and will never
-- finish: its verdict is `interrupted`. Its URLs are in fetch_log (the load wrote them); only the check is missing.
-- Earlier by when it loaded, not by started_at: under `airflow dags test` that is the run's logical date, and a
-- backfill run after a stopped one, dated before it, left it `loaded` until a later-dated run came.
update runs
set
    status = 'interrupted',
    finished_at = $now
where
    dag_id = $dag_id
    and run_id <> $run_id
    and finished_at is null
    and coalesce(loaded_at, started_at) < $now
