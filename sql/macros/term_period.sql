-- term_period(day, grain): the day, ISO week (starting Monday) or month a date falls in, as term_coverage counts
-- them; an error for any other grain.
create or replace macro term_period(day, grain) as
case grain
    when 'day' then day
    when 'week' then cast(date_trunc('week', day) as date)
    when 'month' then cast(date_trunc('month', day) as date)
    else error('grain must be day, week or month, not ' || coalesce(cast(grain as varchar), 'null'))
end;
