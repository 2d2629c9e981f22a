"""The analyst views and table macros in sql/views, on small hand-made warehouses with exact expected results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from newsflow.warehouse import connect, migrate, object_files, open_for_write, run_sql_file

NOW = datetime(2024, 1, 1, tzinfo=UTC)  # bookkeeping timestamps only: views never look at them


@pytest.fixture
def con(tmp_path, monkeypatch):
    path = tmp_path / "warehouse"
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(path))
    con = connect()
    con.execute("set timezone = 'UTC'")
    migrate(con)
    yield con
    con.close()


def add(con, article_id, source, day, *, language="en", title="A headline", body="Some body text.",
        duplicate_of=None, credit=None, published_at=None):
    published_at = published_at or datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
    con.execute(
        """
        insert into articles (
            article_id, url, canonical_url, source, title, published_at, published_date, language, body,
            body_hash, credit, duplicate_of, duplicate_kind, first_run_id, last_run_id, changed_run_id,
            extractor_version, inserted_at, updated_at
        ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'r1', 'r1', 'r1', 'test', ?, ?)
        """,
        [
            article_id, f"https://{source}.example/{article_id}", f"https://{source}.example/{article_id}", source,
            title, published_at, day, language, body, f"hash-{article_id}", credit, duplicate_of,
            "exact" if duplicate_of else None, NOW, NOW,
        ],
    )


def rows(con, sql, params=None):
    return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()


D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 10)  # Monday, Tuesday, the Sunday after


@pytest.fixture
def coverage(con):
    """Three sources over three days; b1 and c1 are copies of a1 (a wire story run by three outlets)."""
    add(con, "a1", "alpha", D1, body="Wire story about the port.")
    add(con, "a2", "alpha", D1)
    add(con, "a3", "alpha", D1, language="fr")
    add(con, "b1", "beta", D1, duplicate_of="a1", credit="Reuters")
    add(con, "b2", "beta", D1)
    add(con, "c1", "gamma", D1, duplicate_of="a1", credit="Reuters")
    add(con, "a4", "alpha", D2)
    add(con, "b3", "beta", D2)
    add(con, "b4", "beta", D2)
    add(con, "c2", "gamma", D2, duplicate_of="b3")
    add(con, "c3", "gamma", D3)
    add(con, "b5", "beta", D3, credit="AFP")
    return con


def test_views_and_macros_are_one_file_each_and_reapply(con):
    files = object_files()
    assert set(files) >= {
        "coverage_daily", "coverage_daily_per_outlet", "coverage_weekly", "source_freshness", "coverage_gaps",
        "term_coverage", "source_coverage", "articles_daily_by_credit", "listing_turnover", "quality_changes",
    }
    for path in files.values():  # create or replace: applying a file again is harmless
        run_sql_file(con, path)
    assert migrate(con) == []
    defined = {r[0] for r in con.execute(
        "select view_name from duckdb_views() where database_name = 'lake' and not internal union all "
        "select function_name from duckdb_functions() where database_name = 'lake' and function_type in ('macro', 'table_macro')"
    ).fetchall()}
    assert defined == set(files)


def test_an_object_without_a_file_is_dropped_on_migrate(con):
    con.execute("create view old_view as select 1 as x")
    con.execute("create macro old_macro(x) as table select x")
    migrate(con)
    names = {r[0] for r in con.execute(
        "select view_name from duckdb_views() where database_name = 'lake' union all "
        "select function_name from duckdb_functions() where database_name = 'lake'"
    ).fetchall()}
    assert "old_view" not in names and "old_macro" not in names and "coverage_daily" in names


def test_coverage_daily_counts_originals_once(coverage):
    got = rows(coverage, "select source, language, day, articles, share from coverage_daily order by day, source, language")
    assert got == [
        ("alpha", "en", D1, 2, 2 / 4),
        ("alpha", "fr", D1, 1, 1 / 4),
        ("beta", "en", D1, 1, 1 / 4),
        ("alpha", "en", D2, 1, 1 / 3),
        ("beta", "en", D2, 2, 2 / 3),
        ("beta", "en", D3, 1, 1 / 2),
        ("gamma", "en", D3, 1, 1 / 2),
    ]
    sums = rows(coverage, "select day, sum(share) from coverage_daily group by day order by day")
    assert [d for d, _ in sums] == [D1, D2, D3]
    assert all(s == pytest.approx(1.0) for _, s in sums)
    assert rows(coverage, "select sum(articles) from coverage_daily") == [(9,)]  # 12 rows, 3 copies


def test_coverage_daily_per_outlet_counts_every_copy(coverage):
    got = rows(
        coverage,
        "select source, language, day, articles, share, duplicates from coverage_daily_per_outlet "
        "where day = ? order by source, language",
        [D1],
    )
    assert got == [
        ("alpha", "en", D1, 2, 2 / 6, 0),
        ("alpha", "fr", D1, 1, 1 / 6, 0),
        ("beta", "en", D1, 2, 2 / 6, 1),
        ("gamma", "en", D1, 1, 1 / 6, 1),
    ]
    assert rows(coverage, "select sum(articles), sum(duplicates) from coverage_daily_per_outlet") == [(12, 3)]
    sums = rows(coverage, "select sum(share) from coverage_daily_per_outlet group by day")
    assert all(s == pytest.approx(1.0) for (s,) in sums)


def test_coverage_weekly_groups_by_iso_week(coverage):
    add(coverage, "a5", "alpha", date(2024, 3, 11))  # the next Monday starts a new week
    got = rows(coverage, "select source, language, week, articles, share from coverage_weekly order by week, source, language")
    monday, next_monday = date(2024, 3, 4), date(2024, 3, 11)
    assert got == [
        ("alpha", "en", monday, 3, 3 / 9),
        ("alpha", "fr", monday, 1, 1 / 9),
        ("beta", "en", monday, 4, 4 / 9),
        ("gamma", "en", monday, 1, 1 / 9),
        ("alpha", "en", next_monday, 1, 1.0),
    ]


def test_articles_daily_by_credit(coverage):
    got = rows(
        coverage,
        "select source, credit_kind, articles, share from articles_daily_by_credit where day = ? order by source, credit_kind",
        [D1],
    )
    assert got == [
        ("alpha", "original", 3, 1.0),
        ("beta", "original", 1, 0.5),
        ("beta", "wire", 1, 0.5),
        ("gamma", "wire", 1, 1.0),
    ]


def test_source_freshness_statuses(con):
    now = con.execute("select now()").fetchall()[0][0]
    for name in ("fresh", "stale", "silent", "never"):
        con.execute(
            "insert into sources (name, kind, locator, updated_at) values (?, 'feed', ?, ?)",
            [name, f"https://{name}.example/rss", NOW],
        )
    ago = {"fresh": [1, 30, 40], "stale": [3 * 24, 20 * 24], "silent": [10 * 24, 40 * 24]}  # hours before now
    for source, hours in ago.items():
        for i, h in enumerate(hours):
            at = now - timedelta(hours=h)
            add(con, f"{source}{i}", source, at.date(), published_at=at)
    fetched = now - timedelta(hours=2)
    for i, source in enumerate(("fresh", "silent", "never")):
        con.execute(
            "insert into fetch_log (run_id, source, url_kind, seq, url, outcome, fetched_at, logged_at) "
            "values ('r1', ?, 'feed', ?, 'https://x.example/rss', 'unchanged', ?, ?)",
            [source, i, fetched, NOW],
        )
    got = {
        r[0]: r[1:]
        for r in rows(
            con,
            "select source, articles_1d, articles_7d, articles_30d, status, last_fetched is not null, "
            "last_published from source_freshness",
        )
    }
    assert set(got) == {"fresh", "stale", "silent", "never"}
    assert got["fresh"][:5] == (1, 3, 3, "fresh", True)
    assert got["fresh"][5] == now - timedelta(hours=1)
    assert got["stale"][:5] == (0, 1, 2, "stale", False)
    assert got["silent"][:5] == (0, 0, 1, "silent", True)
    assert got["never"] == (0, 0, 0, "silent", True, None)


@pytest.fixture
def gaps(con):
    """steady: 5 a day for 40 days. outage: the same, but nothing on days 30-34. dip: 5 a day but 1 on day 20."""
    start = date(2024, 1, 1)
    con.execute(
        """
        insert into articles (article_id, url, canonical_url, source, published_at, published_date, body, body_hash,
                              first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at, updated_at)
        select
            s || '-' || d || '-' || k, 'u', 'u', s,
            cast($start as timestamptz) + to_days(cast(d as integer)), cast($start as date) + cast(d as integer), 'body', 'h', 'r', 'r', 'r', 't',
            $now, $now
        from (values ('steady'), ('outage'), ('dip')) as t(s), range(40) as r(d), range(5) as q(k)
        where not (s = 'outage' and d between 30 and 34) and not (s = 'dip' and d = 20 and k > 0)
        """,
        {"start": start, "now": NOW},
    )
    return start


def test_coverage_gaps_flags_silent_days_from_the_spine(con, gaps):
    got = rows(con, "select source, day, articles, baseline_median, baseline_mad, gap_kind from coverage_gaps order by source, day")
    outage = [(("outage", gaps + timedelta(days=d), 0, 5.0, 0.0, "zero")) for d in range(30, 35)]
    dip = [("dip", gaps + timedelta(days=20), 1, 5.0, 0.0, "low")]
    assert got == dip + outage
    assert not any(r[0] == "steady" for r in got)


def test_coverage_gaps_needs_a_baseline_and_ignores_normal_noise(con):
    start = date(2024, 5, 1)
    counts = [3, 4, 5, 4, 3, 5, 4, 3, 4, 5, 4, 3, 4, 5, 3]  # ordinary variation, never flagged
    for d, n in enumerate(counts):
        for k in range(n):
            add(con, f"n{d}-{k}", "noisy", start + timedelta(days=d))
    add(con, "late", "newcomer", start + timedelta(days=10))  # one article: too little history for a baseline
    add(con, "late2", "newcomer", start + timedelta(days=14))
    assert rows(con, "select * from coverage_gaps") == []


def test_term_coverage_matches_whole_words_case_insensitively_and_normalises(con):
    add(con, "t1", "alpha", D1, title="EARTHQUAKE hits the coast", body="Buildings shook.")
    add(con, "t2", "alpha", D1, title="Aftershocks", body="The earthquake was felt inland.")
    add(con, "t3", "beta", D1, title="Markets", body="Prices rose.")
    add(con, "t4", "beta", D1, title="Copy", body="The Earthquake was felt inland.", duplicate_of="t2")
    add(con, "t5", "beta", D2, title=None, body="Earthquakes are rare here. Iranian officials said so.")
    add(con, "t6", "beta", D2, title="Правительство", body="Текст.")
    add(con, "t7", "beta", D2, title="Weather", body="Rain in Iran's north (earthquake-proof homes held).")
    add(con, "t8", "alpha", D3, title="Football", body="A match.")
    day = rows(con, "select period, articles, all_articles, share from term_coverage('  Earthquake ', 'day')")
    # whole words: 'Earthquakes' is another word, 'earthquake-proof' contains the word
    assert day == [(D1, 2, 3, 2 / 3), (D2, 1, 3, 1 / 3), (D3, 0, 1, 0.0)]
    week = rows(con, "select period, articles, all_articles, share from term_coverage('earthquake', 'week')")
    assert week == [(date(2024, 3, 4), 3, 7, 3 / 7)]
    month = rows(con, "select period, articles, all_articles from term_coverage('EARTHQUAKE', 'month')")
    assert month == [(date(2024, 3, 1), 3, 7)]
    cyrillic = rows(con, "select period, articles from term_coverage('ПРАВИТЕЛЬСТВО', 'day') where articles > 0")
    assert cyrillic == [(D2, 1)]
    iran = rows(con, "select period, articles from term_coverage('Iran', 'day') where articles > 0")
    assert iran == [(D2, 1)]  # "Iran's" yes, "Iranian" no
    # LIKE wildcards and regex characters are not word characters: they split the term, they never match
    assert rows(con, "select sum(articles) from term_coverage('earth%', 'day')") == [(0,)]
    assert rows(con, "select sum(articles) from term_coverage('earth.uake', 'day')") == [(0,)]
    assert rows(con, "select sum(articles) from term_coverage('Пр_вительство', 'day')") == [(0,)]
    assert rows(con, "select sum(articles), count(*) from term_coverage('', 'day')") == [(0, 3)]
    with pytest.raises(Exception, match="grain must be day, week or month"):
        rows(con, "select * from term_coverage('earthquake', 'year')")


def test_a_wrong_grain_raises_on_a_warehouse_without_articles(tmp_path):
    """The grain was checked per row: a lake with no article yet answered no rows, as if the grain were right."""
    con = open_for_write(tmp_path / "lake")
    for query in ("select * from term_coverage('x', 'year')", "select * from source_coverage('x', 'fortnight')"):
        with pytest.raises(duckdb.InvalidInputException, match="grain must be day, week or month"):
            con.execute(query).fetchall()
    for grain in ("day", "week", "month"):
        assert con.execute(f"select * from term_coverage('x', '{grain}')").fetchall() == []
        assert con.execute(f"select * from source_coverage('x', '{grain}')").fetchall() == []
    con.close()


def test_source_coverage(coverage):
    got = rows(coverage, "select period, articles, all_articles, share from source_coverage('alpha', 'day')")
    assert got == [(D1, 3, 4, 3 / 4), (D2, 1, 3, 1 / 3), (D3, 0, 2, 0.0)]
    gamma = rows(coverage, "select period, articles, all_articles from source_coverage('gamma', 'week')")
    assert gamma == [(date(2024, 3, 4), 1, 9)]  # its two copies are counted for the originals' sources
    total = rows(
        coverage,
        "select sum(share) from (select * from source_coverage('alpha', 'month') union all "
        "select * from source_coverage('beta', 'month') union all select * from source_coverage('gamma', 'month'))",
    )
    assert total[0][0] == pytest.approx(1.0)


def test_source_coverage_of_a_source_that_does_not_exist_raises(coverage):
    """A typo ('Alpha' for 'alpha') answered 0 for every period, indistinguishable from a silent outlet."""
    for src in ("'Alpha'", "'alpha '", "null"):
        with pytest.raises(duckdb.InvalidInputException, match="no source named"):
            rows(coverage, f"select * from source_coverage({src}, 'day')")
    # a configured source that has no original article is a source: 0 in every period
    coverage.execute("insert into sources (name, kind, locator, updated_at) values ('quiet', 'feed', 'https://quiet.example/rss', now())")
    assert rows(coverage, "select sum(articles), count(*) from source_coverage('quiet', 'day')") == [(0, 3)]


def test_macros_take_a_subquery_for_the_name_they_check(coverage):
    """An analyst names the latest quality run, or a source, by a subquery: source_coverage and quality_changes
    raised "no ... named" of a name they hold (the error, one side of an AND, was evaluated whatever the others
    said); a subquery naming nothing still raises."""
    from newsflow.quality_checks import write_checks

    check = {"check_name": "freshness", "source": "alpha", "observed": 1.0, "expected": "<= 48h", "details": None}
    write_checks(coverage, "q1", [{**check, "status": "pass"}], checked_at=NOW)
    write_checks(coverage, "q2", [{**check, "status": "fail"}], checked_at=NOW + timedelta(hours=1))
    by_name = rows(coverage, "select * from source_coverage('alpha', 'day')")
    assert rows(coverage, "select * from source_coverage((select 'alpha'), 'day')") == by_name
    assert rows(coverage, "select * from source_coverage((select min(source) from articles), 'day')") == by_name
    latest = "(select run_id from quality_checks order by checked_at desc limit 1)"
    assert rows(coverage, f"select check_name, source, previous_status, status from quality_changes({latest})") == \
        [("freshness", "alpha", "pass", "fail")]
    with pytest.raises(duckdb.InvalidInputException, match="no source named 'Alpha'"):
        rows(coverage, "select * from source_coverage((select 'Alpha'), 'day')")
    with pytest.raises(duckdb.InvalidInputException, match="no quality run named 'q9'"):
        rows(coverage, "select * from quality_changes((select 'q9'))")


def test_term_coverage_phrases_and_scripts_without_spaces(con):
    add(con, "p1", "alpha", D1, title="Rates", body="The Central Bank's governor spoke; central-bank watchers cheered.")
    add(con, "p2", "alpha", D1, title="Banking", body="The central banking system and a bank that is central.")
    add(con, "p3", "beta", D1, title="政府会议", body="政府部长今天召开会议，讨论经济问题。")
    add(con, "p4", "beta", D1, title="東京", body="東京都の知事が会見した。")
    add(con, "p5", "beta", D1, title="Σεισμός", body="ΣΕΙΣΜΌΣ στην Αθήνα.")

    def hits(term):
        return rows(con, "select sum(articles) from term_coverage(?, 'day')", [term])[0][0]

    assert hits("central bank") == 1  # "Central Bank's", not "central banking" nor "bank that is central"
    assert hits("Central  BANK") == 1  # spacing and case of the term do not matter
    assert hits("bank central") == 0  # the words in order
    assert hits("政府") == 1 and hits("部长") == 1  # inside running Chinese text
    assert hits("政府部长") == 1 and hits("部长政府") == 0
    assert hits("東京都") == 1 and hits("知事") == 1
    assert hits("σεισμός") == 1  # Greek, upper case with a tonos in the text
    assert hits("?!") == 0


def test_migrate_recreates_objects_only_when_a_file_or_the_catalog_changed(con, tmp_path, monkeypatch):
    """Every load migrates: unchanged objects are left as they are (no new lake snapshot), while an edited file or
    an object replaced by hand is brought back to its file's definition."""
    import shutil

    def snapshots():
        return con.execute("select count(*) from lake.snapshots()").fetchone()[0]

    def pattern_of(term):
        return con.execute("select term_pattern(?)", [term]).fetchone()[0]

    before = snapshots()
    migrate(con)
    assert snapshots() == before  # nothing changed: nothing written
    con.execute("create or replace view coverage_daily as select 1 as replaced_by_hand")
    migrate(con)
    assert "replaced_by_hand" not in [d[0] for d in con.execute("select * from coverage_daily").description]
    sql = tmp_path / "sql"
    shutil.copytree(object_files()["term_probe"].parents[1], sql)
    probe = sql / "macros" / "term_probe.sql"
    probe.write_text("create or replace macro term_probe(term) as 'edited';\n", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(sql))
    assert con.execute("select term_probe('central bank')").fetchone()[0] == "central"
    migrate(con)
    assert con.execute("select term_probe('central bank')").fetchone()[0] == "edited"
    assert pattern_of("x")  # the objects that were not edited are still there


def test_coverage_gaps_never_judges_a_day_in_progress_or_a_publishers_tomorrow(con):
    """The spine ran to the last day any source published: on a live lake today (and, east of UTC, tomorrow) was an
    outage for every source that had not published yet, and the dashboard's heatmap marked it. Each source's days
    count to its own last complete day."""
    zones = {"london": "Etc/GMT", "tokyo": "Asia/Tokyo"}
    today = {}
    for source, zone in zones.items():
        con.execute("insert into sources (name, kind, locator, timezone, updated_at) values (?, 'feed', 'x', ?, ?)",
                    [source, zone, NOW])
        today[source] = con.execute("select cast(timezone(?, now()) as date)", [zone]).fetchone()[0]
        for d in range(30, 0, -1):
            for k in range(10):
                add(con, f"{source}-{d}-{k}", source, today[source] - timedelta(days=d))
    for k in range(3):
        add(con, f"tokyo-today-{k}", "tokyo", today["tokyo"])  # London has published nothing yet today
    add(con, "tokyo-tomorrow", "tokyo", today["tokyo"] + timedelta(days=1))  # a page dated ahead
    assert rows(con, "select * from coverage_gaps") == []
    yesterday = today["london"] - timedelta(days=1)  # complete: judged, a real drop
    con.execute("delete from articles where source = 'london' and published_date = ? and article_id not like '%-0'",
                [yesterday])
    assert rows(con, "select source, day, articles, gap_kind from coverage_gaps") == [("london", yesterday, 1, "low")]


def test_the_last_complete_day_is_the_sources_own_or_complete_everywhere():
    import duckdb

    from newsflow.config import sql_dir

    con = duckdb.connect()
    con.execute((sql_dir() / "macros" / "last_complete_day.sql").read_text())
    cases = [  # zone, instant (UTC), the newest day that has ended there
        ("America/Los_Angeles", "2026-12-05 00:30", date(2026, 12, 3)),  # 16:30 on the 4th there
        ("America/Los_Angeles", "2026-12-05 08:30", date(2026, 12, 4)),
        # east of UTC, a day is complete once it has ended in UTC too: UTC stamps keep their UTC day
        ("Asia/Tokyo", "2026-12-04 14:59", date(2026, 12, 3)),
        ("Asia/Tokyo", "2026-12-04 15:00", date(2026, 12, 3)),
        ("Asia/Tokyo", "2026-12-05 00:00", date(2026, 12, 4)),
        # no zone of its own: its pages' offsets may put its days anywhere; a day is complete once it has ended
        # at UTC-12, at noon UTC the next day
        (None, "2026-12-05 11:59", date(2026, 12, 3)), ("UTC", "2026-12-05 12:00", date(2026, 12, 4)),
    ]
    for zone, instant, day in cases:
        assert con.execute("select last_complete_day(?, cast(? || ':00+00' as timestamptz))",
                           [zone, instant]).fetchone()[0] == day, (zone, instant)


def test_volume_of_a_zoned_source_with_utc_stamps_is_not_judged_before_the_utc_day_ends(con):
    """An Asia/Shanghai outlet whose feed dates are `GMT` stamps (their UTC day is its published_date, docs/dates.md),
    48 a day: at 16:30 UTC its 5 December (32 articles so far) was judged complete and failed volume_latest_day."""
    from newsflow.quality_checks import check_volume

    con.execute("insert into sources (name, kind, locator, timezone, updated_at) "
                "values ('shanghai', 'feed', 'x', 'Asia/Shanghai', now())")
    start = datetime(2026, 11, 20, tzinfo=UTC)
    for k in range(15 * 48 + 32):  # every half hour up to 15:30 UTC on 5 December
        at = start + timedelta(minutes=30 * k)
        add(con, f"s{k}", "shanghai", at.date(), published_at=at)
    (row,) = check_volume(con, now=datetime(2026, 12, 5, 16, 30, tzinfo=UTC))
    assert (row["status"], row["observed"]) == ("pass", 48.0)


def test_coverage_gaps_low_uses_the_volume_checks_scale_when_the_spread_is_zero(con):
    """MAD 0 (a source of exactly 2 a day) made any day below the median 'low': 123 of 129 on a synthetic lake."""
    start = date(2024, 5, 1)
    for d in range(20):
        for k in range(2 if d != 15 else 1):
            add(con, f"small-{d}-{k}", "small", start + timedelta(days=d))
        for k in range(20 if d != 15 else 14):
            add(con, f"big-{d}-{k}", "big", start + timedelta(days=d))
        for k in range(20 if d != 16 else 13):
            add(con, f"drop-{d}-{k}", "drop", start + timedelta(days=d))
    # small: 1 against 2, within sqrt(2)/2*3; big: 14 against 20 is within 3*sqrt(20)/2 = 6.7; drop: 13 is not
    assert rows(con, "select source, day, articles, gap_kind from coverage_gaps") == [
        ("drop", start + timedelta(days=16), 13, "low")]


def test_source_freshness_says_when_a_source_was_last_answered_asked_and_listed(con):
    now = con.execute("select now()").fetchone()[0]
    for name in ("down", "renamed"):
        con.execute("insert into sources (name, kind, locator, updated_at) values (?, 'feed', 'https://x.example/rss', ?)",
                    [name, NOW])
    fetch = ("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, fetched_at, logged_at) "
             "values (?, ?, 'feed', 0, 'https://x.example/rss', ?, ?, ?)")
    con.execute(fetch, ["r1", "down", "loaded", now - timedelta(days=10), now - timedelta(days=10)])
    con.execute(fetch, ["r2", "down", "failed", now - timedelta(hours=1), now - timedelta(hours=1)])
    con.execute(fetch, ["r2", "renamed", "unchanged", now - timedelta(days=200), now - timedelta(days=200)])
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                "('r1', 'news_ingest', ?, ?, 'succeeded', ['down', 'renamed']), "
                "('r2', 'news_ingest', ?, ?, 'succeeded', ['down']), "
                "('rp', 'news_reprocess', ?, ?, 'succeeded', ['renamed'])",
                [now - timedelta(days=200)] * 2 + [now - timedelta(hours=1)] * 2 + [now] * 2)
    got = {r[0]: r[1:] for r in rows(con, "select source, last_fetched, last_attempted, last_listed "
                                          "from source_freshness")}
    # a site that answers nothing is no longer fetched, though still asked; a source left out of the sources file
    # is listed last when a run last read it (a reprocess reads the archive, not the source)
    assert got["down"] == (now - timedelta(days=10), now - timedelta(hours=1), now - timedelta(hours=1))
    assert got["renamed"] == (now - timedelta(days=200), now - timedelta(days=200), now - timedelta(days=200))


def test_a_partial_reprocess_does_not_make_a_source_look_asked(con):
    """A news_reprocess asks no site. A source whose extract failed there gets a `source` row without a fetch time,
    logged when the load ran: `last_attempted` took it for a request, so a site last asked ten days ago looked asked
    today and not answering (the README's "which sources have gone quiet" question)."""
    now = con.execute("select now()").fetchone()[0]
    asked = now - timedelta(days=10)
    con.execute("insert into sources (name, kind, locator, updated_at) values ('quiet', 'feed', 'https://q.example/rss', ?)",
                [NOW])
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) values "
                "('ingest', 'news_ingest', ?, ?, 'succeeded', ['quiet']), "
                "('reprocess', 'news_reprocess', ?, ?, 'partial', ['quiet'])", [asked, asked, now, now])
    fetch = ("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, reason, fetched_at, logged_at) "
             "values (?, 'quiet', ?, 0, ?, ?, ?, ?, ?)")
    con.execute(fetch, ["ingest", "article", "https://q.example/a", "loaded", "new", asked, asked])
    # the failed source's rows as failure_ledger writes them: its archived article keeps the fetch it was read from
    con.execute(fetch, ["reprocess", "article", "https://q.example/a", "failed", "source_failed:extract", asked, now])
    con.execute(fetch, ["reprocess", "source", "https://q.example/rss", "failed",
                        "source_failed:extract: Is a directory", None, now])
    assert rows(con, "select last_fetched, last_attempted from source_freshness") == [(asked, asked)]


def test_source_freshness_counts_as_asked_what_the_quality_checks_and_the_revisit_wait_count(con):
    """`last_attempted` writes in SQL what stages/job.py's REQUESTED says for the rates and the 404/410 wait: one
    row per outcome and reason, each its own source, and the two agree on every one."""
    from newsflow.stages.job import OUTCOMES, REQUESTED

    now = con.execute("select now()").fetchone()[0]
    reasons = (None, "", "not_due", "not_modified", "same_content", "new", "over_limit", "http_404", "body_too_short")
    cases = {f"s{i}": (outcome, reason) for i, (outcome, reason)
             in enumerate((o, r) for o in OUTCOMES for r in reasons)}
    for name, (outcome, reason) in cases.items():
        con.execute("insert into sources (name, kind, locator, updated_at) values (?, 'urls', 'u.txt', ?)", [name, NOW])
        con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, reason, logged_at) "
                    "values ('r1', ?, 'article', 0, 'https://x.example/a', ?, ?, ?)", [name, outcome, reason, now])
    asked = {r[0] for r in rows(con, f"select source from fetch_log where {REQUESTED}")}
    attempted = {r[0] for r in rows(con, "select source from source_freshness where last_attempted is not null")}
    assert asked == attempted
    assert {cases[s] for s in asked} >= {("failed", "http_404"), ("unchanged", "not_modified")}
    assert not {cases[s] for s in asked} & {("unchanged", "not_due"), ("skipped", "over_limit")}


def test_failed_sources_is_the_one_rule_a_sources_failure_is_judged_by(con):
    """Each case a source of one run: which failed, and why; the account step, the run summary and `newsflow status`
    all read this macro."""
    logged = {
        # a stage failed for it: the load wrote its `source` row, whatever else it logged
        "stage": [("source", "failed", "fetch_extract_failed"), ("feed", "loaded", None)],
        # every listing refused, its robots.txt-closed one skipped
        "unread": [("feed", "failed", "http_404"), ("sitemap", "skipped", "robots_disallowed"),
                   ("feed", "failed", "http_404")],
        # a page that only led to its feed, which then answered 404: nothing was read
        "pointer": [("page", "loaded", "feed_linked"), ("feed", "failed", "http_404")],
        # one listing of two read: the source did not fail
        "half": [("feed", "failed", "http_404"), ("sitemap", "loaded", None), ("article", "loaded", None)],
        # its listing read, every article gone: the URLs' outcome, not the source's
        "gone": [("feed", "loaded", None), ("article", "failed", "http_404")],
        # a WARC cut short after pages were read: its `warc` row failed, its pages loaded
        "cut": [("warc", "failed", "warc_truncated"), ("article", "loaded", None)],
        # a `urls` source: no listing at all, so none unread, whatever its pages did
        "urls": [("article", "failed", "timeout")],
    }
    for source, rows_of in logged.items():
        for seq, (kind, outcome, reason) in enumerate(rows_of):
            con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, reason, logged_at) "
                        "values ('r1', ?, ?, ?, ?, ?, ?, ?)",
                        [source, kind, seq, f"https://{source}.example/{seq}", outcome, reason, NOW])
    # the same names in another run, all loaded: a run is judged on its own rows
    con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, logged_at) "
                "values ('r2', 'unread', 'feed', 0, 'https://unread.example/0', 'loaded', ?)", [NOW])
    assert rows(con, "select * from failed_sources('r1', null)") == [
        ("pointer", False, ["feed http_404"]),
        ("stage", True, None),
        ("unread", False, ["feed http_404", "feed http_404", "sitemap robots_disallowed"]),
    ]
    assert rows(con, "select source from failed_sources('r1', ['unread', 'half'])") == [("unread",)]
    assert rows(con, "select * from failed_sources('r2', null)") == []
