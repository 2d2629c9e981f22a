"""The DuckDB warehouse: connections (one writer, many read-only readers), numbered migrations from sql/schema
and sql/views, and the per-run load, one transaction built from the SQL files in sql/loads.
"""

from __future__ import annotations

import logging
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from newsflow.config import sql_dir, warehouse_path

log = logging.getLogger(__name__)

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_MIGRATION = re.compile(r"^(\d{3})_([\w\-]+)\.sql$")


class WarehouseBusy(RuntimeError):
    """Another process holds the DuckDB file (DuckDB allows one writing process)."""


def connect(path: str | Path | None = None, *, read_only: bool = False, wait_s: float = 60.0):
    import duckdb

    path = Path(path) if path else warehouse_path()
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; run `newsflow demo` or `newsflow ingest` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.2
    limit = None if read_only else _memory_limit()
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            if limit:
                # the writer's buffer pool would otherwise grow towards 80% of RAM with the warehouse; loads spill
                # to disk instead. A SET, not a connect option: other connections in the process stay compatible
                con.execute(f"set memory_limit = '{limit}'")
            return con
        except duckdb.IOException as exc:
            # the lock is held by a load or a reader in another process: wait for it rather than fail the task
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise WarehouseBusy(f"{path} is locked by another process: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _memory_limit() -> str:
    value = os.environ.get("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "1GB").strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, re.I):
        raise ValueError(f"NEWSFLOW_DUCKDB_MEMORY_LIMIT={value!r}: expected a size such as 512MB or 2GB")
    return value


def statements(sql: str) -> list[str]:
    """Split a file into statements (our SQL files keep semicolons out of strings and comments)."""
    cleaned = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in cleaned.split(";") if s.strip()]


def run_sql_file(con, path: Path, params: dict | None = None) -> None:
    for statement in statements(path.read_text(encoding="utf-8")):
        names = set(_PARAM.findall(statement))
        con.execute(statement, {k: v for k, v in (params or {}).items() if k in names} or None)


def migration_files(root: Path | None = None) -> list[tuple[int, str, Path]]:
    """Numbered migrations: tables in sql/schema, then views in sql/views, each file applied once, in order."""
    root = root or sql_dir()
    found: dict[int, tuple[int, str, Path]] = {}
    for folder in ("schema", "views"):
        for path in sorted((root / folder).glob("*.sql")):
            match = _MIGRATION.match(path.name)
            if not match:
                continue
            version = int(match.group(1))
            if version in found:
                raise RuntimeError(f"migration number {version:03d} is used twice: {found[version][2]} and {path}")
            found[version] = (version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def migrate(con) -> list[int]:
    con.execute(
        "create table if not exists schema_migrations ("
        "version integer primary key, name varchar not null, applied_at timestamptz not null)"
    )
    applied = {row[0] for row in con.execute("select version from schema_migrations").fetchall()}
    done = []
    for version, name, path in migration_files():
        if version in applied:
            continue

        def apply(path=path, version=version, name=name) -> None:
            run_sql_file(con, path)
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, name, datetime.now(UTC)])

        _in_transaction(con, apply)
        log.info("applied migration %03d_%s", version, name)
        done.append(version)
    return done


def open_for_write(path: str | Path | None = None):
    con = connect(path)
    migrate(con)
    return con


def query(sql: str, params: list | dict | None = None, path: str | Path | None = None) -> tuple[list[str], list[tuple]]:
    """Read-only query for analysts and the CLI; nothing here can change the warehouse."""
    con = connect(path, read_only=True)
    try:
        cursor = con.execute(sql, params) if params else con.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return columns, cursor.fetchall()
    finally:
        con.close()


def rebuild_term_index(con) -> None:
    """Recompute the term index (term_daily), the phrase signatures and the frequent grams (phrase_daily) from
    articles (sql/maintenance/term_index_rebuild.sql, then refresh_term_index).

    Loads keep all three exact by themselves; this is for articles changed outside a load (hand edits, tests) and
    to re-cluster the index by term after many loads (the rebuild writes it sorted by term_hash, which is what
    lets one term's scan skip almost every row group).
    """
    _in_transaction(con, lambda: run_sql_file(con, sql_dir() / "maintenance" / "term_index_rebuild.sql"))
    refresh_term_index(con)


def refresh_term_index(con) -> dict[str, int]:
    """What a load leaves to after its commit: the phrase signatures of the articles it (re)wrote, then the
    frequent grams of the days it changed. term_coverage is right before, during and after (it reads the articles
    wherever these are unknown), only faster once this is done."""
    return {"signatures": refresh_phrase_signatures(con), "days": refresh_phrase_daily(con)}


# articles per signature statement: DuckDB expands the token, hash and bit lists of a whole batch of articles at
# once. Loading the 1,991 pages of the end-to-end benchmark, the refresh took the process from 223 MB to 647 MB
# with 4,096 articles a statement, 608 MB with 1,024 and 417 MB with 512, in the same ~1.1 s (docs/benchmarks.md).
PHRASE_SIGNATURE_ARTICLES_PER_STATEMENT = 512


def refresh_phrase_signatures(con, *, articles_per_statement: int = PHRASE_SIGNATURE_ARTICLES_PER_STATEMENT) -> int:
    """Compute the signatures not known yet (triples null, sql/schema/006_phrase_signature_triples.sql): those of
    the articles each load (re)wrote, and every row after migration 006, a rebuild, or a load that found them built
    by another DuckDB's hash(). Each statement is its own transaction, so an interrupted refresh keeps what it
    finished. Returns how many were computed."""
    ids = [row[0] for row in con.execute(
        "select article_id from phrase_signatures where triples is null order by article_id").fetchall()]
    refresh = sql_dir() / "maintenance" / "phrase_signatures_refresh.sql"
    started = time.monotonic()
    for start in range(0, len(ids), articles_per_statement):
        batch = ids[start:start + articles_per_statement]
        _in_transaction(con, lambda batch=batch: run_sql_file(con, refresh, {"ids": batch}))
    if ids:
        log.info("phrase_signatures: %d recomputed in %.1f s", len(ids), time.monotonic() - started)
    return len(ids)


# originals per frequent-gram statement: each has ~900 distinct pairs and triples to count and keep apart until its
# day's totals are known. With pairs only, refreshing 90 days of the 1M benchmark warehouse peaked at 845 MB RSS
# with 2,500 a statement, 1.04 GB with 5,000, 1.19 GB with 10,000 and 1.5 GB with 25,000 (no faster: it spilled).
# A single larger day still goes alone.
PHRASE_DAILY_ARTICLES_PER_STATEMENT = 4_000


def refresh_phrase_daily(con, *, articles_per_statement: int = PHRASE_DAILY_ARTICLES_PER_STATEMENT) -> int:
    """Compute the frequent grams (sql/schema/005_phrase_daily.sql) of every day that lacks them: days a load
    changed since, and every day of a warehouse migrated to 005. Returns how many days were computed.

    Each statement is its own transaction, so an interrupted refresh keeps what it finished and the next one
    resumes; term_coverage is right meanwhile (it counts a day without rows from the articles). Call it outside
    a transaction.
    """
    todo = con.execute((sql_dir() / "maintenance" / "phrase_daily_todo.sql").read_text(encoding="utf-8")).fetchall()
    if not todo:
        return 0
    batches: list[list] = [[]]
    batch_articles = 0
    for day, originals in todo:
        if batches[-1] and batch_articles + originals > articles_per_statement:
            batches.append([])
            batch_articles = 0
        batches[-1].append(day)
        batch_articles += originals
    refresh = sql_dir() / "maintenance" / "phrase_daily_refresh.sql"
    started = time.monotonic()
    for batch in batches:
        _in_transaction(con, lambda batch=batch: run_sql_file(con, refresh, {"days": batch}))
    log.info("phrase_daily: %d days computed in %.1f s", len(todo), time.monotonic() - started)
    return len(todo)


def _in_transaction(con, work) -> None:
    con.execute("begin transaction")
    try:
        work()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
