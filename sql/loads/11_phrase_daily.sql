-- Keep phrase_daily (sql/schema/005_phrase_daily.sql) exact: forget every day whose originals or their text this
-- run changed, the days 09_term_index.sql recomputed (term_index_days). Their frequent grams are recomputed after
-- the load commits (newsflow.warehouse.refresh_phrase_daily); until then term_coverage counts those days from the
-- articles, so a forgotten day is never wrong. Built by another DuckDB's hash() (term_index_state), every day is
-- forgotten.
delete from phrase_daily
where
    published_date in (select days.published_date from term_index_days as days)
    or (select state.stale from term_index_state as state);

delete from phrase_daily_days
where
    published_date in (select days.published_date from term_index_days as days)
    or (select state.stale from term_index_state as state);
