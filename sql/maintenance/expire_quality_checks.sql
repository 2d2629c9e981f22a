-- The quality_checks rows of quality runs checked more than $seconds ago, but for the latest run's: a service
-- stopped for months still shows what its last quality run found. Run by news_maintenance after the merge of
-- small files (DuckLake merges none that carries deletes); files mostly deleted are rewritten without them.
delete from quality_checks
where
    checked_at < now() - to_seconds($seconds)
    and run_id <> (
        select latest.run_id
        from quality_checks as latest
        order by latest.checked_at desc
        limit 1
    )
