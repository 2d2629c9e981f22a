"""The lake: where it lives (folder or Postgres catalog), migrations apply once and in order, readers are
read-only and never block a writer's commit (SQLite catalog in WAL mode), loads are single transactions, keys
stay unique, and an earlier DuckDB warehouse is moved in with its row counts checked."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from newsflow import warehouse
from newsflow.config import sql_dir
from tests.support.loads import D1, D2, PORT, WIRE, load, record
from tests.support.maintain_apart import maintain_apart

ROOT = Path(__file__).resolve().parents[2]


def test_a_folder_holds_a_sqlite_catalog_in_wal_mode_and_the_data_files(tmp_path):
    con = warehouse.open_for_write(tmp_path / "lake")
    con.execute("insert into sources values ('s', 'feed', 'http://x', 'en', 'UTC', 'r1', 'r1', now())")
    con.close()
    catalog = tmp_path / "lake" / "catalog.sqlite"
    assert sqlite3.connect(catalog).execute("pragma journal_mode").fetchone()[0] == "wal"
    con = warehouse.connect(tmp_path / "lake", read_only=True)
    assert con.execute("select current_database()").fetchone()[0] == "lake"  # attached and selected
    assert con.execute("select value from lake.options() where option_name = 'data_path'").fetchone()[0] == str(
        tmp_path / "lake" / "data") + "/"
    con.close()


def test_postgres_catalog_needs_a_data_path(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_LAKE_DATA", raising=False)
    with pytest.raises(warehouse.WarehouseConfigError, match="NEWSFLOW_LAKE_DATA"):
        warehouse.lake("postgres:dbname=news host=127.0.0.1", for_write=True)
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", "/shared/lake")
    spec = warehouse.lake("postgres:dbname=news host=127.0.0.1")
    assert spec.catalog == "postgres:dbname=news host=127.0.0.1" and spec.data_path == "/shared/lake/"
    assert spec.attach_sql(read_only=True) == (
        "attach 'ducklake:postgres:dbname=news host=127.0.0.1' as lake (data_path '/shared/lake/', read_only)")


def test_an_earlier_duckdb_file_is_refused_with_the_upgrade_command(tmp_path):
    old = tmp_path / "warehouse.duckdb"
    old.write_bytes(b"\0" * 16)
    with pytest.raises(warehouse.WarehouseConfigError, match="newsflow warehouse upgrade"):
        warehouse.connect(old)


def test_migrations_apply_once_in_order(tmp_path):
    con = warehouse.connect(tmp_path / "w")
    first = warehouse.migrate(con)
    assert first == sorted(first) and first[0] == 1
    assert warehouse.migrate(con) == []  # second time: nothing to do
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                        "where table_catalog = 'lake' and table_type = 'BASE TABLE'").fetchall()}
    assert tables == set(warehouse.KEYS) | set(warehouse.TERM_KEYS) | set(warehouse.ONE_ROW_TABLES)
    applied = [r[0] for r in con.execute("select version from schema_migrations order by version").fetchall()]
    assert applied == first


def test_articles_files_are_written_with_lz4_and_other_tables_keep_the_default(tmp_path):
    """Migration 006: reading every body (term_coverage's scan) is ~1.6x faster from LZ4 than from Snappy."""
    con = warehouse.open_for_write(tmp_path / "w")
    con.execute(
        "insert into articles (article_id, url, canonical_url, source, title, published_at, published_date, body,"
        " body_hash, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at, updated_at)"
        " select 'a' || i, 'u', 'u', 's', 'T', now(), current_date, repeat('body text ', 100) || i, 'h', 'r', 'r',"
        " 'r', 'v', now(), now() from range(5000) as t(i)")
    con.execute("insert into article_terms select 'term' || i, i from range(5000) as t(i)")
    con.execute("call ducklake_flush_inlined_data('lake')")

    def codecs(table):
        files = [r[0] for r in con.execute(f"select data_file from ducklake_list_files('lake', '{table}')").fetchall()]
        assert files
        return {r[0] for r in con.execute("select distinct compression from parquet_metadata($f)",
                                          {"f": files}).fetchall()}

    assert codecs("articles") == {"LZ4_RAW"}
    assert codecs("article_terms") == {"SNAPPY"}
    con.close()


def test_old_lake_upgrades_in_place(tmp_path, monkeypatch):
    path = tmp_path / "old"
    files = warehouse.migration_files()
    objects = warehouse.object_files()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files[:1])
    # the old version's views and macros: today's term_coverage, articles_gone, quality_changes and open_alerts read
    # tables and a column later migrations add
    monkeypatch.setattr(warehouse, "object_files", lambda root=None: {
        k: v for k, v in objects.items()
        if k not in ("term_coverage", "articles_gone", "quality_changes", "open_alerts")})
    con = warehouse.connect(path)
    assert warehouse.migrate(con) == [1]
    con.execute("insert into sources values ('keep', 'feed', 'http://x.example/rss', 'en', 'UTC', 'r1', 'r1', now())")
    con.close()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files)
    monkeypatch.setattr(warehouse, "object_files", lambda root=None: objects)
    con = warehouse.connect(path)
    assert warehouse.migrate(con) == [f[0] for f in files[1:]]
    assert con.execute("select name from sources").fetchall() == [("keep",)]


def test_a_lake_a_newer_version_migrated_is_refused_and_left_as_it_was(tmp_path, monkeypatch):
    """A downgrade: the newsflow of before an upgrade, run on the upgraded lake, dropped the views and macros it has
    no file for (articles_gone, open_alerts, ...) and loaded on, without a word. It refuses, naming the migration."""
    path = tmp_path / "lake"
    warehouse.open_for_write(path).close()  # the newer version: every migration, every view
    older = tmp_path / "older-sql"
    shutil.copytree(sql_dir(), older)
    newest = sorted((older / "schema").glob("*.sql"))[-1]
    newest.unlink()  # the older version: one migration fewer, and a view it never had
    (older / "views" / "listing_turnover.sql").unlink()
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(older))
    with pytest.raises(warehouse.WarehouseConfigError, match=f"newer newsflow \\(migration {newest.stem}\\)"):
        warehouse.open_for_write(path)
    con = warehouse.connect(path, read_only=True)
    try:
        assert "listing_turnover" in warehouse.table_names(con)
    finally:
        con.close()


def test_a_sql_dir_with_no_sql_in_it_is_named_not_taken_for_a_downgrade(tmp_path, monkeypatch):
    """NEWSFLOW_SQL_DIR mistyped or not mounted: every load failed with "this warehouse was migrated by a newer
    newsflow", which sent the operator after a version that does not exist; the variable was never named."""
    from newsflow.config import ConfigError

    path = tmp_path / "lake"
    warehouse.open_for_write(path).close()
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(tmp_path / "sqll"))
    with pytest.raises(ConfigError, match=r"^NEWSFLOW_SQL_DIR='[^']*sqll': "):
        warehouse.open_for_write(path)


def test_keys_of_a_lake_an_older_version_wrote_are_checked_read_only(tmp_path, monkeypatch):
    """A reader (a benchmark, an analyst's notebook) opens a lake written before alerts_sent or article_aliases
    existed: nothing migrates a read-only connection, and the tables it has are checked, not a missing one failed."""
    files, objects = warehouse.migration_files(), warehouse.object_files()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files[:1])
    monkeypatch.setattr(warehouse, "object_files", lambda root=None: {
        k: v for k, v in objects.items()
        if k not in ("term_coverage", "articles_gone", "quality_changes", "open_alerts")})
    con = warehouse.connect(tmp_path / "old")
    warehouse.migrate(con)
    con.close()
    con = warehouse.connect(tmp_path / "old", read_only=True)
    counts = warehouse.duplicate_keys(con, recent_days=7)
    con.close()
    assert "alerts_sent" not in counts and "article_aliases" not in counts
    assert counts["articles"] == 0 and counts["fetch_log"] == 0


def test_duplicate_migration_numbers_are_refused(tmp_path):
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "001_a.sql").write_text("create table a (x int)")
    (tmp_path / "schema" / "001_b.sql").write_text("create table b (x int)")
    with pytest.raises(RuntimeError, match="used twice"):
        warehouse.migration_files(tmp_path)


def test_a_migration_file_not_named_nnn_is_refused_not_skipped(tmp_path):
    """`18_notes.sql` (two digits) was passed over without a word: `warehouse_init` said "warehouse migrated" and
    the table never came."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "001_a.sql").write_text("create table a (x int)")
    (tmp_path / "schema" / "18_notes.sql").write_text("create table notes (x int)")
    with pytest.raises(Exception, match=r"18_notes\.sql: a migration file is named NNN_name\.sql"):
        warehouse.migration_files(tmp_path)


def test_a_view_file_duckdb_refuses_is_named_and_fails_its_task_at_once(tmp_path, monkeypatch):
    """A new view with a typo failed every load with DuckDB's bare `syntax error at or near "grop"` (no file; its
    LINE counted without the file's comment lines), and the load was retried twice as if the lake were busy; so was
    a migration numbered like another."""
    from newsflow.stages.failures import classify

    sql = tmp_path / "sql"
    shutil.copytree(sql_dir(), sql)
    (sql / "views" / "articles_per_language.sql").write_text(
        "-- articles per language\ncreate or replace view articles_per_language as\n"
        "select language, count(*) as articles\nfrom articles\ngrop by language\n", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(sql))
    con = warehouse.connect(tmp_path / "w")
    try:
        with pytest.raises(Exception) as refused:
            warehouse.migrate(con)
    finally:
        con.close()
    permanent, cause = classify(refused.value)
    assert permanent is True
    # the file's own line: DuckDB's LINE counts from the statement, which starts below the comment
    assert f'{sql / "views" / "articles_per_language.sql"}, line 5: ' in cause and "grop" in cause, cause

    (sql / "schema" / "017_notes.sql").write_text("create table notes (x int)", encoding="utf-8")
    with pytest.raises(Exception, match="used twice") as twice:
        warehouse.migration_files(sql)
    assert classify(twice.value)[0] is True


def test_a_load_file_duckdb_refuses_is_named_and_fails_its_task_at_once(tmp_path):
    """The same for a load step (sql/loads, run by run_sql_file): a typo failed every load with DuckDB's bare
    `syntax error at or near "by"` and the statement's LINE, no file, and the load was retried as if the lake were
    busy."""
    from newsflow.stages.failures import classify

    text = (sql_dir() / "loads" / "05_mark_duplicates.sql").read_text(encoding="utf-8")
    typo = text.replace("    published_at\nfrom articles\n", "    published_at\nfrom articles\ngrop by 1\n", 1)
    assert typo != text
    path = tmp_path / "05_mark_duplicates.sql"
    path.write_text(typo, encoding="utf-8")
    line = typo.splitlines().index("grop by 1") + 1
    con = warehouse.connect(tmp_path / "w")
    try:
        with pytest.raises(Exception) as refused:
            warehouse.run_sql_file(con, path, {"run_id": "r1"})
    finally:
        con.close()
    permanent, cause = classify(refused.value)
    assert permanent is True and f"{path}, line {line}: " in cause and "grop" in cause, cause


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "001_ok.sql").write_text("create table ok (x int)")
    (tmp_path / "schema" / "002_bad.sql").write_text("create table half (x int);\nselect * from no_such_table")
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(tmp_path))
    con = warehouse.connect(tmp_path / "w")
    with pytest.raises(Exception, match="no_such_table"):
        warehouse.migrate(con)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                        "where table_catalog = 'lake'").fetchall()}
    assert "ok" in tables and "half" not in tables
    assert [r[0] for r in con.execute("select version from schema_migrations").fetchall()] == [1]


def test_a_migration_error_names_the_line_of_the_file_not_of_the_statement(tmp_path, monkeypatch):
    """DuckDB counts LINE from the statement it was given: the second statement's third line was `LINE 3` in a
    file where it is line 7 (and comment lines, dropped, shifted every count)."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "001_two.sql").write_text(
        "-- two tables\ncreate table a (x int);\n\n-- the second\ncreate table b (\n    y int,\n    z int,,\n    w int\n);\n")
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(tmp_path))
    con = warehouse.connect(tmp_path / "w")
    try:
        with pytest.raises(warehouse.SqlFileError) as refused:
            warehouse.migrate(con)
    finally:
        con.close()
    assert str(refused.value).startswith(f"{tmp_path / 'schema' / '001_two.sql'}, line 7: "), refused.value
    assert warehouse.numbered_statements((tmp_path / "schema" / "001_two.sql").read_text()) == [
        (2, "create table a (x int)"), (5, "create table b (\n    y int,\n    z int,,\n    w int\n)")]


def test_statement_splitting_ignores_comment_lines():
    sql = "-- a comment; with a semicolon\ncreate table t (x int);\n\ninsert into t values (1);\n"
    assert warehouse.statements(sql) == ["create table t (x int)", "insert into t values (1)"]


def test_a_sql_file_runs_only_when_its_condition_holds(tmp_path):
    import duckdb

    con = duckdb.connect()
    con.execute("create table t (x int)")
    step = tmp_path / "step.sql"
    step.write_text("-- when: exists (select 1 from t where x = $x)\n-- why\ninsert into t values (100);\n"
                    "insert into t values ($x);\n")
    assert warehouse.run_sql_file(con, step, {"x": 7}) is False  # no row 7 yet: nothing ran
    con.execute("insert into t values (7)")
    assert warehouse.run_sql_file(con, step, {"x": 7, "unused": 1}) is True
    assert sorted(r[0] for r in con.execute("select x from t").fetchall()) == [7, 7, 100]
    plain = tmp_path / "plain.sql"
    plain.write_text("-- no condition\ninsert into t values (1);\n")
    assert warehouse.run_sql_file(con, plain) is True


def test_read_only_query_refuses_writes(tmp_path):
    path = tmp_path / "w"
    warehouse.open_for_write(path).close()
    columns, rows = warehouse.query("select count(*) as n from articles", path=path)
    assert columns == ["n"] and rows == [(0,)]
    with pytest.raises(Exception, match="read-only|read only"):
        warehouse.query("delete from articles", path=path)


def test_a_frame_keeps_the_publishers_instant_and_warns_nothing(tmp_path):
    import warnings

    con = warehouse.open_for_write(tmp_path / "w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DuckDB's own Pandas4Warning on TIMESTAMPTZ would fail here
        got = warehouse.frame(con, "select timestamptz '2020-06-03 03:01:00+04' as published_at, ? as source",
                              ["أخبار"])
    con.close()
    assert got["published_at"][0].tz is not None
    assert got["published_at"][0].tz_convert("UTC").isoformat() == "2020-06-02T23:01:00+00:00"
    assert got["source"][0] == "أخبار"


def test_read_only_on_missing_lake_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        warehouse.connect(tmp_path / "none", read_only=True)


def test_writer_memory_is_capped_and_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "256MB")
    con = warehouse.connect(tmp_path / "w")
    assert con.execute("select current_setting('memory_limit')").fetchall()[0][0].startswith("244")  # MiB
    con.close()
    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="NEWSFLOW_DUCKDB_MEMORY_LIMIT"):
        warehouse.connect(tmp_path / "w")


def test_a_bad_memory_limit_fails_the_plan_without_retries(data_env, monkeypatch):
    """NEWSFLOW_DUCKDB_MEMORY_LIMIT is read by the writer only: a typo (`2G`) let every run fetch and extract every
    page, then failed its load three times over two minutes, retried as if the warehouse were busy."""
    from newsflow.config import project_root
    from newsflow.stages.failures import classify
    from newsflow.stages.plan import plan_run

    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "2G")
    with pytest.raises(ValueError, match="NEWSFLOW_DUCKDB_MEMORY_LIMIT='2G': expected a size") as refused:
        plan_run(str(project_root() / "config" / "sources.demo.yaml"), None, "manual__memory")
    permanent, cause = classify(refused.value)
    assert permanent and "NEWSFLOW_DUCKDB_MEMORY_LIMIT='2G'" in cause


def test_newsflow_connect_honours_the_same_settings_as_the_cli(tmp_path, monkeypatch):
    import newsflow

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NEWSFLOW_WAREHOUSE", raising=False)
    warehouse.open_for_write().close()  # the default: <data dir>/warehouse
    assert (tmp_path / "data" / "warehouse" / "catalog.sqlite").exists()
    con = newsflow.connect()
    assert con.execute("select count(*) from coverage_daily").fetchone() == (0,)
    con.close()
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        newsflow.connect()
    # `import newsflow` stays light: no duckdb until connect() is called
    out = subprocess.run([sys.executable, "-c", "import sys, newsflow; print('duckdb' in sys.modules)"],
                         capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT / "plugins")})
    assert out.stdout.strip() == "False"


READER = """
import os, sys, time
sys.path.insert(0, sys.argv[2])
from newsflow.warehouse import connect
con = connect(sys.argv[1], read_only=True)
con.execute("begin transaction")  # one snapshot, held
print(con.execute("select count(*) from sources").fetchone()[0], flush=True)
time.sleep(float(sys.argv[3]))
print(con.execute("select count(*) from sources").fetchone()[0], flush=True)
print(os.path.exists(sys.argv[4]), flush=True)  # the writer's commit had finished while this snapshot was held
con.execute("commit")
print(con.execute("select count(*) from sources").fetchone()[0], flush=True)
"""


def test_a_reader_holding_a_snapshot_does_not_block_a_writers_commit(tmp_path):
    path = tmp_path / "w"
    con = warehouse.open_for_write(path)
    con.execute("insert into sources values ('a', 'feed', 'http://x', 'en', 'UTC', 'r1', 'r1', now())")
    committed = tmp_path / "committed"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(ROOT / "plugins"), "6", str(committed)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"  # the reader holds its snapshot from here
        con.execute("begin transaction")
        con.execute("insert into sources values ('b', 'feed', 'http://y', 'en', 'UTC', 'r1', 'r1', now())")
        con.execute("commit")
        committed.touch()
        out = reader.communicate(timeout=60)[0].split()
    finally:
        reader.kill()
        con.close()
    # the reader still saw its snapshot (1 row) and found the commit already done before it let the snapshot go
    # (a commit that waited for the reader would have come after its "commit"); then it saw the new row
    assert out == ["1", "True", "2"]


def test_a_failed_load_leaves_the_lake_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    load(tmp_path, "run1", {"alpha": [record("alpha", 1, D1, "Talks", WIRE)]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    before = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in warehouse.KEYS}
    snapshot = con.execute("select max(snapshot_id) from lake.snapshots()").fetchone()[0]
    con.close()
    bad = record("alpha", 2, D2, "Strike", PORT)
    bad["published_date"] = None  # articles.published_date is not null: the load fails half-way
    with pytest.raises(Exception, match="NOT NULL|not null"):
        load(tmp_path, "run2", {"alpha": [record("alpha", 3, D2, "Port", PORT + " More."), bad]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    assert {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in warehouse.KEYS} == before
    # no later snapshot wrote a table (the migration found the views and macros as their files define them)
    changes = [r[0] for r in con.execute(
        "select unnest(map_keys(changes)) from lake.snapshots() where snapshot_id > ?", [snapshot]).fetchall()]
    assert not [c for c in changes if "insert" in c or "delet" in c], changes
    con.close()


def test_loads_keep_every_key_unique(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    run = {"alpha": [record("alpha", 1, D1, "Talks", WIRE), record("alpha", 2, D2, "Strike", PORT)],
           "beta": [record("beta", 1, D2, "Talks (wire)", WIRE)]}
    summary = load(tmp_path, "run1", run)
    retried = load(tmp_path, "run1", run)  # the load task retried
    again = load(tmp_path, "run2", run)  # seen again
    assert summary["warehouse_wait_s"] >= 0 and "write_s" in summary
    # every load file's own time is reported, so a benchmark can tell which statement costs what
    assert set(summary["steps_s"]) == {p.stem for p in (sql_dir() / "loads").glob("*.sql")}
    # a step with nothing to do is skipped: nothing is unchanged or stored in a first load, nothing new after it
    assert summary["skipped_steps"] == ["03_delete_replaced_articles", "10_interrupted_runs", "11_article_aliases"]
    # a retry of run1 writes its own articles again: the old rows deleted, the new ones inserted
    assert not {"03_delete_replaced_articles", "04_insert_articles"} & set(retried["skipped_steps"])
    # a retry of run1 is run1 itself, not an earlier run; run2 finds run1 without a verdict (no account step here)
    assert "10_interrupted_runs" in retried["skipped_steps"]
    assert again["skipped_steps"] == ["03_delete_replaced_articles", "04_insert_articles", "11_article_aliases"]
    con = warehouse.connect(tmp_path / "w", read_only=True)
    assert warehouse.duplicate_keys(con) == dict.fromkeys(warehouse.KEYS, 0)
    assert con.execute("select count(*) from articles").fetchone()[0] == 3
    assert con.execute("select count(*) from http_cache").fetchone()[0] == 3
    assert con.execute("select count(*), count(distinct run_id) from runs").fetchone() == (2, 2)
    con.close()


def test_a_run_that_loaded_but_never_finished_is_marked_interrupted_by_the_next(tmp_path, monkeypatch):
    """`newsflow down` (or a kill) between a run's load and its account step leaves it `loaded` for ever; the DAG's
    next load gives it its verdict. A finished run, and runs of other DAGs, are left as they are."""
    from datetime import UTC, datetime

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    load(tmp_path, "stopped", {"alpha": [record("alpha", 1, D1, "Talks", WIRE)]})
    con = warehouse.connect(tmp_path / "w")
    # a run of another DAG without a verdict: it may still be running (each DAG has its own one-at-a-time)
    con.execute("insert into runs (run_id, dag_id, started_at, status) values ('elsewhere', 'other_dag', ?, 'loaded')",
                [datetime(2020, 1, 1, tzinfo=UTC)])
    con.close()
    summary = load(tmp_path, "finished", {"alpha": [record("alpha", 2, D2, "Strike", PORT)]})
    assert "10_interrupted_runs" not in summary["skipped_steps"]
    con = warehouse.connect(tmp_path / "w")
    # `finished` reaches its account step (its verdict, as check_accounting writes it)
    con.execute("update runs set status = 'succeeded', finished_at = ? where run_id = 'finished'", [datetime.now(UTC)])
    con.close()
    summary = load(tmp_path, "next", {"alpha": [record("alpha", 3, D2, "Port", PORT + " More.")]})
    assert "10_interrupted_runs" in summary["skipped_steps"]  # nothing left without a verdict
    con = warehouse.connect(tmp_path / "w", read_only=True)
    states = dict(con.execute("select run_id, status from runs").fetchall())
    finished = dict(con.execute("select run_id, finished_at is not null from runs").fetchall())
    con.close()
    assert states == {"stopped": "interrupted", "finished": "succeeded", "elsewhere": "loaded", "next": "loaded"}
    assert finished == {"stopped": True, "finished": True, "elsewhere": False, "next": False}


def test_a_stopped_run_is_marked_interrupted_by_the_next_load_whatever_their_logical_dates(tmp_path, monkeypatch):
    """Under `airflow dags test` (`newsflow ingest --logical-date`) a run's start is its logical date: the run
    after a stopped one may well be dated earlier (a backfill), and the stopped run stayed `loaded` until a run
    dated later came. The next load is the next in time, whatever the dates."""
    from datetime import UTC, datetime

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    load(tmp_path, "april", {"alpha": [record("alpha", 1, D1, "Talks", WIRE)]},
         started_at=datetime(2026, 4, 1, tzinfo=UTC))
    load(tmp_path, "march", {"alpha": [record("alpha", 2, D2, "Strike", PORT)]},
         started_at=datetime(2026, 3, 15, tzinfo=UTC))
    con = warehouse.connect(tmp_path / "w", read_only=True)
    states = dict(con.execute("select run_id, status from runs").fetchall())
    con.close()
    assert states == {"april": "interrupted", "march": "loaded"}


def test_a_finished_run_loaded_again_waits_for_its_account_step_again(tmp_path, monkeypatch):
    """Clearing a finished run's load (and not its account step) left it `loaded` with a finish before its load:
    the sweep of runs without a verdict never saw it."""
    from datetime import UTC, datetime

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    batch = {"alpha": [record("alpha", 1, D1, "Talks", WIRE)]}
    load(tmp_path, "first", batch)
    con = warehouse.connect(tmp_path / "w")
    con.execute("update runs set status = 'succeeded', finished_at = ? where run_id = 'first'", [datetime.now(UTC)])
    con.close()
    load(tmp_path, "first", batch)
    con = warehouse.connect(tmp_path / "w", read_only=True)
    assert con.execute("select status, finished_at from runs").fetchall() == [("loaded", None)]
    con.close()
    load(tmp_path, "second", {"alpha": [record("alpha", 2, D2, "Strike", PORT)]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    assert dict(con.execute("select run_id, status from runs").fetchall()) == {"first": "interrupted",
                                                                            "second": "loaded"}
    con.close()


def test_term_coverage_follows_the_loads(tmp_path, monkeypatch):
    """Nothing to keep in step: a rewritten article's new text counts, its old text no longer does."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Port strike", PORT)
    load(tmp_path, "run1", {"alpha": [story]})
    load(tmp_path, "run2", {"alpha": [{**story, "title": "Port dispute ends",
                                       "body": "The dockers' walkout ended after a pay deal.",
                                       "body_hash": "changed"}]})
    con = warehouse.connect(tmp_path / "w", read_only=True)

    def hits(term):
        return con.execute("select sum(articles) from term_coverage(?, 'day')", [term]).fetchone()[0]

    assert (hits("strike"), hits("walkout"), hits("pay deal")) == (0, 1, 1)
    con.close()


def test_upgrade_moves_an_earlier_duckdb_file_with_its_row_counts(tmp_path):
    import duckdb

    old = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(old))
    for path in sorted((ROOT / "tests" / "fixtures" / "warehouse_0_2").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    con.execute("insert into sources values ('a', 'feed', 'http://x', 'en', 'UTC', 'r1', 'r1', now())")
    con.execute("insert into runs (run_id, dag_id, status) values ('r1', 'news_ingest', 'succeeded')")
    con.execute("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, logged_at) "
                "select 'r1', 'a', 'article', i, 'http://x/' || i, 'failed', now() from range(250) as t(i)")
    con.execute("create table term_daily (published_date date, term_hash ubigint, articles integer)")
    con.close()
    counts = warehouse.upgrade(old, tmp_path / "lake")
    assert counts == {"sources": 1, "runs": 1, "articles": 0, "rejected_articles": 0, "fetch_log": 250,
                      "validation_results": 0, "http_cache": 0, "quality_checks": 0}
    lake = warehouse.connect(tmp_path / "lake", read_only=True)
    assert lake.execute("select count(*), count(distinct seq) from fetch_log").fetchone() == (250, 250)
    assert "term_daily" not in {r[0] for r in lake.execute("select table_name from information_schema.tables").fetchall()}
    lake.close()
    with pytest.raises(warehouse.WarehouseConfigError, match="already holds rows"):
        warehouse.upgrade(old, tmp_path / "lake")  # never twice into the same lake


def test_shell_is_the_duckdb_cli_with_the_lake_attached_read_only(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    con = warehouse.open_for_write(tmp_path / "lake")
    con.execute("insert into sources values ('s', 'feed', 'http://x', 'en', 'UTC', 'r1', 'r1', now())")
    con.close()
    cli = [sys.executable, "-m", "newsflow.cli", "shell", "--warehouse", str(tmp_path / "lake"), "--", "-csv"]
    env = {"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    out = subprocess.run([*cli, "-c", "select name, version() as v from sources"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["name,v", "s,v1.5.5"]
    refused = subprocess.run([*cli, "-c", "delete from sources"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert "read-only" in (refused.stdout + refused.stderr).lower() or "read only" in (
        refused.stdout + refused.stderr).lower()


def test_a_moved_or_copied_lake_opens_where_it_is_and_keeps_to_its_own_files(tmp_path):
    # DuckLake stores the absolute data path a lake was created with and refuses another: a renamed project folder
    # (the default lake lives in it) or a restored backup would not open. A folder lake reads and writes its own
    # data/ wherever it is now; maintenance on a copy leaves the original's files alone; the CLI and the shell too
    project = tmp_path / "новости"
    con = warehouse.open_for_write(project / "lake")
    con.execute("create table t as select range as i, md5(range::varchar) as h from range(100000)")
    con.close()
    lake = shutil.move(project, tmp_path / "renamed") / "lake"
    con = warehouse.open_for_write(lake)
    assert con.execute("select count(*) from t").fetchone()[0] == 100000
    con.execute("insert into t select range + 100000, 'after the move' from range(100000)")
    con.close()
    assert not project.exists()  # nothing written at the old address
    backup = Path(shutil.copytree(lake, tmp_path / "backup"))
    con = warehouse.open_for_write(lake)
    con.execute("insert into t select range + 200000, 'after the backup' from range(100000)")
    con.close()
    files = {path.name for path in (lake / "data").rglob("*.parquet")}
    summary = maintain_apart(backup, retention_days=0, orphan_grace_hours=0)
    assert summary["snapshots"] == 1
    assert files <= {path.name for path in (lake / "data").rglob("*.parquet")}
    con = warehouse.connect(lake, read_only=True)
    assert con.execute("select count(*), count(distinct h) from t").fetchone() == (300000, 100002)
    con.close()
    env = {"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
           "NEWSFLOW_DATA_DIR": str(tmp_path / "data")}
    for command in (["sql", "select count(*) as n from t", "--format", "csv"], ["shell", "--", "-csv", "-c",
                                                                                  "select count(*) as n from t"]):
        cli = [sys.executable, "-m", "newsflow.cli", command[0], "--warehouse", str(backup), *command[1:]]
        out = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["n", "200000"]


def test_a_commit_that_fails_raises_its_own_error_and_leaves_no_transaction_open():
    """A COMMIT that fails ends its transaction itself: rolling back after it raised "cannot rollback - no
    transaction is active", which hid the real error (a lake's write conflict, a constraint, a full disk) from the
    load's or the quality run's log. An error inside the block still rolls back."""
    import duckdb

    con = duckdb.connect()
    con.execute("create table t (a integer primary key)")
    other = con.cursor()

    def clash():
        con.execute("insert into t values (1)")
        other.execute("insert into t values (1)")  # committed first, by another connection

    with pytest.raises(duckdb.TransactionException, match="PRIMARY KEY or UNIQUE constraint"):
        warehouse.in_transaction(con, clash)
    with pytest.raises(ZeroDivisionError), warehouse.transaction(con):
        con.execute("insert into t values (2)")
        1 / 0  # noqa: B018 - the error in the block
    warehouse.in_transaction(con, lambda: con.execute("insert into t values (3)"))
    assert con.execute("select a from t order by a").fetchall() == [(1,), (3,)]


def test_a_lake_whose_data_files_are_gone_fails_the_stage_at_once(tmp_path):
    """The lake's data folder moved, unmounted or deleted (a Postgres lake's NEWSFLOW_LAKE_DATA, a folder lake's
    data/): every stage that read the lake was retried as if it were busy, each source's discover three times and
    the load three times over minutes, before the run failed; a missing warehouse is an error no retry heals."""
    import shutil

    from newsflow.stages.failures import classify
    from newsflow.stages.http import http_cache

    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    con.execute("set ducklake_default_data_inlining_row_limit = 0")  # the row in a data file, not the catalog
    con.execute("insert into http_cache (canonical_url, etag, updated_at) values ('http://example.org/feed', "
                "'\"v1\"', now())")
    con.close()
    assert http_cache(["http://example.org/feed"], str(lake))["http://example.org/feed"]["etag"] == '"v1"'
    shutil.rmtree(lake / "data")
    with pytest.raises(Exception, match="No such file or directory") as gone:
        http_cache(["http://example.org/feed"], str(lake))
    permanent, cause = classify(gone.value)
    assert permanent and cause.startswith("warehouse: ") and str(lake / "data") in cause, cause
