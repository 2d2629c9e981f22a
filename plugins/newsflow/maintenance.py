"""Lake upkeep for the news_maintenance DAG: catch up the term table and prune its replaced rows, compact the small
files loads leave, expire old snapshots after a retention period, and delete the files nothing refers to any more
(DuckLake's own functions).
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 7.0
# a quality run after every load writes a row per check and source: ~1,000 a run with 60 sources, ~100 M a year on
# a 5-minute schedule, for checks whose history past a season nothing reads (the alerts and the dashboard compare
# the latest runs)
DEFAULT_QUALITY_RETENTION_DAYS = 90.0
# a run loaded this long ago and not accounted for was stopped: longer than any run's index_terms step
STALE_LOADED_HOURS = 24.0
# a file younger than this is never taken for an orphan: it may belong to a load still writing its transaction
ORPHAN_GRACE_HOURS = 6.0
# files that carry deletes and are at most this big are rewritten by compact_updated_files; a bigger one with a few
# deleted rows costs a reader what it did, and rewriting it for a handful of rows would cost the pass its size
COMPACT_MAX_FILE_BYTES = 64 * 1024 * 1024
# DuckLake's own rewrite is used for these two (never updated: only inserted and deleted), see maintain()
REWRITTEN_BY_DUCKLAKE = ("article_terms", "quality_checks")
# files this big or bigger are left out of the merge of small files. Left to DuckLake's default (its 512 MB target),
# a 3-year lake's articles file (476 MB) was merged again with the day's new rows at every pass, over the writer's
# 1 GB memory cap: out of memory, and the pass failed every day before it expired a snapshot or a quality row
MERGE_MAX_FILE_BYTES = 64 * 1024 * 1024


def retention_days() -> float:
    """$NEWSFLOW_SNAPSHOT_RETENTION_DAYS (default 7): how long old snapshots stay readable (time travel,
    readers still on them) before their files may be deleted."""
    from newsflow.env_settings import days_setting

    return days_setting("NEWSFLOW_SNAPSHOT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)


def quality_retention_days() -> float:
    """$NEWSFLOW_QUALITY_RETENTION_DAYS (default 90, at least 1): how long quality_checks keeps a quality run's
    rows (the latest run's always stay)."""
    from newsflow.env_settings import days_setting

    return days_setting("NEWSFLOW_QUALITY_RETENTION_DAYS", DEFAULT_QUALITY_RETENTION_DAYS, minimum=1)


def maintain(warehouse: str | None, *, retention_days: float = DEFAULT_RETENTION_DAYS,
             orphan_grace_hours: float = ORPHAN_GRACE_HOURS,
             quality_days: float = DEFAULT_QUALITY_RETENTION_DAYS) -> dict:
    """One maintenance pass over the lake at `warehouse`. Each step is its own DuckLake commit, so an interrupted
    pass keeps what it finished; readers are never blocked (they keep reading their snapshot's files until those
    expire). Returns what each step did (rows reported by DuckLake: files written, snapshots expired, files
    deleted) and the lake's data files before and after."""
    from newsflow.stages.index_terms import index_terms, prune_stale_terms
    from newsflow.warehouse import LAKE, connect, migrate

    con = connect(warehouse)
    try:
        migrate(con)
        # catch-up: articles a failed or skipped index_terms task left out get their term rows before the
        # compaction below merges (and sorts by term) the small files the indexing steps wrote
        indexed = index_terms(con=con)
        before = _files(con)
        summary: dict = {"retention_days": retention_days, "indexed_articles": indexed["articles"]}
        # DuckLake merges no file that carries deletes: the term rows of replaced article versions are pruned after
        # the merge, or every indexing step's file they fall in stays apart, and with it its delete file, forever
        _step(summary, con, "flushed_inlined", f"call ducklake_flush_inlined_data('{LAKE}')")
        # before the merge: the files this writes anew have no deletes, so the merge can take them in
        summary["compacted_files"] = compact_updated_files(con)
        _step(summary, con, "merged_files",
              f"call ducklake_merge_adjacent_files('{LAKE}', max_file_size => {int(MERGE_MAX_FILE_BYTES)})")
        summary["pruned_term_rows"] = prune_stale_terms(con)
        summary["expired_quality_rows"] = _changed_rows(con, "expire_quality_checks", {"seconds": quality_days * 86400})
        summary["interrupted_runs"] = _changed_rows(con, "interrupt_stale_runs", {"seconds": STALE_LOADED_HOURS * 3600})
        # Files of article_terms that are mostly pruned rows are rewritten without them. Only that table's: in DuckLake
        # 1.5.5 a rewrite of a table whose rows were UPDATEd (articles, runs, http_cache) makes time travel to a
        # snapshot between a row's insert and its update show the updated values (a run `loaded` and finished at
        # once), a snapshot's answer changed by maintenance. The term table is only ever inserted and deleted.
        # (quality_checks is as safe: a rerun's rows are deleted and inserted again, never updated)
        _step(summary, con, "rewritten_files", f"call ducklake_rewrite_data_files('{LAKE}', 'article_terms')")
        _step(summary, con, "rewritten_quality_files", f"call ducklake_rewrite_data_files('{LAKE}', 'quality_checks')")
        _step(summary, con, "expired_snapshots",
              f"call ducklake_expire_snapshots('{LAKE}', older_than => now() - to_seconds({retention_days * 86400!r}))")
        _step(summary, con, "deleted_files",
              f"call ducklake_cleanup_old_files('{LAKE}', older_than => now() - to_seconds({retention_days * 86400!r}))")
        _step(summary, con, "deleted_orphans",
              f"call ducklake_delete_orphaned_files('{LAKE}', older_than => now() - to_seconds({orphan_grace_hours * 3600!r}))")
        summary["files_before"], summary["files_after"] = before, _files(con)
        summary["snapshots"] = con.execute(f"select count(*) from ducklake_snapshots('{LAKE}')").fetchone()[0]
    finally:
        con.close()
    return summary


def compact_updated_files(con, max_bytes: int = COMPACT_MAX_FILE_BYTES) -> int:
    """Rewrite the small files of the updated tables (runs, sources, http_cache, articles, ...) that carry deletes:
    each table's live rows in them are inserted again and the old rows deleted, in one transaction. Returns the
    number of files rewritten.

    Nearly every load updates a row held in the previous loads' files (a run's status, a feed's validators, a
    source's last run), and DuckLake merges no file that carries deletes, so without this such files add up by
    one a run, for ever. DuckLake's own rewrite (`ducklake_rewrite_data_files`) is not used on these tables: in
    1.5.5 it makes time travel to a snapshot between a row's insert and its update read the updated values. This
    is an ordinary transaction: earlier snapshots keep reading the old files until they expire."""
    # the rewrite's own inserts and deletes go to storage: kept in the catalog (DuckLake's data inlining, up to 10
    # rows), a file's few live rows would be deleted there and the file stay listed, every row deleted, for good
    limit = con.execute("select current_setting('ducklake_default_data_inlining_row_limit')").fetchone()[0]
    con.execute("set ducklake_default_data_inlining_row_limit = 0")
    try:
        return sum(_rewrite_files_with_deletes(con, table, max_bytes)
                   for table in sorted(set(_lake_tables(con)) - set(REWRITTEN_BY_DUCKLAKE)))
    finally:
        con.execute(f"set ducklake_default_data_inlining_row_limit = {int(limit)}")


def _rewrite_files_with_deletes(con, table: str, max_bytes: int) -> int:
    from newsflow.warehouse import LAKE, in_transaction

    files = [r[0] for r in con.execute(
        f"select data_file from ducklake_list_files('{LAKE}', '{table}') "
        "where delete_file is not null and data_file_size_bytes <= $max_bytes", {"max_bytes": max_bytes}
    ).fetchall()]
    if not files:
        return 0
    # a file whose every row was deleted in the catalog (an older newsflow's loads) has none to copy or delete, and
    # DuckLake drops no such file on a flush or a merge: it stays listed, and is not counted as rewritten
    live = {r[0] for r in con.execute(f"select distinct filename from {table} where filename in (select unnest($files))",
                                      {"files": files}).fetchall()}
    if len(live) < len(files):
        log.info("%s: %d files with deletes hold no live row: left listed", table, len(files) - len(live))
    files = [name for name in files if name in live]
    if not files:
        return 0
    started = time.monotonic()

    def rewrite() -> None:
        # the insert first: its rows land in files of their own, which the delete by file name cannot reach
        con.execute(f"insert into {table} select * from {table} where filename in (select unnest($files))",
                    {"files": files})
        con.execute(f"delete from {table} where filename in (select unnest($files))", {"files": files})

    in_transaction(con, rewrite)
    log.info("compacted %s: %d files with deletes (%.1f s)", table, len(files), time.monotonic() - started)
    return len(files)


def _changed_rows(con, name: str, params: dict) -> int:
    from newsflow.config import sql_dir
    from newsflow.warehouse import changed_rows

    changed = changed_rows(con, sql_dir() / "maintenance" / f"{name}.sql", params)
    log.info("%s: %d rows", name, changed)
    return changed


def _step(summary: dict, con, name: str, sql: str) -> None:
    """One DuckLake maintenance call, its own commit; `summary[name]` is the rows it reported."""
    started = time.monotonic()
    summary[name] = len(con.execute(sql).fetchall())
    log.info("%s: %d (%.1f s)", name, summary[name], time.monotonic() - started)


def _lake_tables(con) -> list[str]:
    from newsflow.warehouse import LAKE

    return [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = $db and table_type = 'BASE TABLE'",
        {"db": LAKE}).fetchall()]


def _files(con) -> int:
    from newsflow.warehouse import LAKE

    return sum(con.execute(f"select count(*) from ducklake_list_files('{LAKE}', '{t}')").fetchone()[0]
               for t in _lake_tables(con))
