-- When the answer whose validators http_cache holds was fetched: a load that runs late (a run's load cleared and run
-- again after a newer run, a run resumed late) must not put an older answer's ETag back over a newer one's. Rows
-- written before stay null and take the next answer loaded, as before.
alter table http_cache add column if not exists fetched_at timestamptz;
