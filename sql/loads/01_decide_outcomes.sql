-- Per staged article: is it new or changed (outcome 'loaded') or the same as the warehouse already has
-- ('unchanged')? A rerun of the same Airflow run repeats the first execution's decision, so reruns are idempotent;
-- `writes` says which rows 03 and 04 write (a repeated decision writes nothing when a later run has changed the
-- article since: its text is newer than the rerun's).
-- A different text fetched before the one stored ('skipped', 'superseded') is not written: loads run in the order
-- runs reach them, not the order they fetched (a manual run beside a scheduled one, a run resumed late), and an
-- older page must never replace a newer one.
-- A row that is written (new, or replacing the stored one: 03 deletes it, 04 inserts) gets here what it keeps of the
-- stored row: first_run_id, inserted_at, the duplicate link (05_mark_duplicates.sql then recomputes it), and
-- article_seq (the term table's key, sql/schema/004_article_terms.sql) when its title and text are the same; else
-- the next article_seq values, in staging order (gaps where staged rows were rejected are harmless: the key only
-- has to grow).
create or replace temp table load_decisions as
with staged as (
    select
        article_id,
        source,
        seq,
        title,
        body_hash,
        body_chars,
        extractor_version,
        fetched_at,
        warc_file,
        warc_offset,
        published_at,
        published_date
    from staged_articles
),

-- requests that found a stored article unchanged after the earliest staged fetch: the article was current then
confirmed as (
    select
        article_id,
        confirmed_at
    from article_confirmations((select min(staged.fetched_at) from staged))
    where article_id in (select staged.article_id from staged)
),

existing as (
    select
        articles.article_id,
        articles.body_hash,
        articles.extractor_version,
        -- the last request that gave the stored text
        greatest(articles.fetched_at, confirmed.confirmed_at) as fetched_at,
        articles.first_run_id,
        articles.changed_run_id,
        articles.title,
        articles.body_chars,
        articles.inserted_at,
        articles.duplicate_of,
        articles.duplicate_kind,
        articles.article_seq,
        articles.warc_file,
        articles.warc_offset,
        articles.published_at,
        articles.published_date
    from articles
    left join confirmed on articles.article_id = confirmed.article_id
    where articles.article_id in (select staged.article_id from staged)
),

-- stored rows this very run wrote: its load is being retried. Only by the run's own sources: two schedules that
-- fire at one instant share a run id (`@hourly` and `15m` at 06:00), and a row the other one wrote is judged as any
-- stored row, not replaced whatever its text and fetch time
retried as (
    select distinct fetch_log.article_id
    from fetch_log
    where
        fetch_log.run_id = $run_id
        and fetch_log.outcome = 'loaded'
        and list_contains($sources, fetch_log.source)
        and fetch_log.article_id in (
            select existing.article_id from existing
            where existing.changed_run_id = $run_id
        )
),

-- what an earlier execution of this run logged for the same fetch (source, seq, article and fetch time alike): its
-- load committed, and a later run changed the article since (a reprocess, a newer fetch). The rerun repeats the
-- logged decision and writes nothing: judged again, the older fetch read as `skipped: superseded` (or a
-- re-extraction that undid the reprocess), and the run's own `loaded: new` was gone from the ledger
repeated as (
    select
        logged.source,
        logged.seq,
        logged.outcome,
        logged.reason
    from fetch_log as logged
    inner join staged
        on
            logged.source = staged.source
            and logged.seq = staged.seq
            and logged.article_id = staged.article_id
            and logged.fetched_at = staged.fetched_at
    inner join existing on staged.article_id = existing.article_id
    where
        logged.run_id = $run_id
        and logged.url_kind = 'article'
        and existing.changed_run_id <> $run_id
        -- decisions of this file only: a page validation rejected then and passes now (its rule relaxed, validate
        -- run again) is judged, not rejected again
        and logged.reason in ('new', 'changed', 'reextracted', 'same_content', 'superseded')
),

-- the next article_seq: each source's staging seq above an offset (the sources before it: a window over a handful
-- of rows) and the lake's largest article_seq, so the staged rows need no sort (at 100,000 rows `row_number()` over
-- them cost the same, docs/benchmarks.md)
numbering as (
    select
        source,
        (select coalesce(max(numbered.article_seq), 0) from articles as numbered)
        + coalesce(sum(max(seq) + 1) over (order by source rows between unbounded preceding and 1 preceding), 0)
        + 1 as first_seq
    from staged
    group by source
),

-- a staged text fetched before the stored one was last given. Not a staged row read from the stored text's own
-- archived response (news_reprocess): that is the stored text again, however often a revisit confirmed it since.
-- Such a row dated otherwise than the stored one (the source's timezone changed since, which a page's time
-- without an offset is read in) is written, though its text is the same: a reprocess after the change said
-- `unchanged: same_content` and every date stayed where the old zone had put it
read_again as (
    select
        staged.source,
        staged.seq,
        existing.fetched_at > staged.fetched_at as fetched_before,
        coalesce(
            staged.warc_file = existing.warc_file and staged.warc_offset = existing.warc_offset, false
        ) as is_reread,
        (
            staged.published_at is distinct from existing.published_at
            or staged.published_date is distinct from existing.published_date
        ) as is_dated_otherwise
    from staged
    inner join existing on staged.article_id = existing.article_id
),

compared as (
    select
        source,
        seq,
        fetched_before and not is_reread as is_older,
        is_reread and is_dated_otherwise as is_redated
    from read_again
),

decided as (
    select
        staged.article_id,
        staged.source,
        staged.seq,
        case
            when existing.article_id is null then 'loaded'
            when repeated.seq is not null then repeated.outcome
            when retried.article_id is not null then 'loaded'
            when
                existing.body_hash = staged.body_hash
                and existing.extractor_version = staged.extractor_version
                and not coalesce(compared.is_redated, false) then 'unchanged'
            when compared.is_older then 'skipped'
            else 'loaded'
        end as outcome,
        case
            when existing.article_id is null then 'new'
            when repeated.seq is not null then repeated.reason
            when retried.article_id is not null and existing.first_run_id = $run_id then 'new'
            when retried.article_id is not null then 'changed'
            when
                existing.body_hash = staged.body_hash
                and existing.extractor_version = staged.extractor_version
                and not coalesce(compared.is_redated, false) then 'same_content'
            when compared.is_older then 'superseded'
            when existing.body_hash = staged.body_hash then 'reextracted'
            else 'changed'
        end as reason,
        repeated.seq is not null as is_repeated,
        existing.article_id is not null as stored,
        coalesce(existing.first_run_id, $run_id) as first_run_id,
        coalesce(existing.inserted_at, $now) as inserted_at,
        existing.duplicate_of,
        existing.duplicate_kind,
        -- same text, same key: a rerun or a re-extraction that keeps the text keeps its term rows. By body_hash
        -- (whitespace-collapsed NFKC) and length: comparing the bodies themselves read the stored ones too and ran
        -- out of the writer's 1 GB on a rerun of 100,000 articles (only a change NFKC hides at the same length,
        -- full-width ＡＢＣ become ABC, would keep the old terms). Numbered here, on the staged keys: numbering the
        -- rows 04 writes would sort them with their bodies
        case
            when (
                existing.article_id is not null
                and existing.title is not distinct from staged.title
                and existing.body_hash = staged.body_hash
                and existing.body_chars is not distinct from staged.body_chars
            ) then existing.article_seq
            else numbering.first_seq + staged.seq
        end as article_seq
    from staged
    inner join numbering on staged.source = numbering.source
    left join existing on staged.article_id = existing.article_id
    left join compared on staged.source = compared.source and staged.seq = compared.seq
    left join retried on staged.article_id = retried.article_id
    left join repeated on staged.source = repeated.source and staged.seq = repeated.seq
)

select
    * exclude (is_repeated),
    outcome = 'loaded' and not is_repeated as writes
from decided
