-- The run's staged Parquet files, read by DuckDB directly (no copy through Python, flat memory at any size).
-- An article listed by two sources belongs to the first source in the run's order; the other copy is logged
-- as skipped: duplicate_other_source.
-- Ranked on the keys alone, and staged_articles holds everything but the bodies: 03 and 04 read them
-- from the staged files as it writes, so a load never holds a run's bodies in memory (100,000 articles peaked
-- over 1.5 GiB with them).
create or replace temp table staged_ranked as
select
    article_id,
    source,
    seq,
    row_number() over (
        partition by article_id
        order by list_position($sources, source), seq
    ) as copy_rank
from read_parquet($valid_files);

create or replace temp table staged_articles as
with firsts as (
    select
        source,
        seq
    from staged_ranked
    where copy_rank = 1
)

select staged.* exclude (body)
from read_parquet($valid_files) as staged
inner join firsts
    on
        staged.source = firsts.source
        and staged.seq = firsts.seq;

create or replace temp table staged_ledger as
with ledger as (
    select
        *,
        regexp_extract(filename, '([^/]+)/ledger[.]validate[.]parquet$', 1) as source
    from read_parquet($ledger_files, filename = true)
),

other_source_copies as (
    select
        source,
        seq
    from staged_ranked
    where copy_rank > 1
)

select
    ledger.* exclude (filename, outcome, reason),
    case when copies.seq is null then ledger.outcome else 'skipped' end as outcome,
    case when copies.seq is null then ledger.reason else 'duplicate_other_source' end as reason
from ledger
left join other_source_copies as copies
    on
        ledger.source = copies.source
        and ledger.seq = copies.seq
        and ledger.url_kind = 'article';

create or replace temp table staged_rejected as
select * from read_parquet($rejected_files);

create or replace temp table staged_validation as
select * from read_parquet($validation_files);
