-- The load token is an updated table like those of 011: kept in the catalog, its rewritten rows left a flushed
-- file with deletes that a maintenance pass rewrote every day. Written to storage, each load's update drops the
-- row's old file at once. Its row is written here, after the option: inlined, its first version would be flushed
-- to a file every row of which is deleted, which stays listed. (Apart from 014: a table's options cannot be set in
-- the transaction that creates it.)
call lake.set_option('data_inlining_row_limit', 0, table_name => 'load_serial');

insert into load_serial (loads)
select 0
where not exists (select 1 from load_serial);
