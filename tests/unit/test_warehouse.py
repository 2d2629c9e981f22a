"""Warehouse migrations: numbered files apply once, in order; an old warehouse upgrades in place; loads are
transactions (a failure leaves nothing behind)."""

from __future__ import annotations

import pytest

from newsflow import warehouse


def test_migrations_apply_once_in_order(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    first = warehouse.migrate(con)
    assert first == sorted(first) and first[0] == 1
    assert warehouse.migrate(con) == []  # second time: nothing to do
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"articles", "rejected_articles", "fetch_log", "runs", "validation_results", "sources",
            "schema_migrations", "http_cache"} <= tables
    applied = [r[0] for r in con.execute("select version from schema_migrations order by version").fetchall()]
    assert applied == first


def test_old_warehouse_upgrades_in_place(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    files = warehouse.migration_files()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files[:1])
    con = warehouse.connect(path)
    assert warehouse.migrate(con) == [1]
    con.execute(
        "insert into sources values ('keep', 'feed', 'http://x.example/rss', 'en', 'UTC', 'r1', 'r1', now())"
    )
    con.close()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files)
    con = warehouse.connect(path)
    assert warehouse.migrate(con) == [f[0] for f in files[1:]]
    assert con.execute("select name from sources").fetchall() == [("keep",)]


def test_duplicate_migration_numbers_are_refused(tmp_path):
    for folder in ("schema", "views"):
        (tmp_path / folder).mkdir()
    (tmp_path / "schema" / "001_a.sql").write_text("create table a (x int)")
    (tmp_path / "views" / "001_b.sql").write_text("create view b as select 1")
    with pytest.raises(RuntimeError, match="used twice"):
        warehouse.migration_files(tmp_path)


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    (tmp_path / "schema").mkdir()
    (tmp_path / "views").mkdir()
    (tmp_path / "schema" / "001_ok.sql").write_text("create table ok (x int)")
    (tmp_path / "schema" / "002_bad.sql").write_text("create table half (x int);\nselect * from no_such_table")
    monkeypatch.setenv("NEWSFLOW_SQL_DIR", str(tmp_path))
    con = warehouse.connect(tmp_path / "w.duckdb")
    with pytest.raises(Exception, match="no_such_table"):
        warehouse.migrate(con)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "ok" in tables and "half" not in tables
    assert [r[0] for r in con.execute("select version from schema_migrations").fetchall()] == [1]


def test_statement_splitting_ignores_comment_lines():
    sql = "-- a comment; with a semicolon\ncreate table t (x int);\n\ninsert into t values (1);\n"
    assert warehouse.statements(sql) == ["create table t (x int)", "insert into t values (1)"]


def test_read_only_query_refuses_writes(tmp_path):
    path = tmp_path / "w.duckdb"
    con = warehouse.connect(path)
    warehouse.migrate(con)
    con.close()
    columns, rows = warehouse.query("select count(*) as n from articles", path=path)
    assert columns == ["n"] and rows == [(0,)]
    with pytest.raises(Exception, match="read-only"):
        warehouse.query("delete from articles", path=path)


def test_read_only_on_missing_file_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        warehouse.connect(tmp_path / "none.duckdb", read_only=True)


def test_writer_memory_is_capped_and_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "256MB")
    con = warehouse.connect(tmp_path / "w.duckdb")
    assert con.execute("select current_setting('memory_limit')").fetchall()[0][0].startswith("244")  # MiB
    con.close()
    monkeypatch.setenv("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="NEWSFLOW_DUCKDB_MEMORY_LIMIT"):
        warehouse.connect(tmp_path / "w.duckdb")
