-- Runs that loaded more than $seconds ago and never reached their account step. A load marks the earlier such
-- runs of its own DAG `interrupted` (sql/loads/10_interrupted_runs.sql); a DAG that no longer loads, its schedule
-- gone from the sources file, leaves its last one `loaded` for good without this. A day is longer than any
-- run spends between its load and its account step.
update runs
set
    status = 'interrupted',
    finished_at = now()
where
    finished_at is null
    and status = 'loaded'
    and coalesce(loaded_at, started_at) < now() - to_seconds($seconds)
