-- The run's staged Parquet files, read by DuckDB directly (no copy through Python, flat memory at any size).
-- An article listed by two sources belongs to the first source in the run's order; the other copy is logged
-- as skipped: duplicate_other_source (also when neither fetched it: not due for a revisit).
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

-- url_kind as a column, equal on both sides of the join below: a constant test in its condition made DuckDB join by
-- a nested loop, quadratic once these copies are many (two sources listing 100,000 articles not due: minutes)
other_source_copies as (
    select
        source,
        seq,
        'article' as url_kind
    from staged_ranked
    where copy_rank > 1

    union all

    -- a listed article not due for a revisit made no request, and each source decides that alone: when another
    -- source's row answers for the same article (its copy staged, a request that found it unchanged, or an
    -- earlier source's `not_due`), this row is that article again, as a fetched copy would be
    select
        not_due.source,
        not_due.seq,
        not_due.url_kind
    from ledger as not_due
    where
        not_due.url_kind = 'article'
        and not_due.outcome = 'unchanged'
        and not_due.reason = 'not_due'
        and exists (
            select 1
            from ledger as other
            where
                other.url_kind = 'article'
                and other.article_id = not_due.article_id
                and other.source <> not_due.source
                and (
                    (
                        other.outcome = 'unchanged'
                        and (
                            other.reason is distinct from 'not_due'
                            or list_position($sources, other.source) < list_position($sources, not_due.source)
                        )
                    )
                    or exists (
                        select 1
                        from staged_ranked
                        where staged_ranked.source = other.source and staged_ranked.seq = other.seq
                    )
                )
        )
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
        and ledger.url_kind = copies.url_kind;

create or replace temp table staged_rejected as
select * from read_parquet($rejected_files);

create or replace temp table staged_validation as
select * from read_parquet($validation_files);
