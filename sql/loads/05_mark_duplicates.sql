-- Copies of the same story: exact (same body hash) or near (SimHash within 3 bits, found through four 16-bit
-- bands: by pigeonhole two hashes within 3 bits share at least one band). The copy points at the first article
-- seen; the original keeps duplicate_of null, so analysts can count a wire story once or per outlet.
create or replace temp table touched as
with changed as (
    select
        article_id,
        body_hash,
        simhash,
        body_chars,
        inserted_at
    from articles
    where
        article_id in (
            select load_decisions.article_id from load_decisions
            where load_decisions.outcome = 'loaded' and load_decisions.stored
        )
),

changed_bands as (
    select
        changed.article_id,
        changed.simhash,
        changed.inserted_at,
        bands.band,
        (changed.simhash >> (16 * bands.band)) & 65535 as band_value
    from changed
    cross join range(4) as bands (band)
    where changed.body_chars >= 300
),

other_bands as (
    select
        articles.article_id,
        articles.simhash,
        articles.inserted_at,
        bands.band,
        (articles.simhash >> (16 * bands.band)) & 65535 as band_value
    from articles
    cross join range(4) as bands (band)
    where articles.body_chars >= 300
),

-- articles a new or changed text now matches, found as duplicate_links finds copies below: one stored after the
-- changed article is its copy now (a story updated in place at one address to the text another address, stored
-- later and not staged in this run, already held), and was an original that a load reading it again would link.
-- Only for texts that replaced a stored one (a new article was stored after every other but the run's own), and only
-- those stored no earlier than it: an earlier one cannot be its copy, and a wire story's text matches every earlier
-- copy of the story, which would all be judged again at each load
matched as (
    select other.article_id
    from changed
    inner join articles as other on changed.body_hash = other.body_hash
    where other.inserted_at >= changed.inserted_at and other.article_id != changed.article_id

    union

    select other.article_id
    from changed_bands
    inner join other_bands as other
        on
            changed_bands.band = other.band
            and changed_bands.band_value = other.band_value
    where
        other.inserted_at >= changed_bands.inserted_at
        and other.article_id != changed_bands.article_id
        and bit_count(xor(changed_bands.simhash, other.simhash)) <= 3
)

select
    article_id,
    body_hash,
    simhash,
    body_chars,
    inserted_at,
    published_at
from articles
-- the run's articles, written or seen again with the same text (a confirmation writes no row, so the row's
-- last_run_id does not say it), the copies of those whose text it changed (a copy's page that answered 304 or was
-- not due is not staged, and its link to a text the lake no longer holds would stay until a load read it again),
-- and the articles their new texts match
where
    article_id in (
        select load_decisions.article_id from load_decisions
        where load_decisions.outcome in ('loaded', 'unchanged')
    )
    or duplicate_of in (
        select load_decisions.article_id from load_decisions
        where load_decisions.outcome = 'loaded'
    )
    or article_id in (select matched.article_id from matched);

create or replace temp table duplicate_links as
with exact_matches as (
    select
        touched.article_id,
        other.article_id as other_id,
        'exact' as kind,
        other.inserted_at as other_inserted,
        other.published_at as other_published
    from touched
    inner join articles as other
        on
            touched.body_hash = other.body_hash
            and touched.article_id != other.article_id
),

touched_bands as (
    -- each SimHash cut into four 16-bit bands, one row per band, so that the search is one hash equi-join
    select
        touched.article_id,
        touched.body_hash,
        touched.simhash,
        bands.band,
        (touched.simhash >> (16 * bands.band)) & 65535 as band_value
    from touched
    cross join range(4) as bands (band)
    where touched.body_chars >= 300
),

article_bands as (
    select
        articles.article_id,
        articles.body_hash,
        articles.simhash,
        articles.inserted_at,
        articles.published_at,
        bands.band,
        (articles.simhash >> (16 * bands.band)) & 65535 as band_value
    from articles
    cross join range(4) as bands (band)
    where articles.body_chars >= 300
),

near_matches as (
    select distinct
        touched_bands.article_id,
        other.article_id as other_id,
        'near' as kind,
        other.inserted_at as other_inserted,
        other.published_at as other_published
    from touched_bands
    inner join article_bands as other
        on
            touched_bands.band = other.band
            and touched_bands.band_value = other.band_value
    where
        touched_bands.article_id != other.article_id
        and touched_bands.body_hash != other.body_hash
        and bit_count(xor(touched_bands.simhash, other.simhash)) <= 3
),

candidates as (
    select * from exact_matches
    union all
    select * from near_matches
),

earlier as (
    -- only an article seen before this one can be its original: first inserted, then first published, then id
    select candidates.*
    from candidates
    inner join touched on candidates.article_id = touched.article_id
    where
        candidates.other_inserted < touched.inserted_at
        or (
            candidates.other_inserted = touched.inserted_at
            and (
                candidates.other_published < touched.published_at
                or (
                    candidates.other_published = touched.published_at
                    and candidates.other_id < candidates.article_id
                )
            )
        )
),

ranked as (
    select
        article_id,
        other_id,
        kind,
        row_number() over (
            partition by article_id
            order by kind = 'exact' desc, other_inserted asc, other_published asc, other_id asc
        ) as link_rank
    from earlier
)

select
    article_id,
    other_id as duplicate_of,
    kind as duplicate_kind
from ranked
where link_rank = 1;

-- only rows whose link changes are updated: in a lake an update rewrites the row
update articles
set
    duplicate_of = null,
    duplicate_kind = null
where
    article_id in (select touched.article_id from touched)
    and duplicate_of is not null
    and article_id not in (select duplicate_links.article_id from duplicate_links);

update articles
set
    duplicate_of = links.duplicate_of,
    duplicate_kind = links.duplicate_kind
from duplicate_links as links
where
    articles.article_id = links.article_id
    and (
        articles.duplicate_of is distinct from links.duplicate_of
        or articles.duplicate_kind is distinct from links.duplicate_kind
    );
