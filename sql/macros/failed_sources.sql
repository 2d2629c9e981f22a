-- failed_sources(of_run_id, of_sources): the sources that failed in run of_run_id, among of_sources (a list of
-- names; null: all of the run's). The one rule the account step's verdict, the run summary and `newsflow status`
-- read: a source failed when a stage failed for it (its `source` row), or when none of its listings could be read,
-- its rows being only failed or skipped ones, a listing's among them, besides a web page that led to its listing
-- (a feed it announced, its robots.txt's sitemaps): read, but no listing. An article page that is gone is an
-- outcome of its URL, not of the source. unread_listings: the listings' `url_kind reason`, by kind then log order,
-- of a source whose stages ran (null for one whose stage failed).
-- Usage: select * from failed_sources('scheduled__2026-12-07T06:00:00+00:00', null)
-- noqa: disable=RF04
create or replace macro failed_sources(of_run_id, of_sources) as table
    with logged as (
        select
            source,
            url_kind,
            seq,
            outcome,
            reason,
            coalesce(
                url_kind <> 'article'
                and outcome = 'loaded'
                and reason in ('feed_linked', 'sitemaps_from_robots'),
                false
            ) as led_to_listing
        from fetch_log
        where
            run_id = of_run_id
            and (of_sources is null or list_contains(of_sources, source))
    ),

    judged as (
        select
            source,
            bool_or(url_kind = 'source') as stage_failed,
            bool_or(url_kind <> 'article')
            and bool_and(outcome in ('failed', 'skipped') or led_to_listing) as no_listing_read,
            list(url_kind || coalesce(' ' || reason, '') order by url_kind, seq)
            filter (where url_kind <> 'article' and not led_to_listing) as listings
        from logged
        group by source
    )

    select
        source,
        stage_failed,
        case when not stage_failed then listings end as unread_listings
    from judged
    where stage_failed or no_listing_read
    order by source
