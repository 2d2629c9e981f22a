-- What the alerts told people (plugins/newsflow/alerts.py, news_quality's send_alerts): one row per check and
-- source a post announced, `raised` (it reached the alert level, or got worse) or `cleared` (it stayed below the
-- level for NEWSFLOW_ALERT_CLEAR_AFTER quality runs, or is no longer checked). A check's latest row says whether
-- people were last told it fails (macro open_alerts); each quality run compares with that, so an alert the webhook
-- did not take is posted by the next run, a rerun posts nothing twice, and a check that flaps is announced once.
-- Written after the webhook took the post; nothing is written while no webhook is set.

-- key: run_id, check_name, source, sent_at; change is one of raised, cleared
create table if not exists alerts_sent (
    run_id varchar not null,
    check_name varchar not null,
    source varchar not null,
    change varchar not null,
    status varchar,
    level varchar not null,
    observed double,
    sent_at timestamptz not null
);
