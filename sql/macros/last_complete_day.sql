-- last_complete_day(zone, instant): the newest calendar day that has ended by `instant` in `zone` (an IANA name): the
-- latest day the volume check and coverage_gaps judge, since a day in progress is no drop. A source's
-- published_date is its publisher's own day (a page's offset decides, not the configured zone), so for a source
-- without a zone of its own (null or UTC, the default) it is the newest day that has ended in every zone, down
-- to UTC-12: a Los Angeles outlet's evening is not judged as a day with a third of it missing. A source with a zone
-- of its own keeps a UTC stamp's UTC day (docs/dates.md: a feed's `pubDate ... GMT` is where most outlets' dates come
-- from), so its day is complete once it has ended both in its zone and in UTC: an Asia/Shanghai outlet's UTC-stamped
-- day was judged at 16:00 UTC with a third of it still to come.
create or replace macro last_complete_day(zone, instant) as
case
    when zone is null or zone = 'UTC' then cast(timezone('UTC', instant) - interval '12 hours' as date) - 1
    else least(cast(timezone(zone, instant) as date), cast(timezone('UTC', instant) as date)) - 1
end;
