-- How long each load waited to get a writable connection to the lake (before its migrations and transaction):
-- readers must never make it grow, and the concurrency test asserts on this recorded value.
alter table runs add column if not exists warehouse_wait_s double;
