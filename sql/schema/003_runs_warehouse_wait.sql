-- How long each load waited to get the lake (attach and migrations, before its transaction began): readers must
-- never make it grow, and the concurrency test asserts on this recorded value.
alter table runs add column if not exists warehouse_wait_s double;
