"""Build a synthetic newsflow warehouse for benchmarking the analyst views.

    python bench/synthetic_warehouse.py --articles 1000000 --output /tmp/synth-lake

The lake (a folder: SQLite catalog and Parquet data files, as newsflow makes it) is created through the real
connection and migrations (newsflow.warehouse: sql/schema, sql/views, sql/macros), then filled with SQL only:
every random choice is a hash of the row's key (deterministic for a given --seed), no Python loops over rows.

What it contains:
- 60 sources with Zipf-like volume (weight 1/rank), one language each (en, ar, ru, zh, fr, es, de, tr);
- 3 years of days ending yesterday, weekly seasonality (weekends about half a weekday) and a slow upward trend;
- real-length bodies (`--bodies long`, the default): a log-normal number of words (median 500, ~3.5 KB, 100 to
  3,000 words) drawn Zipf-like from ~300 news words, 30 Cyrillic, Arabic and Chinese words and a long tail of
  50,000 made-up words (`--vocab`); the Chinese sources write running Chinese text without spaces.
  `--bodies short` gives the first benchmark's ~60-word bodies (~360 characters) over 1,700 made-up words;
- topic bursts ("earthquake", "election", "ceasefire", "inflation") so term_coverage has something to find;
- ~5% duplicates: copies of an earlier article run by another outlet (duplicate_of / duplicate_kind set);
- injected outages (source-days with no rows), one source that stopped 4 days ago (stale) and one that
  stopped 20 days ago (silent);
- runs (one per day), fetch_log (a feed row per source per run, a row per article, some failed, rejected
  and unchanged rows) and sources, enough for source_freshness;
- with --not-due-rows N, what a service re-reading listings adds to fetch_log: about N `unchanged: not_due` rows
  (a known article listed again, no request made), a run every 15 minutes back from now listing the 50 newest
  articles of the ten biggest sources as of then (17,520,000: a year of it; fewer where a source has fewer);
- the term table term_coverage answers from (article_terms, by newsflow.stages.index_terms as after a load), timed apart
  (`article_terms` in the output); --no-terms leaves it empty.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

PREFIXES = ["daily", "evening", "morning", "national", "city", "global"]
SUFFIXES = ["herald", "times", "post", "tribune", "courier", "gazette", "observer", "chronicle", "monitor", "ledger"]
LANGUAGES = ["en", "ar", "ru", "en", "zh", "fr", "es", "en", "de", "tr"]
TIMEZONES = {
    "en": "Europe/London", "ar": "Asia/Beirut", "ru": "Europe/Moscow", "zh": "Asia/Shanghai",
    "fr": "Europe/Paris", "es": "Europe/Madrid", "de": "Europe/Berlin", "tr": "Europe/Istanbul",
}
NEWS_WORDS = """
the of and to in a is that for on said with was as by at from it his an be has have are were their
government minister president police city year people new after two three first last week month
officials report according told state country capital region local national international economy
market prices bank oil trade exports workers union strike protest court judge trial law parliament
vote party leader opposition campaign budget tax schools students hospital health doctors water
power electricity roads port airport border army security attack fire rain flood storm drought
harvest farmers food wheat fuel energy gas company companies investment billion million percent
growth rate central reform plan project construction housing rent transport railway bus traffic
football match team season cup festival film music museum culture church mosque ramadan holiday
summer winter weather temperature heat cold ministry agency spokesman statement interview talks
agreement deal sanctions embassy foreign visit meeting summit crisis refugees aid donors children
women families residents village district province mayor council police arrested suspects
investigation charges prison corruption inquiry media journalists newspaper television internet
technology phone data science university research study climate pollution emissions coal solar
wind nuclear industry factory jobs unemployment wages pension inflation currency dollar euro debt
loan imports shipping container quay cargo exports tourism hotels visitors beach mountain river
""".split()
FOREIGN_WORDS = """
правительство министр президент город выборы экономика рынок цены нефть рабочие
الحكومة وزير رئيس المدينة الانتخابات الاقتصاد السوق الأسعار النفط العمال
政府 部长 总统 城市 选举 经济 市场 价格 石油 工人
""".split()
TOPICS = [  # term, first day offset, length in days, probability an article of those days carries it
    ("earthquake", 200, 12, 0.25),
    ("earthquake", 900, 6, 0.15),
    ("ceasefire", 500, 40, 0.08),
    ("election", 330, 30, 0.10),
    ("election", 1060, 30, 0.10),
    ("inflation", 0, 1095, 0.02),
]
# source rank, first outage day offset, length in days (articles = 0); and a few low days (20% of normal)
OUTAGES = [(2, 410, 5), (4, 620, 3), (7, 800, 10), (11, 950, 4), (16, 300, 8), (23, 700, 6), (31, 150, 9)]
LOW_DAYS = [(1, 455, 2), (3, 1000, 1), (9, 520, 2)]
STOPPED = [(25, 4), (40, 20)]  # source rank, days before the last day when it stopped publishing
AGENCIES = ["Reuters", "AFP", "AP", "dpa", "Xinhua", "TASS", "agencies"]
DATE_SOURCES = [("jsonld", 45), ("meta", 25), ("feed", 10), ("sitemap", 5), ("time", 7), ("dateline", 5),
                ("url", 2), ("htmldate", 1)]
LANGUAGE_SOURCES = [("detected+declared", 80), ("detected", 10), ("page", 7), ("hint", 3)]


def u(*parts: str) -> str:
    """SQL for a pseudo-random uniform [0, 1) from a hash of the given SQL expressions."""
    return f"(hash({', '.join(parts)}) % 1000003) / 1000003.0"


def weighted_case(expr_u: str, choices: list[tuple[str, int]]) -> str:
    total = sum(w for _, w in choices)
    acc, parts = 0, []
    for value, weight in choices[:-1]:
        acc += weight
        parts.append(f"when {expr_u} < {acc / total!r} then '{value}'")
    return f"case {' '.join(parts)} else '{choices[-1][0]}' end"


def build(output: Path, articles: int, days: int, seed: int, threads: int | None, bodies: str = "long",
          vocab: int | None = None, memory_limit: str | None = None, terms: bool = True,
          not_due_rows: int = 0) -> dict:
    from newsflow.warehouse import open_for_write

    if output.exists():
        shutil.rmtree(output)
    con = open_for_write(output)
    con.execute("set timezone = 'UTC'")
    if threads:
        con.execute(f"set threads = {threads}")
    # the build's statements hold a whole table's rows at once; the writer's default cap (1GB) would spill
    con.execute(f"set memory_limit = '{memory_limit or '8GB'}'")
    timings: dict[str, float] = {}

    def step(name: str, sql: str) -> None:
        started = time.perf_counter()
        con.execute(sql)
        timings[name] = time.perf_counter() - started
        print(f"  {name:<14} {timings[name]:6.1f}s", file=sys.stderr)

    names = [p + s for s in SUFFIXES for p in PREFIXES]  # dailyherald, eveningherald, ...
    source_rows = ", ".join(
        f"({rank}, '{name}', '{LANGUAGES[(rank - 1) % len(LANGUAGES)]}', "
        f"'{TIMEZONES[LANGUAGES[(rank - 1) % len(LANGUAGES)]]}', {'sitemap' if rank % 7 == 0 else 'feed'!r})"
        for rank, name in enumerate(names, start=1)
    )
    step("sources", f"""
        create temp table syn_sources as
        select rank, name, language, timezone, kind, 1.0 / rank as weight
        from (values {source_rows}) as t(rank, name, language, timezone, kind)
    """)
    # 10,000 buckets in proportion to the source weights: a hash mod 10,000 picks a source Zipf-like
    step("buckets", """
        create temp table syn_buckets as
        with cum as (
            select rank, sum(weight) over (order by rank) / sum(weight) over () as hi from syn_sources
        ),
        bounds as (select rank, coalesce(lag(hi) over (order by rank), 0) as lo, hi from cum)
        select b, rank from range(10000) as r(b) join bounds on b / 10000.0 >= lo and b / 10000.0 < hi
    """)
    step("days", f"""
        create temp table syn_days as
        select
            cast(d as integer) as d,
            cast(current_date - {days} + cast(d as integer) as date) as day,
            (case isodow(current_date - {days} + cast(d as integer)) when 6 then 0.55 when 7 then 0.45 else 1.0 end)
                * (0.8 + 0.4 * d / {days}) as weight
        from range({days}) as r(d)
    """)
    gap_rows = [f"({r}, {s}, {n}, 0.0)" for r, s, n in OUTAGES] + [f"({r}, {s}, {n}, 0.2)" for r, s, n in LOW_DAYS]
    gap_rows += [f"({r}, {days - back}, {back}, 0.0)" for r, back in STOPPED]
    step("gaps", f"""
        create temp table syn_gaps as
        select rank, unnest(range(first_d, first_d + n)) as d, factor
        from (values {', '.join(gap_rows)}) as t(rank, first_d, n, factor)
    """)
    originals = round(articles * 0.95)
    step("counts", f"""
        create temp table syn_counts as
        with expected as (
            select
                s.rank, s.name, s.language, dd.d, dd.day,
                {originals} * s.weight / (select sum(weight) from syn_sources)
                    * dd.weight / (select sum(weight) from syn_days) as lambda
            from syn_sources as s cross join syn_days as dd
        )
        select
            e.rank, e.name, e.language, e.d, e.day,
            cast(floor(
                (e.lambda * (0.75 + 0.5 * {u(str(seed), 'e.rank', 'e.d', "'n'")})
                 + {u(str(seed), 'e.rank', 'e.d', "'r'")}) * coalesce(g.factor, 1.0)
            ) as integer) as n
        from expected as e
        left join syn_gaps as g on e.rank = g.rank and e.d = g.d
    """)
    vocab_list = "[" + ", ".join(f"'{w}'" for w in NEWS_WORDS) + "]"
    foreign_list = "[" + ", ".join(f"'{w}'" for w in FOREIGN_WORDS) + "]"
    syllables = "['ka', 'lo', 'mi', 'ten', 'dra', 'vos', 'rel', 'an', 'tu', 'shi', 'per', 'gol', 'nex', 'ba', 'ri', 'zo']"
    # real news words first (the most frequent), then made-up words of 3 (the first 4,096) or 4 syllables, the 30
    # foreign ones mixed in at ranks 310, 370, ..., 2,050
    step("vocab", f"""
        create temp table syn_vocab as
        with made_up as (
            select {syllables}[1 + i % 16] || {syllables}[1 + (i // 16) % 16] || {syllables}[1 + (i // 256) % 16]
                || case when i >= 4096 then {syllables}[1 + (i // 4096) % 16] else '' end as word
            from range({vocab or 1700}) as r(i)
        )
        select list(word order by pos) as words, count(*) as n
        from (
            select unnest({vocab_list}) as word, generate_subscripts({vocab_list}, 1) as pos
            union all
            select word, 300 + row_number() over () * 1.0 from made_up
            union all
            select unnest({foreign_list}), 250 + 60 * generate_subscripts({foreign_list}, 1)
        )
    """)
    if bodies == "long":
        # real articles are 3-5 KB: a log-normal number of words (median 500, ~90% between 220 and 1,150;
        # the sum of three uniforms stands in for a normal deviate), 100 to 3,000 words
        z = "(" + " + ".join(u("keyed.h", f"'z{i}'") for i in (1, 2, 3)) + " - 1.5) * 2"
        words_sql = f"cast(least(3000, greatest(100, round(500 * exp(0.5 * {z})))) as integer)"
    else:  # the short bodies of the first benchmark: 40-79 words (~360 characters)
        words_sql = "cast(40 + hash(keyed.h, 'len') % 40 as integer)"
    topic_rows = ", ".join(f"('{t}', {s}, {n}, {p})" for t, s, n, p in TOPICS)
    step("originals", f"""
        create temp table syn_originals as
        with rows as (
            select c.rank, c.name, c.language, c.d, c.day, unnest(range(c.n)) as k
            from syn_counts as c
            where c.n > 0
        ),
        keyed as (
            select *, hash({seed}, rank, d, k) as h from rows
        ),
        topics as (select * from (values {topic_rows}) as t(term, first_d, n, p)),
        topical as (
            select
                keyed.h,
                string_agg(topics.term, ' ') as terms
            from keyed
            join topics on keyed.d >= topics.first_d and keyed.d < topics.first_d + topics.n
            where {u('keyed.h', 'topics.term')} < topics.p
            group by keyed.h
        )
        select
            keyed.*,
            topical.terms,
            {words_sql} as nw,
            -- article_seq in publication order, as daily loads give it, and the rows stored in that order (the
            -- insert below keeps it), so the newest articles sit in the last files as in a lake fed by loads
            row_number() over (order by keyed.d, keyed.rank, keyed.k) as seq
        from keyed
        left join topical on keyed.h = topical.h
        order by seq
    """)
    agency_list = "[" + ", ".join(f"'{a}'" for a in AGENCIES) + "]"
    step("articles", f"""
        insert into articles
        with drawn as (
            -- word ranks drawn Zipf-like (log-uniform over the vocabulary)
            select
                o.*,
                v.words as vocab,
                list_transform(range(o.nw), lambda j: cast(floor(pow(v.n, {u('o.h', 'j')})) as integer)) as idx
            from syn_originals as o
            cross join syn_vocab as v
        ),
        worded as (
            -- Chinese sources write Chinese: each word rank becomes a two-character word from 3,500 common Han
            -- characters (the vocabulary's own Chinese words kept), written without spaces, a full stop every
            -- 12 words; every other source writes the vocabulary words
            select
                drawn.*,
                case
                    when language = 'zh' then list_transform(
                        idx,
                        lambda i, j: case
                            when unicode(vocab[i]) >= 11904 then vocab[i]
                            else chr(cast(19968 + (i * 7) % 3500 as integer))
                                || chr(cast(19968 + (i * 131 + 5) % 3500 as integer))
                        end || case when j % 12 = 0 then '。' else '' end
                    )
                    else list_transform(idx, lambda i: vocab[i])
                end as words
            from drawn
        ),
        shaped as (
            select
                o.* exclude (vocab, idx),
                left(md5(o.name || '/' || o.day || '/' || o.k), 20) as article_id,
                'https://www.' || o.name || '.example/' || strftime(o.day, '%Y/%m/%d') || '/'
                    || array_to_string(list_transform(o.idx[1:4], lambda i: o.vocab[i]), '-') || '-' || o.k as url,
                case
                    when o.language = 'zh' then array_to_string(o.words[1:7], '')
                    else upper(o.words[1][1]) || o.words[1][2:] || ' ' || array_to_string(o.words[2:7], ' ')
                end || coalesce(': ' || upper(o.terms[1]) || o.terms[2:], '') as title,
                coalesce(o.terms || ' ', '')
                    || case when o.language = 'zh' then array_to_string(o.words, '')
                    else array_to_string(o.words, ' ') || '.' end as body,
                cast(o.day as timestamptz) + to_seconds(cast(hash(o.h, 'sec') % 86400 as bigint)) as published_at
            from worded as o
        )
        select
            article_id,
            url,
            replace(url, 'https://www.', 'https://'),
            name,
            name || '.example',
            name,
            title,
            case when hash(h, 'au') % 10 < 7 then 'Reporter ' || (hash(h, 'au') % 40) end,
            published_at,
            day,
            {weighted_case(u('h', "'ds'"), DATE_SOURCES)},
            hash(h, 'dd') % 50 = 0,
            language,
            {weighted_case(u('h', "'ls'"), LANGUAGE_SOURCES)},
            body,
            length(body),
            (hash(h, 'ld') % 100) / 1000.0,
            sha256(body),
            hash(body),
            case when hash(h, 'cr') % 100 < 12 then {agency_list}[cast(1 + hash(h, 'ag') % {len(AGENCIES)} as bigint)] end,
            [['politics', 'economy', 'world', 'sport', 'culture'][cast(1 + hash(h, 'cat') % 5 as bigint)]],
            list_transform(words[1:2], lambda w: w),
            null,
            null,
            least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now()),
            200,
            null,
            null,
            'scheduled__' || cast(least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now())
                as date),
            'scheduled__' || cast(least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now())
                as date),
            'scheduled__' || cast(least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now())
                as date),
            'newsflow-synthetic-1',
            '{{"favor_precision": true}}',
            least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now()),
            least(published_at + to_minutes(cast(10 + hash(h, 'f') % 290 as bigint)), now()),
            seq,
            null,  -- access (migration 007): the page states nothing
            null,  -- listing_date, listing_title (migration 017): what no listing said
            null
        from shaped
    """)
    # copies: ~5% of all articles, another outlet running an earlier story a few hours later
    share = (articles - originals) / originals
    step("duplicates", f"""
        insert into articles
        with picked as (
            select
                a.*,
                b.rank as copy_rank,
                hash(a.article_id, 'copy') as h
            from articles as a
            join syn_buckets as b on b.b = hash(a.article_id, 'where') % 10000
            where {u('a.article_id', "'dup'")} < {share * 1.04!r}
        ),
        placed as (
            select
                p.*,
                s.name as copy_source,
                p.published_at + to_minutes(cast(30 + p.h % 1200 as bigint)) as copy_published,
                hash(p.h, 'kind') % 100 < 85 as exact
            from picked as p
            join syn_sources as s on p.copy_rank = s.rank
            where s.name != p.source
        )
        select
            left(md5(p.article_id || '/copy/' || p.copy_source), 20),
            'https://www.' || p.copy_source || '.example/wire/' || p.article_id,
            'https://' || p.copy_source || '.example/wire/' || p.article_id,
            p.copy_source,
            p.copy_source || '.example',
            p.copy_source,
            p.title,
            p.author,
            p.copy_published,
            cast(p.copy_published as date),
            p.date_source,
            false,
            p.language,
            p.language_source,
            case when p.exact then p.body else p.body || ' ' || p.copy_source end,
            case when p.exact then p.body_chars else p.body_chars + 1 + length(p.copy_source) end,
            p.link_density,
            case when p.exact then p.body_hash else sha256(p.body || ' ' || p.copy_source) end,
            p.simhash,
            coalesce(p.credit, {agency_list}[cast(1 + p.h % {len(AGENCIES)} as bigint)]),
            p.categories,
            p.tags,
            p.article_id,
            case when p.exact then 'exact' else 'near' end,
            least(p.copy_published + interval 1 hour, now()),
            200,
            null,
            null,
            'scheduled__' || cast(least(p.copy_published + interval 1 hour, now()) as date),
            'scheduled__' || cast(least(p.copy_published + interval 1 hour, now()) as date),
            'scheduled__' || cast(least(p.copy_published + interval 1 hour, now()) as date),
            p.extractor_version,
            p.extractor_settings,
            least(p.copy_published + interval 1 hour, now()),
            least(p.copy_published + interval 1 hour, now()),
            (select max(article_seq) from articles) + row_number() over (order by p.copy_published, p.article_id),
            p.access,
            null,
            null
        from placed as p
        join syn_sources as s on p.copy_source = s.name
        join syn_days as dd on cast(p.copy_published as date) = dd.day
        anti join syn_gaps as g on s.rank = g.rank and dd.d = g.d and g.factor = 0
    """)
    step("runs", """
        insert into runs
        select
            'scheduled__' || day,
            'news_ingest',
            cast(day as timestamptz) + interval 23 hour,
            cast(day as timestamptz) + interval 23 hour + interval 20 minute,
            cast(day as timestamptz) + interval 23 hour + interval 21 minute,
            'succeeded',
            '/opt/newsflow/sources.yaml',
            (select list(name order by rank) from syn_sources),
            0, 0, 0, 0, 0, 0,
            'newsflow-synthetic-1',
            null
        from syn_days
        union all
        select
            'scheduled__' || current_date, 'news_ingest', now() - interval 5 minute, now() - interval 1 minute,
            now(), 'succeeded', '/opt/newsflow/sources.yaml', (select list(name order by rank) from syn_sources),
            0, 0, 0, 0, 0, 0, 'newsflow-synthetic-1', null
    """)
    step("fetch_log", """
        insert into fetch_log
        with article_rows as (
            select
                first_run_id as run_id, source, url, canonical_url, 'loaded' as outcome, 'new' as reason,
                200 as http_status, body_chars * 12 as bytes, fetched_at, article_id
            from articles
            union all
            -- about 10% seen again the next day, unchanged
            select
                'scheduled__' || (cast(fetched_at as date) + 1), source, url, canonical_url, 'unchanged',
                'not_modified', 304, 0, fetched_at + interval 1 day, article_id
            from articles
            where hash(article_id, 'again') % 10 = 0 and cast(fetched_at as date) + 1 < current_date
            union all
            -- failed and rejected pages that never became articles
            select
                first_run_id, source, url || '?page=2', canonical_url || '?page=2',
                case when hash(article_id, 'bad') % 3 = 0 then 'rejected' else 'failed' end,
                case when hash(article_id, 'bad') % 3 = 0 then 'body_too_short' else 'http_503' end,
                case when hash(article_id, 'bad') % 3 = 0 then 200 else 503 end, 512, fetched_at, null
            from articles
            where hash(article_id, 'bad') % 100 < 2
        )
        select
            run_id, source, 'article', cast(row_number() over (partition by run_id, source order by url) as integer),
            url, canonical_url, outcome, reason, http_status, bytes,
            cast(50 + hash(url) % 900 as integer), 1, fetched_at, article_id, fetched_at + interval 1 minute,
            null  -- final_url (migration 008): no link redirected
        from article_rows
        union all
        select
            'scheduled__' || dd.day, s.name, s.kind, 0,
            'https://www.' || s.name || '.example/' || s.kind || '.xml',
            'https://' || s.name || '.example/' || s.kind || '.xml',
            'loaded', 'listed:50', 200, 40000, 120, 1,
            cast(dd.day as timestamptz) + interval 23 hour, null, cast(dd.day as timestamptz) + interval 23 hour, null
        from syn_days as dd cross join syn_sources as s
    """)
    if not_due_rows:
        # run r (15 minutes apart, r = 0 now) lists the 50 newest articles of each of the ten biggest sources as of
        # then; the window slides back through each source's articles over the runs, so an article stays listed
        # for some runs, as in a real feed
        runs = max(1, not_due_rows // 500)
        step("not_due", f"""
            insert into fetch_log
            with listing as (
                select source, count(*) as total
                from articles
                group by source
                order by total desc, source
                limit 10
            ),

            numbered as (
                select
                    articles.source, articles.url, articles.canonical_url, articles.article_id,
                    row_number() over (partition by articles.source order by articles.published_at, articles.article_id)
                        - 1 as n
                from articles
                inner join listing on articles.source = listing.source
            ),

            listed as (
                select
                    r.run, listing.source, k.seq,
                    listing.total - 1 - (r.run * listing.total) // {runs} - k.seq as n
                from range({runs}) as r(run)
                cross join listing
                cross join range(50) as k(seq)
            )

            select
                'scheduled__' || strftime(now() - to_minutes(15 * listed.run), '%Y-%m-%dT%H:%M'), listed.source,
                'article', cast(listed.seq as integer), numbered.url, numbered.canonical_url, 'unchanged', 'not_due',
                null, null, null, null, null, numbered.article_id, now() - to_minutes(15 * listed.run), null
            from listed
            inner join numbered on listed.source = numbered.source and listed.n = numbered.n
            order by listed.run desc, listed.source, listed.seq
        """)
    step("bookkeeping", """
        update runs set
            discovered = c.discovered, loaded = c.loaded, unchanged = c.unchanged, rejected = c.rejected,
            failed = c.failed, skipped = 0
        from (
            select
                run_id,
                count(*) as discovered,
                count(*) filter (where outcome = 'loaded') as loaded,
                count(*) filter (where outcome = 'unchanged') as unchanged,
                count(*) filter (where outcome = 'rejected') as rejected,
                count(*) filter (where outcome = 'failed') as failed
            from fetch_log where url_kind = 'article' group by run_id
        ) as c
        where runs.run_id = c.run_id;
        insert into sources
        select
            s.name, s.kind, 'https://www.' || s.name || '.example/' || s.kind || '.xml', s.language, s.timezone,
            'scheduled__' || (select min(day) from syn_days), 'scheduled__' || (select max(day) from syn_days), now()
        from syn_sources as s;
        insert into rejected_articles
        select
            f.run_id, f.source, f.seq, f.url, f.canonical_url, null, ['body_too_short'],
            ['expect_column_values_to_be_between(body_size)'], 'Teaser', f.fetched_at,
            cast(f.fetched_at as date), 'meta', 'en', 120, 'Teaser text', f.fetched_at, 'newsflow-synthetic-1',
            f.logged_at, null, null, f.http_status, null, null
        from fetch_log as f
        where f.outcome = 'rejected'
    """)
    if terms:
        # the term table, as the indexing step after each load keeps it (newsflow.stages.index_terms), timed on its own
        from newsflow.stages.index_terms import index_terms

        started = time.perf_counter()
        indexed = index_terms(con=con)
        timings["article_terms"] = time.perf_counter() - started
        print(f"  {'article_terms':<14} {timings['article_terms']:6.1f}s {indexed}", file=sys.stderr)
    stats = dict(zip(
        ["articles", "duplicates", "sources", "days", "fetch_log", "runs", "avg_body_chars"],
        con.execute("""
            select
                (select count(*) from articles),
                (select count(*) from articles where duplicate_of is not null),
                (select count(distinct source) from articles),
                (select count(distinct published_date) from articles),
                (select count(*) from fetch_log),
                (select count(*) from runs),
                (select round(avg(body_chars)) from articles)
        """).fetchone(),
        strict=True,
    ))
    stats["article_terms_rows"] = con.execute("select count(*) from article_terms").fetchone()[0]
    con.close()
    stats["seconds"] = round(sum(timings.values()), 1)
    if "article_terms" in timings:
        stats["article_terms_seconds"] = round(timings["article_terms"], 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3 * 365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--bodies", choices=["long", "short"], default="long",
                        help="long: real-length articles, median ~3.5 KB (default); short: the first benchmark's "
                             "~360-character bodies")
    parser.add_argument("--vocab", type=int,
                        help="made-up words in the vocabulary's long tail (default 50,000 for long bodies, 1,700 "
                             "for short: a day of real news has tens of thousands of distinct words)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for the build (default 8GB)")
    parser.add_argument("--not-due-rows", type=int, default=0,
                        help="add about this many `unchanged: not_due` fetch_log rows, ten 50-item listings a run every 15 "
                             "minutes back from now: what a service re-reading feeds adds (17520000: a year)")
    parser.add_argument("--no-terms", action="store_true",
                        help="leave the term table (article_terms) empty: term_coverage then reads every body")
    args = parser.parse_args(argv)
    vocab = args.vocab or (50_000 if args.bodies == "long" else 1_700)
    started = time.perf_counter()
    stats = build(args.output, args.articles, args.days, args.seed, args.threads, args.bodies, vocab,
                  args.memory_limit, terms=not args.no_terms, not_due_rows=args.not_due_rows)
    stats["wall_seconds"] = round(time.perf_counter() - started, 1)
    stats["size_mb"] = round(sum(f.stat().st_size for f in args.output.rglob("*") if f.is_file()) / 1e6, 1)
    stats["article_terms_mb"] = round(sum(f.stat().st_size for f in (args.output / "data" / "main" / "article_terms")
                                          .rglob("*") if f.is_file()) / 1e6, 1)
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
