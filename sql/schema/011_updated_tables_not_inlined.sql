-- The tables whose rows later loads update write every change to Parquet files, none into the catalog (DuckLake's
-- data inlining keeps inserts and deletes of up to 10 rows there until a flush). A MERGE writes its rows a file of
-- their own; when a later update replaced every row left in it (the account step finishing the run's row, the next
-- load's MERGE of the sources, a feed's validators) and kept that delete in the catalog, the flush left the file
-- listed for good, every row deleted, a delete file beside it: one a run and table that no merge takes, and that
-- DuckLake's rewrite cannot end without changing what time travel answers (docs/warehouse.md, "Maintenance").
-- Written to storage, such a delete drops the file at once. The insert-only tables keep inlining: their small
-- inserts stay few files between two maintenance passes.
call lake.set_option('data_inlining_row_limit', 0, table_name => 'runs');
call lake.set_option('data_inlining_row_limit', 0, table_name => 'sources');
call lake.set_option('data_inlining_row_limit', 0, table_name => 'http_cache');
call lake.set_option('data_inlining_row_limit', 0, table_name => 'article_aliases');
