-- open_alerts(): the checks the alerts last said fail (or warn, at level warn) and have not said recovered: per
-- check and source, its latest alerts_sent row, when that row raised it. status is the check's status then;
-- raised_run_id the quality run whose post said so.
-- Usage: select * from open_alerts()
-- noqa: disable=RF04
create or replace macro open_alerts() as table
    with latest as (
        select
            check_name,
            source,
            change,
            status,
            level,
            observed,
            run_id,
            sent_at,
            row_number() over (
                partition by check_name, source order by sent_at desc, run_id desc
            ) as recency
        from alerts_sent
    )

    select
        check_name,
        source,
        status,
        level,
        observed,
        run_id as raised_run_id,
        sent_at as raised_at
    from latest
    where recency = 1 and change = 'raised'
    order by check_name, source
