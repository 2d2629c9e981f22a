-- The publication days of originals whose frequent grams phrase_daily does not hold (new, changed since, or never
-- computed), oldest first, with their number of originals (newsflow.warehouse.refresh_phrase_daily sizes its
-- statements by it). Nothing is due while term_daily was built by another DuckDB's hash(): the next load
-- rebuilds the term index and forgets every day (sql/loads/11_phrase_daily.sql).
select
    articles.published_date,
    count(*) as originals
from articles
where
    articles.duplicate_of is null
    and articles.published_date not in (select done.published_date from phrase_daily_days as done)
    and (select coalesce(max(meta.hash_probe) = term_index_probe(), false) from term_index_meta as meta)
group by articles.published_date
order by articles.published_date
