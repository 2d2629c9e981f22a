-- Per expectation per source per run: what Great Expectations saw.
delete from validation_results
where run_id = $run_id and source in (select distinct source from staged_ledger);

insert into validation_results (
    run_id, source, expectation, column_name, success, element_count, unexpected_count,
    unexpected_percent, details, validated_at
)
select
    $run_id as run_id,
    source,
    expectation,
    column_name,
    success,
    element_count,
    unexpected_count,
    unexpected_percent,
    details,
    $now
from staged_validation;
