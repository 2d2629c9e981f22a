-- Compute the frequent grams (pairs and triples) of the listed days ($days, a list of dates) into phrase_daily
-- (sql/schema/005_phrase_daily.sql) and mark the days current. Delete first, so a day listed twice, or refreshed
-- by two processes one after the other, keeps one set of rows. Run by newsflow.warehouse.refresh_phrase_daily,
-- in its own transaction.
delete from phrase_daily
where published_date in (select unnest($days));

delete from phrase_daily_days
where published_date in (select unnest($days));

insert into phrase_daily (published_date, gram_hash, articles)
select
    published_date,
    gram_hash,
    articles
from phrase_daily_rows($days)
order by gram_hash, published_date;

insert into phrase_daily_days (published_date)
select unnest($days);
