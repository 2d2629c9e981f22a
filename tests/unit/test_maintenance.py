"""news_maintenance's work on a real lake: small files from many loads are compacted, old snapshots expire,
files nothing refers to are deleted from disk, and the data reads the same before and after."""

from __future__ import annotations

import pytest

from newsflow import maintenance, warehouse
from tests.support.maintain_apart import maintain_apart


def data_files(lake):
    return sorted(p for p in (lake / "data").rglob("*.parquet"))


def test_maintenance_compacts_expires_and_deletes_orphans(tmp_path):
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    for batch in range(6):  # six loads, six small files (more than DuckLake inlines in the catalog)
        con.execute(
            "insert into fetch_log (run_id, source, url_kind, seq, url, outcome, logged_at) "
            "select 'r' || $b, 'alpha', 'article', i, 'http://alpha.test/' || $b || '/' || i, 'loaded', now() "
            "from range(200) as t(i)", {"b": batch})
    con.execute("delete from fetch_log where run_id = 'r0' and seq < 150")  # a delete file, mostly dead rows
    before_rows = con.execute("select run_id, seq, url from fetch_log order by all").fetchall()
    con.close()
    orphan = lake / "data" / "main" / "fetch_log" / "left-by-a-crashed-load.parquet"
    orphan.write_bytes(b"PAR1")
    files_before = data_files(lake)
    assert len(files_before) >= 7

    summary = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0)

    assert summary["files_after"] < summary["files_before"]
    assert summary["merged_files"] >= 1 and summary["expired_snapshots"] >= 1
    assert summary["deleted_files"] >= 1 and summary["deleted_orphans"] >= 1
    assert not orphan.exists()
    files_after = data_files(lake)
    assert len(files_after) < len(files_before)
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select run_id, seq, url from fetch_log order by all").fetchall() == before_rows
    assert con.execute("select count(*) from lake.snapshots()").fetchone()[0] == summary["snapshots"]
    con.close()


def test_a_young_orphan_and_recent_snapshots_are_kept(tmp_path):
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    con.execute("insert into sources select 's' || i, 'feed', 'x', 'en', 'UTC', 'r', 'r', now() from range(50) as t(i)")
    con.close()
    young = lake / "data" / "main" / "sources" / "being-written.parquet"
    young.write_bytes(b"PAR1")
    summary = maintain_apart(str(lake), retention_days=7)
    assert young.exists()  # it may belong to a load still in its transaction
    assert summary["expired_snapshots"] == 0


def test_retention_setting(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_SNAPSHOT_RETENTION_DAYS", raising=False)
    assert maintenance.retention_days() == 7
    monkeypatch.setenv("NEWSFLOW_SNAPSHOT_RETENTION_DAYS", "2.5")
    assert maintenance.retention_days() == 2.5
    monkeypatch.setenv("NEWSFLOW_SNAPSHOT_RETENTION_DAYS", "a week")
    with pytest.raises(ValueError, match="NEWSFLOW_SNAPSHOT_RETENTION_DAYS"):
        maintenance.retention_days()


def test_maintenance_catches_up_the_term_table_and_compacts_it_sorted(tmp_path):
    """Articles no index_terms task reached get their term rows; the indexing steps' files are merged, in term
    order (the table is `sorted by (term)`)."""
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    for batch in range(3):  # three loads, each followed by its own indexing step: three term files
        con.execute(
            "insert into articles (article_id, url, canonical_url, source, title, published_at, published_date,"
            " body, body_hash, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at,"
            " updated_at, article_seq) "
            "select 'a' || $b || '-' || i, 'u', 'u', 's', 'T', now(), current_date,"
            " 'word' || ((i * 7919 + $b) % 500) || ' zebra' || i, 'h', 'r', 'r', 'r', 'v', now(), now(),"
            " $b * 1000 + i + 1 from range(400) as t(i)", {"b": batch})
        if batch < 2:
            from newsflow.stages.index_terms import index_terms

            index_terms(con=con)
    con.close()

    summary = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0)

    assert summary["indexed_articles"] == 400  # the third load's, which no indexing step had reached
    con = warehouse.connect(lake, read_only=True)
    files = [r[0] for r in con.execute("select data_file from ducklake_list_files('lake', 'article_terms')").fetchall()]
    assert len(files) == 1
    terms = [r[0] for r in con.execute(f"select term from read_parquet('{files[0]}')").fetchall()]
    assert len(terms) == 1200 * 4  # t, wordN, zebraN and the pair 'wordN zebraN'
    assert summary["pruned_term_rows"] == 0
    assert terms == sorted(terms)
    con.close()


def test_maintenance_prunes_the_term_rows_of_replaced_article_versions(tmp_path):
    """A changed article gets a new article_seq: the old version's term rows go, nobody else's, and term_coverage
    answers the same before and after."""
    from newsflow.stages.index_terms import index_terms

    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    con.execute(
        "insert into articles (article_id, url, canonical_url, source, title, published_at, published_date,"
        " body, body_hash, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at,"
        " updated_at, article_seq) "
        "select 'a' || i, 'u', 'u', 's', 'T', now(), current_date, 'old words ' || i, 'h', 'r', 'r', 'r', 'v',"
        " now(), now(), i + 1 from range(10) as t(i)")
    index_terms(con=con)
    rows = con.execute("select count(*) from article_terms").fetchone()[0]  # t, old, words, i and 2 pairs: 6 each
    assert rows == 60
    # two articles rewritten, as 04_insert_articles.sql does: new text, a new article_seq, then indexed
    con.execute("update articles set body = 'new text', article_seq = 10 + article_seq where article_id in ('a0', 'a1')")
    index_terms(con=con)
    before = con.execute("select * from term_coverage('old words', 'day')").fetchall()
    assert before[0][1] == 8
    con.close()

    summary = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0)

    assert summary["pruned_term_rows"] == 12
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select count(*) from article_terms").fetchone()[0] == rows - 12 + 2 * 4  # t, new, text, pair
    assert con.execute("select count(*) from article_terms where article_seq in (1, 2)").fetchone()[0] == 0
    assert con.execute("select * from term_coverage('old words', 'day')").fetchall() == before
    con.close()
    assert maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0)["pruned_term_rows"] == 0


def test_time_travel_answers_the_same_after_maintenance(tmp_path):
    """Every snapshot still retained answers as it did before the pass. DuckLake 1.5.5's rewrite of a table whose
    rows were updated made a run inserted `loaded` (unfinished), then finished by its account step, read at the
    snapshot between the two as `loaded` and finished at once: a row that never existed."""
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    # runs as loads insert them (unfinished; forty at once, beyond what DuckLake keeps in its catalog), then as
    # their account steps finish them, one by one
    con.execute("insert into runs (run_id, dag_id, status, started_at, loaded_at) "
                "select 'r' || i, 'news_ingest', 'loaded', now(), now() from range(40) as t(i)")
    for i in range(40):
        con.execute("update runs set status = 'succeeded', finished_at = now() where run_id = ?", [f"r{i}"])
    snapshots = [r[0] for r in con.execute("select snapshot_id from ducklake_snapshots('lake') order by 1").fetchall()]
    read = "select run_id, status, finished_at is not null from runs at (version => {}) order by run_id"
    before = {v: con.execute(read.format(v)).fetchall() for v in snapshots[-41:]}
    assert ("r39", "loaded", False) in before[snapshots[-2]]
    con.close()

    maintain_apart(str(lake), retention_days=7)

    con = warehouse.connect(lake, read_only=True)
    after = {v: con.execute(read.format(v)).fetchall() for v in before}
    con.close()
    assert {v for v in before if after[v] != before[v]} == set()


def test_the_term_files_of_many_indexing_steps_become_one_even_when_articles_changed(tmp_path):
    """The prune gives the files it touches a delete file, and DuckLake merges no such file: pruned before the
    merge, each indexing step's file holding a changed article's old terms stayed apart for good."""
    from newsflow.stages.index_terms import index_terms

    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    for batch in range(3):  # three loads, three indexing steps, three term files
        con.execute(
            "insert into articles (article_id, url, canonical_url, source, title, published_at, published_date,"
            " body, body_hash, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at,"
            " updated_at, article_seq) "
            "select 'a' || $b || '-' || i, 'u', 'u', 's', 'T', now(), current_date, 'words ' || i, 'h', 'r', 'r',"
            " 'r', 'v', now(), now(), $b * 100 + i + 1 from range(50) as t(i)", {"b": batch})
        index_terms(con=con)
    # one article of each step's file changed (a new article_seq): its old term rows are pruned
    con.execute("update articles set body = 'changed', article_seq = 1000 + article_seq where article_id like 'a_-0'")
    index_terms(con=con)
    con.close()

    summary = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0)

    assert summary["pruned_term_rows"] == 3 * 4  # t, words, 0 and the pair 'words 0'
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select count(*) from ducklake_list_files('lake', 'article_terms')").fetchone()[0] == 1
    assert con.execute("select count(*) from article_terms where term = 'changed'").fetchone()[0] == 3
    con.close()


def test_quality_checks_keep_their_retention_and_always_the_latest_run(tmp_path):
    """A quality run after every load writes a row per check and source, ~100 M a year on a 5-minute schedule: rows
    older than the retention go, but for the latest run's (a service stopped for months still shows what it found);
    the files they filled are rewritten without them."""
    from datetime import UTC, datetime, timedelta

    from newsflow.quality_checks import write_checks

    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    now = datetime.now(UTC)
    rows = [{"check_name": "volume_latest_day", "source": f"s{i}", "observed": 1.0, "expected": "x",
             "status": "pass", "details": None} for i in range(50)]
    for run_id, age in (("q-old", 200), ("q-season", 80), ("q-new", 1)):
        write_checks(con, run_id, rows, checked_at=now - timedelta(days=age))
    con.close()

    summary = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0, quality_days=90)

    assert summary["expired_quality_rows"] == 50
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select run_id, count(*) from quality_checks group by all order by 1").fetchall() == [
        ("q-new", 50), ("q-season", 50)]
    con.close()
    # stopped for a year: the latest run stays whatever its age
    later = maintain_apart(str(lake), retention_days=0, orphan_grace_hours=0, quality_days=1)
    assert later["expired_quality_rows"] == 50
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select distinct run_id from quality_checks").fetchall() == [("q-new",)]
    con.close()


def test_a_run_loaded_a_day_ago_and_never_accounted_for_is_marked_interrupted(tmp_path):
    """A load marks its own DAG's earlier unfinished runs `interrupted`; the last run of a schedule taken out of
    the sources file had no later load to do it and stayed `loaded` for good."""
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    con.execute("""
        insert into runs (run_id, dag_id, status, started_at, loaded_at, finished_at) values
        ('retired', 'news_ingest_every_2m', 'loaded', now() - interval 50 hour, now() - interval 49 hour, null),
        ('in_flight', 'news_ingest_hourly', 'loaded', now() - interval 2 hour, now() - interval 1 hour, null),
        ('done', 'news_ingest_hourly', 'succeeded', now() - interval 50 hour, now() - interval 49 hour,
         now() - interval 49 hour)""")
    con.close()

    assert maintain_apart(str(lake), retention_days=7)["interrupted_runs"] == 1

    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select run_id, status, finished_at is not null from runs order by run_id").fetchall() == [
        ("done", "succeeded", True), ("in_flight", "loaded", False), ("retired", "interrupted", True)]
    con.close()


def test_after_many_runs_and_a_pass_each_table_is_files_without_deletes(tmp_path, monkeypatch):
    """Nearly every run updates rows an earlier run's file holds (its run's status at the account step, its
    sources' last run, the pages' validators, an article whose text changed), and DuckLake merges no file with
    deletes: without the pass's rewrite they add up by one a run and table, for ever. After it each table reads the
    same, its earlier snapshots too, and none of its files carries deletes, nor is one left with no live row."""
    import dataclasses
    import shutil

    from newsflow.stages.account import check_accounting
    from newsflow.stages.plan import make_jobs
    from tests.support.loads import D1, D2, PORT, WIRE, load, record

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    lake = tmp_path / "w"
    for run in range(6):
        story = record("alpha", 1, D1, "Talks", WIRE if run < 3 else WIRE + " Talks resume on Friday.")
        fresh = record("alpha", 2 + run, D2, f"Strike, day {run}", f"{PORT} Day {run} of the strike.")
        load(tmp_path, f"run{run}", {"alpha": [story, fresh], "beta": [record("beta", 1, D2, "Strike", PORT)]})
        jobs = [dataclasses.replace(job, staging=tmp_path / "staging" / f"run{run}" / job.name)
                for job in make_jobs(str(tmp_path / "sources.yaml"), None, f"run{run}", str(lake))]
        for job in jobs:  # what the discover stage listed: the URLs the account step checks
            shutil.copy(job.staging / "ledger.validate.parquet", job.staging / "ledger.discover.parquet")
        assert check_accounting(jobs, run_id=f"run{run}", dag_id="test")["status"] == "succeeded"
        if run == 0:
            with warehouse.connect(lake, read_only=True) as reader:
                first = reader.execute("select max(snapshot_id) from ducklake_snapshots('lake')").fetchone()[0]
    tables = ("runs", "sources", "http_cache", "articles", "fetch_log", "load_serial")
    con = warehouse.open_for_write(lake)
    con.execute("call ducklake_flush_inlined_data('lake')")
    files = "select count(*), count(delete_file) from ducklake_list_files('lake', '{}')"
    with_deletes = {t: con.execute(files.format(t)).fetchone()[1] for t in tables}
    assert with_deletes["http_cache"] >= 1 and with_deletes["articles"] >= 1  # the validators and text changed
    # a file no live row is left in, beside its delete file (no merge takes it): a writer deletes in files, not in
    # the catalog, so the account step's update of its run's row, alone in the file the load's MERGE wrote, and
    # a MERGE's of the sources' rows drop their files instead
    emptied = ("select count(*) from ducklake_list_files('lake', '{0}') where data_file not in "
               "(select distinct filename from {0})")
    assert {t: con.execute(emptied.format(t)).fetchone()[0] for t in tables} == dict.fromkeys(tables, 0)
    before = {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}
    snapshots = [r[0] for r in con.execute("select snapshot_id from ducklake_snapshots('lake') order by 1").fetchall()]
    then = {v: con.execute(f"select * from runs at (version => {v}) order by all").fetchall()
            for v in snapshots if v >= first}
    # with no file small enough to rewrite, nothing is rewritten
    assert maintenance.compact_updated_files(con, max_bytes=0) == 0
    con.close()

    summary = maintain_apart(str(lake), retention_days=7)

    assert summary["compacted_files"] == sum(with_deletes.values())
    con = warehouse.connect(lake, read_only=True)
    # each table one file (the merge took in what the rewrite wrote), without deletes
    assert {t: con.execute(files.format(t)).fetchone() for t in tables} == dict.fromkeys(tables, (1, 0))
    assert {t: con.execute(emptied.format(t)).fetchone()[0] for t in tables} == dict.fromkeys(tables, 0)
    assert {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables} == before
    assert {v: con.execute(f"select * from runs at (version => {v}) order by all").fetchall() for v in then} == then
    con.close()


def test_an_articles_file_whose_every_row_was_replaced_is_dropped(tmp_path, monkeypatch):
    """A changed article's old row is deleted (03_delete_replaced_articles.sql). Kept in the catalog (data inlining,
    up to 10 rows), deletes that took the last live rows of a file left it listed after the flush, every row
    deleted: no merge takes it, and each pass counted it as rewritten again. Written to storage, the delete that
    empties a file drops it. A file an older newsflow left so is not counted, and stays listed."""

    from tests.support.loads import D1, WIRE, load, record

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    lake = tmp_path / "w"
    emptied = ("select count(*) from ducklake_list_files('lake', 'articles') where data_file not in "
               "(select distinct filename from articles)")
    stories = [record("alpha", i, D1, f"Story {i}", f"{WIRE} Story number {i}.") for i in range(12)]
    load(tmp_path, "run0", {"alpha": stories})  # 12 rows: above the inlining limit, a file of their own
    for run, part in ((1, stories[:6]), (2, stories[6:])):  # every one of them changed, six at a time
        load(tmp_path, f"run{run}", {"alpha": [{**story, "body": f"{story['body']} Update {run}.",
                                                "body_hash": f"h{run}-{story['seq']}"} for story in part]})
    con = warehouse.open_for_write(lake)
    con.execute("call ducklake_flush_inlined_data('lake')")
    assert con.execute(emptied).fetchone()[0] == 0
    con.close()
    assert maintain_apart(str(lake), retention_days=7)["compacted_files"] == 0
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select count(*) from ducklake_list_files('lake', 'articles')").fetchone()[0] == 1
    assert con.execute("select count(*), count(distinct article_id), count(*) filter (body like '%Update%') "
                       "from articles").fetchone() == (12, 12, 12)
    con.close()

    # as an older newsflow's loads left one: the rows of a 12-row file deleted six at a time, in the catalog
    load(tmp_path, "run3", {"beta": [record("beta", i, D1, f"Brief {i}", f"{WIRE} Brief {i}.") for i in range(12)]})
    con = warehouse.open_for_write(lake)
    for _ in range(2):
        con.execute("delete from articles where url in (select url from articles where source = 'beta' order by url "
                    "limit 6)")
    con.execute("call ducklake_flush_inlined_data('lake')")
    assert con.execute(emptied).fetchone()[0] == 1
    con.close()
    said = []
    maintain_apart(str(lake), said, retention_days=7)
    assert "articles: 1 files with deletes hold no live row: left listed" in said, said
    assert not [line for line in said if line.startswith("compacted articles")], said
    con = warehouse.connect(lake, read_only=True)
    assert con.execute(emptied).fetchone()[0] == 1
    assert con.execute("select count(*) from articles").fetchone()[0] == 12
    con.close()


def test_a_big_articles_file_is_left_out_of_the_merge_within_the_memory_cap(tmp_path, monkeypatch):
    # a lake of years: its articles in a file near DuckLake's 512 MB target, merged with the day's new rows at every
    # pass, needed more than the writer's 1 GB cap (a 476 MB file: out of memory, the pass failed every day and never
    # expired a snapshot or a quality row). Scaled down here: a 60 MB file under a 64 MB cap, files from 16 MB left out
    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    columns = ("article_id, url, canonical_url, source, title, published_at, published_date, language, body, "
               "body_chars, body_hash, fetched_at, first_run_id, last_run_id, changed_run_id, extractor_version, "
               "inserted_at, updated_at, article_seq")
    for first, count in ((0, 30000), (100000, 20), (100100, 20), (100200, 20)):
        con.execute(
            f"insert into articles ({columns}) select 'a' || i, 'http://a.test/' || i, 'http://a.test/' || i, 'alpha', "
            "'t', now(), current_date, 'en', body, length(body), md5(body), now(), 'r', 'r', 'r', 'x', now(), now(), i "
            "from (select i, (select string_agg(md5(i || '-' || k), '') from range(60) as u(k)) as body "
            "from range($first, $first + $count) as t(i))", {"first": first, "count": count})
    # the term table has reached them all (one long word each: nothing for the test to index)
    con.execute("insert into article_terms_state select max(article_seq), count(*), 0, now() from articles")
    before = con.execute("select count(*), sum(hash(body)) from articles").fetchone()
    con.close()
    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "64MB")

    summary = maintain_apart(str(lake), constants={"MERGE_MAX_FILE_BYTES": 16 * 1024 * 1024}, retention_days=0,
                             orphan_grace_hours=0)

    assert summary["merged_files"] >= 1 and summary["expired_snapshots"] >= 1
    monkeypatch.delenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT")
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select count(*), sum(hash(body)) from articles").fetchone() == before
    con.close()
