"""news_maintenance's work on a real lake: small files from many loads are compacted, old snapshots expire,
files nothing refers to are deleted from disk, and the data reads the same before and after."""

from __future__ import annotations

import pytest

from newsflow import maintenance, warehouse


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

    summary = maintenance.maintain(str(lake), retention_days=0, orphan_grace_hours=0)

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
    summary = maintenance.maintain(str(lake), retention_days=7)
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
