"""The warehouse, a DuckLake: connections (readers attach read-only and see a snapshot, loads never wait for them),
numbered table migrations from sql/schema, views and macros re-created from sql/views and sql/macros.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsflow.config import lake_data_location, shown_location, sql_dir, warehouse_location

log = logging.getLogger(__name__)

LAKE = "lake"  # the name the lake is attached under: analysts' SQL says `articles`, the lake is selected (USE)
CATALOG_FILE = "catalog.sqlite"
DATA_FOLDER = "data"

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_WHEN = re.compile(r"--\s*when:\s*(.+)")
# where DuckDB's parser points in a statement ("LINE 9: grop by ...")
_DUCKDB_LINE = re.compile(r"\bLINE (\d+):")
_MIGRATION = re.compile(r"^(\d{3})_([\w\-]+)\.sql$")
_OBJECT = re.compile(r"^([a-z_][a-z0-9_]*)\.sql$")


class WarehouseBusy(RuntimeError):
    """The lake's catalog could not be reached in time (another writer held it too long)."""


class WarehouseConfigError(ValueError):
    """The warehouse location cannot be used as given (a clear message for the operator)."""


class SqlFileError(RuntimeError):
    """A file of sql/ that cannot be used as it is (misnamed, numbered twice, a statement DuckDB refuses): the
    message names the file. No retry changes a file, so a task fails at once (newsflow.stages.failures)."""


@dataclass(frozen=True)
class Lake:
    """Where a lake lives: its DuckLake catalog and its data files."""

    location: str
    catalog: str  # what follows `ducklake:` in ATTACH
    data_path: str | None  # None: the catalog already knows it (a reader of a Postgres catalog)
    sqlite_file: Path | None  # the SQLite catalog file, for a folder location

    def attach_sql(self, *, read_only: bool, alias: str = LAKE) -> str:
        options = []
        if self.data_path:
            options.append(f"data_path {_quote(self.data_path)}")
        if self.sqlite_file is not None:
            # a folder lake's data files are its own `data/` folder wherever the folder is now: DuckLake keeps the
            # absolute path it was created with and refuses any other, so a moved project, a restored backup or a
            # copy would not open (or, in a client attaching without data_path, would read the original's files).
            # The files' own paths are relative to it, so overriding it is all a move needs
            options.append("override_data_path true")
        if read_only:
            options.append("read_only")
        suffix = f" ({', '.join(options)})" if options else ""
        return f"attach {_quote('ducklake:' + self.catalog)} as {alias}{suffix}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lake(location: str | os.PathLike | None = None, *, for_write: bool = False) -> Lake:
    """Resolve a location (`--warehouse`, $NEWSFLOW_WAREHOUSE or the default `<data dir>/warehouse`)."""
    where = warehouse_location(location)
    if where.startswith("postgres:"):
        data = lake_data_location()
        if not data and for_write:
            raise WarehouseConfigError(
                f"NEWSFLOW_WAREHOUSE={shown_location(where)!r} puts the lake's catalog in Postgres: set "
                "NEWSFLOW_LAKE_DATA to the folder (shared by every machine) or object-store URL for its data files"
            )
        return Lake(where, where, _folder_path(data) if data else None, None)
    folder = Path(where)
    if folder.is_file():
        raise WarehouseConfigError(
            f"{folder} is a file: a warehouse is now a folder (a DuckLake). A DuckDB file from an earlier newsflow "
            f"is moved into a lake with `newsflow warehouse upgrade --from {folder} --warehouse NEW_FOLDER`"
        )
    return Lake(str(folder), f"sqlite:{folder / CATALOG_FILE}", _folder_path(str(folder / DATA_FOLDER)),
                folder / CATALOG_FILE)


def _folder_path(path: str) -> str:
    return path if path.endswith("/") else path + "/"


def exists(location: str | os.PathLike | None = None) -> bool:
    """Whether a lake is there to read (a Postgres catalog: whether its database holds one yet)."""
    spec = lake(location)
    if spec.sqlite_file is not None:
        return spec.sqlite_file.exists()
    try:
        connect(location, read_only=True).close()
    except FileNotFoundError:
        return False
    return True


# -- extensions ------------------------------------------------------------------------------------------------
EXTENSIONS = ("ducklake", "sqlite", "postgres")


def extension_file(name: str) -> Path:
    """The extension binary shipped by the `duckdb-extension-<name>` wheel, for this DuckDB version."""
    import importlib

    import duckdb

    module = importlib.import_module(f"duckdb_extension_{name}")
    return Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"


def load_extensions(con, names: tuple[str, ...] = EXTENSIONS) -> None:
    """LOAD the lake's extensions; the first time on a machine, INSTALL them from the pinned wheels (a local file
    copy into DuckDB's extension folder, never a download), which also lets any DuckDB 1.5.5 client LOAD them."""
    import duckdb_extensions

    for name in names:
        try:
            con.execute(f"load {name}")
        except Exception:  # noqa: BLE001 - not installed yet (or from another build): install the wheel's copy
            duckdb_extensions.import_extension(name, force_install=True, con=con)
            con.execute(f"load {name}")


# -- connections -----------------------------------------------------------------------------------------------
def _create_sqlite_catalog(path: Path) -> None:
    """An empty SQLite file in WAL mode, before DuckLake creates its tables in it: with WAL a reader holding a
    snapshot does not stop the writer's commit (SQLite's default rollback journal answers "database is locked")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        mode = con.execute("pragma journal_mode = wal").fetchone()[0]
    finally:
        con.close()
    if mode.lower() != "wal":
        raise WarehouseConfigError(f"{path}: SQLite refused WAL mode ({mode}); put the warehouse on a local disk")


def _check_lake_data(folder: Path) -> None:
    """A Postgres lake's data folder, checked before a writer attaches: DuckLake records the folder in the catalog at
    the first attach, so a mistyped or unmounted NEWSFLOW_LAKE_DATA would bind the new lake to a folder nothing can
    write, and every later run with the right one would be refused."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".newsflow-write-check-"):
            pass
    except OSError as exc:
        raise WarehouseConfigError(
            f"NEWSFLOW_LAKE_DATA={folder}: the lake's data files cannot be written there ({exc.strerror}); "
            "it must be a folder every machine sees and can write"
        ) from exc


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False, wait_s: float = 60.0):
    """A DuckDB connection with the lake attached as `lake` and selected (USE), so `select * from articles` works.

    read_only: analysts, reports and checks; nothing can change the lake through it. A writer (the loads, the
    quality checks, maintenance) gets a memory cap (NEWSFLOW_DUCKDB_MEMORY_LIMIT, default 1GB)."""
    import duckdb

    spec = lake(path, for_write=not read_only)
    if spec.sqlite_file is not None:
        if spec.sqlite_file.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory (the lake's SQLite catalog must be a file)",
                                    str(spec.sqlite_file))
        if not spec.sqlite_file.exists():
            if read_only:
                raise FileNotFoundError(f"no warehouse at {spec.location}; run `newsflow demo` or `newsflow ingest` first")
            _create_sqlite_catalog(spec.sqlite_file)
    elif not read_only and spec.data_path and "://" not in spec.data_path:
        _check_lake_data(Path(spec.data_path))
    # no extension is ever downloaded: the ones needed come from the pinned wheels (load_extensions)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute("set enable_progress_bar = false")  # logs and notebooks, not a terminal
        load_extensions(con, ("ducklake", "sqlite" if spec.sqlite_file is not None else "postgres"))
        if not read_only:
            # the writer's buffer pool would otherwise grow towards 80% of RAM; loads spill to disk instead
            con.execute(f"set memory_limit = '{memory_limit()}'")
        _attach(con, spec, read_only=read_only, wait_s=wait_s)
        con.execute(f"use {LAKE}")
    except Exception:
        con.close()
        raise
    return con


def _attach(con, spec: Lake, *, read_only: bool, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            con.execute(spec.attach_sql(read_only=read_only))
            return
        except Exception as exc:  # noqa: BLE001 - only a busy catalog is retried
            stored = re.search(r'existing data path in the catalog "([^"]*)"', str(exc))
            if stored:  # only a Postgres lake gets here (a folder lake overrides its path)
                raise WarehouseConfigError(
                    f"{shown_location(spec.location)}: NEWSFLOW_LAKE_DATA is {spec.data_path} but this lake's data files are at "
                    f"{stored.group(1)} (its catalog says so): set NEWSFLOW_LAKE_DATA to that, on every machine"
                ) from exc
            if read_only and "creating a new DuckLake is explicitly disabled" in str(exc):
                # a Postgres database no load has made a lake in yet (a folder's catalog file is looked for first)
                raise FileNotFoundError(
                    f"no warehouse at {shown_location(spec.location)}; run `newsflow demo` or `newsflow ingest` first") from exc
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                if shown_location(str(exc)) != str(exc):  # a wrong password, an unknown database, ...
                    raise type(exc)(shown_location(str(exc))) from None
                raise
            if time.monotonic() > deadline:
                raise WarehouseBusy(f"{shown_location(spec.location)}: the catalog stayed busy for {wait_s:.0f} s: {shown_location(str(exc))}") from exc
            # a busy catalog is what WAL mode is there to prevent: say so, a silent wait looks like a slow load
            log.warning("%s: the lake's catalog is busy (%s); retrying in %.2f s", shown_location(spec.location), shown_location(str(exc)), delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def memory_limit() -> str:
    """$NEWSFLOW_DUCKDB_MEMORY_LIMIT, the writer's cap; a malformed one is a configuration error (no retry heals it),
    checked by the plan before any page is fetched."""
    value = os.environ.get("NEWSFLOW_DUCKDB_MEMORY_LIMIT", "1GB").strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, re.I):
        raise WarehouseConfigError(f"NEWSFLOW_DUCKDB_MEMORY_LIMIT={value!r}: expected a size such as 512MB or 2GB")
    return value


def open_for_write(path: str | os.PathLike | None = None):
    con = connect(path)
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con


# -- reading ---------------------------------------------------------------------------------------------------
class WarehouseUnreadable(RuntimeError):
    """DuckDB could not open the lake for reading (a catalog that is not a database, ...): not a query's fault."""


class QueryRefused(ValueError):
    """A query the read-only helpers do not run: it could change the warehouse or write a file."""


class NotOneQuery(ValueError):
    """A query text that holds no statement (blank, only comments or semicolons), or several."""


# Functions a SELECT may call that change something all the same. On a read-only attach DuckLake's maintenance
# functions still touch the data folder before their catalog update fails (DuckLake of DuckDB 1.5.5:
# ducklake_cleanup_old_files deleted the files scheduled for deletion, ducklake_merge_adjacent_files wrote a merged
# file); the lake's own macros merge_adjacent_files, set_option and set_commit_message call them; enable_logging
# writes log files; checkpoints write; and query, json_execute_serialized_sql, import_database and the sqlite_ and
# postgres_ functions run SQL this check never sees (postgres_execute on a Postgres catalog itself).
# tests/unit/test_cli_sql.py holds every other table function of these versions as reviewed: a new one fails there.
WRITING_FUNCTIONS = frozenset({
    "ducklake_add_data_files", "ducklake_cleanup_old_files", "ducklake_commit", "ducklake_delete_orphaned_files",
    "ducklake_expire_snapshots", "ducklake_flush_inlined_data", "ducklake_merge_adjacent_files",
    "ducklake_rewrite_data_files", "ducklake_set_commit_message", "ducklake_set_option",
    "merge_adjacent_files", "set_option", "set_commit_message",
    "checkpoint", "force_checkpoint", "enable_logging", "disable_logging", "truncate_duckdb_logs",
    "enable_profiling", "disable_profiling",
    "query", "json_execute_serialized_sql", "import_database",
    "sqlite_attach", "sqlite_query", "postgres_attach", "postgres_configure_pool", "postgres_execute", "postgres_query",
})
_NAME = re.compile(rb'"(?:[^"]|"")*"|[\w$\x80-\xff]+')


def open_read_only(path: str | os.PathLike | None = None):
    """connect(read_only=True), with DuckDB's own errors while opening the lake as WarehouseUnreadable: a corrupt
    catalog is the warehouse's fault, not the query's."""
    import duckdb

    try:
        return connect(path, read_only=True)
    except duckdb.Error as exc:
        shown = shown_location(lake(path).location)
        raise WarehouseUnreadable(f"the warehouse at {shown} could not be opened: {exc}") from exc


def user_statements(con, sql: str) -> list:
    """The statements of `sql` as DuckDB parses them, less those it adds of its own: a PIVOT whose columns come
    from its data gets an enum type made first (a CREATE with no text, in a transaction when wrapped)."""
    import duckdb

    generated = (duckdb.StatementType.CREATE, duckdb.StatementType.TRANSACTION)
    return [s for s in con.extract_statements(sql) if s.query.strip() or s.type not in generated]


def reading_query(con, sql: str) -> str:
    """`sql` when it is one statement that only reads, without its trailing semicolons (ready to be wrapped in a
    COPY); NotOneQuery or QueryRefused otherwise. Reading: SELECT, FROM, WITH, VALUES, TABLE, PIVOT, UNPIVOT,
    DESCRIBE, SHOW, SUMMARIZE, a PRAGMA that reads, and EXPLAIN [ANALYZE] of one of them. The lake is attached
    read-only, but a query could still ATTACH its catalog again writable, COPY to a file or call a function that
    writes (WRITING_FUNCTIONS)."""
    import duckdb

    statements = user_statements(con, sql)
    if not statements:
        raise NotOneQuery("the query is empty (blank, only comments or semicolons): give one SELECT")
    if len(statements) > 1:
        raise NotOneQuery(f"the query holds {len(statements)} statements: give one at a time")
    kind = statements[0].type
    text = sql.encode()
    tokens = duckdb.tokenize(sql)
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs the statement it explains: that one must read too. `explain (...)` opens an option
        # list or the query itself: the text after the parentheses is the query only if it parses as one
        *options_first, whole = _explained(text, tokens)
        for start in options_first:
            try:
                reading_query(con, text[start:].decode())
                break
            except (duckdb.ParserException, NotOneQuery):
                continue
        else:
            reading_query(con, text[whole:].decode())
    elif kind != duckdb.StatementType.SELECT:
        raise QueryRefused(f"only reading queries are allowed (the warehouse is opened read-only): "
                           f"{_statement_name(text, tokens, kind)} is refused")
    # a PRAGMA that reads is replaced by the query it stands for, which is checked too
    for checked in [sql, *(s.query for s in con.extract_statements(sql))]:
        writer = next((name for name in _called(checked) if name in WRITING_FUNCTIONS), None)
        if writer:
            raise QueryRefused(f"only reading queries are allowed (the warehouse is opened read-only): {writer}() "
                               "writes or runs SQL of its own")
    end = len(text)
    while tokens and text[tokens[-1][0]:tokens[-1][0] + 1] == b";":
        end = tokens.pop()[0]
    return text[:end].decode()


def _statement_name(text: bytes, tokens: list, kind) -> str:
    """The statement as the query words it (INSTALL, CHECKPOINT, TRUNCATE): DuckDB's type names them LOAD, CALL and
    DELETE, and a refusal in those words names a statement the user never wrote."""
    import duckdb

    words: list[str] = []
    for start, token in tokens:
        if not words and text[start:start + 1] == b";":
            continue
        if token != duckdb.token_type.keyword:
            break
        words.append(_name(text, start).upper())
        if words[-1] != "FORCE":  # FORCE INSTALL, FORCE CHECKPOINT
            break
    if not words or words[0] == "WITH":
        # common table expressions lead the statement that writes: DuckDB's type is that one's name
        return kind.name.replace("_", " ")
    return " ".join(words)


def _name(text: bytes, start: int) -> str:
    # DuckDB looks functions up without regard to case, quoted or not
    found = _NAME.match(text, start)
    name = found.group().decode(errors="replace") if found else ""
    return (name[1:-1].replace('""', '"') if name.startswith('"') else name).lower()


def _called(sql: str) -> list[str]:
    """Every name followed by an opening parenthesis (the tokenizer's offsets are in UTF-8 bytes)."""
    import itertools

    import duckdb

    text = sql.encode()
    tokens = duckdb.tokenize(sql)
    names = (duckdb.token_type.identifier, duckdb.token_type.keyword)
    return [_name(text, start) for (start, kind), (after, _) in itertools.pairwise(tokens)
            if kind in names and text[after:after + 1] == b"("]


def _explained(text: bytes, tokens: list) -> list[int]:
    """Where the statement of `EXPLAIN [ANALYZE | (options)] statement` may start: after the option list first,
    then at its parenthesis (`explain (select 1) union (select 2)` has none)."""
    if not tokens or _name(text, tokens[0][0]) != "explain":
        raise QueryRefused("only reading queries are allowed (the warehouse is opened read-only): cannot tell what "
                           "this EXPLAIN explains")
    at = 1
    starts = []
    if at < len(tokens) and _name(text, tokens[at][0]) in ("analyze", "analyse"):
        at += 1
    elif at < len(tokens) and text[tokens[at][0]:tokens[at][0] + 1] == b"(":
        opening, depth = at, 0
        while at < len(tokens):
            depth += {b"(": 1, b")": -1}.get(text[tokens[at][0]:tokens[at][0] + 1], 0)
            at += 1
            if depth == 0:
                break
        starts.append(tokens[at][0] if at < len(tokens) else len(text))
        at = opening
    if at >= len(tokens):
        raise NotOneQuery("EXPLAIN of nothing: give the query to explain")
    return [*starts, tokens[at][0]]


def query(sql: str, params: list | dict | None = None, path: str | os.PathLike | None = None) -> tuple[list[str], list[tuple]]:
    """One reading query (reading_query) for analysts and the CLI, on the warehouse opened read-only: nothing here
    can change the warehouse or write a file."""
    con = open_read_only(path)
    try:
        reading_query(con, sql)
        cursor = con.execute(sql, params) if params else con.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        con.close()


def frame(con, sql: str, params: list | dict | None = None):
    """A query's result as a pandas frame."""
    import warnings

    with warnings.catch_warnings():
        # DuckDB 1.5.5 converts a TIMESTAMPTZ column with DataFrame.drop(inplace=True), which pandas 3.1 deprecates
        # (Pandas4Warning, in every quality task log and report). The frame is the same; DuckDB's call, not ours.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop is deprecated")
        return (con.execute(sql, params) if params else con.execute(sql)).df()


# -- SQL files -------------------------------------------------------------------------------------------------
def statements(sql: str) -> list[str]:
    """Split a file into statements (our SQL files keep semicolons out of strings and comments)."""
    return [statement for _line, statement in numbered_statements(sql)]


def numbered_statements(sql: str) -> list[tuple[int, str]]:
    """(the file's line where it starts, statement) of each statement. Comment lines are kept blank, so a line
    DuckDB names in a statement is that many lines below its start in the file."""
    cleaned = "\n".join("" if line.strip().startswith("--") else line for line in sql.splitlines())
    found, line = [], 1
    for chunk in cleaned.split(";"):
        if chunk.strip():
            found.append((line + chunk[:len(chunk) - len(chunk.lstrip())].count("\n"), chunk.strip()))
        line += chunk.count("\n")
    return found


def run_sql_file(con, path: Path, params: dict | None = None) -> bool:
    """Run a file's statements; False when its first line, `-- when: <condition>`, is false and it was skipped.
    A lake scans its table even for an UPDATE or MERGE that finds nothing to change: a load step with nothing to
    do (no article unchanged in a first load, none stored before) says so and costs one cheap test instead.
    A statement DuckDB cannot parse or bind is a SqlFileError naming the file and its line (DuckDB's own `LINE n`
    counts from the statement's start): a typo in a migration, a view or a load step, which no retry mends."""
    import duckdb

    text = path.read_text(encoding="utf-8")
    condition = _WHEN.match(text)
    if condition and not _execute(con, f"select coalesce(({condition.group(1)}), false)", params).fetchone()[0]:
        return False
    for first, statement in numbered_statements(text):
        try:
            _execute(con, statement, params)
        except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as exc:
            where = _DUCKDB_LINE.search(str(exc))
            line = first + int(where.group(1)) - 1 if where else first
            raise SqlFileError(f"{path}, line {line}: {exc}") from exc
    return True


def changed_rows(con, path: Path, params: dict | None = None) -> int:
    """A file holding one statement that changes rows (a DELETE or an UPDATE), run in its own transaction; returns
    the rows it changed."""
    (statement,) = statements(path.read_text(encoding="utf-8"))
    changed: list[int] = []
    in_transaction(con, lambda: changed.append(_execute(con, statement, params).fetchone()[0]))
    return changed[0]


def table_names(con) -> set[str]:
    """The tables and views `con` sees: code that reads a lake an older newsflow made asks before it reads one."""
    return {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}


def column_names(con, table: str) -> set[str]:
    """The columns of one of the lake's tables as `con` sees it: nothing migrates a reader, and a lake an older
    newsflow made lacks the columns later migrations add until a load (or quality run) migrates it."""
    return {r[0] for r in con.execute("select column_name from information_schema.columns "
                                      "where table_catalog = current_database() and table_name = ?",
                                      [table]).fetchall()}


def _execute(con, statement: str, params: dict | None):
    names = set(_PARAM.findall(statement))
    return con.execute(statement, {k: v for k, v in (params or {}).items() if k in names} or None)


# -- migrations ------------------------------------------------------------------------------------------------
def migration_files(root: Path | None = None) -> list[tuple[int, str, Path]]:
    """Numbered table migrations in sql/schema, each applied once, in order."""
    root = root or sql_dir()
    found: dict[int, tuple[int, str, Path]] = {}
    for path in sorted((root / "schema").glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            # a misnamed file would never be applied, and a skip says nothing: the table it makes is simply missing
            raise SqlFileError(f"{path}: a migration file is named NNN_name.sql (three digits, then _)")
        version = int(match.group(1))
        if version in found:
            raise SqlFileError(f"migration number {version:03d} is used twice: {found[version][2]} and {path}")
        found[version] = (version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def object_files(root: Path | None = None) -> dict[str, Path]:
    """Views (sql/views) and macros (sql/macros): one file per object, named after it."""
    root = root or sql_dir()
    found: dict[str, Path] = {}
    for folder in ("views", "macros"):
        for path in sorted((root / folder).glob("*.sql")):
            match = _OBJECT.match(path.name)
            if not match:
                raise SqlFileError(f"{path}: a view or macro file is named after its object (lower_case.sql)")
            if match.group(1) in found:
                raise SqlFileError(f"{match.group(1)} is defined twice: {found[match.group(1)]} and {path}")
            found[match.group(1)] = path
    return found


def migrate(con) -> list[int]:
    """Apply the table migrations not applied yet (each in its own transaction), then bring every view and macro
    to its file's definition and drop those no file defines any more (one transaction). Returns the versions
    applied."""
    con.execute(
        "create table if not exists schema_migrations ("
        "version integer not null, name varchar not null, applied_at timestamptz not null)"
    )
    applied = dict(con.execute("select version, name from schema_migrations").fetchall())
    files = migration_files()
    latest = max((version for version, _name, _path in files), default=0)
    newer = sorted((version, name) for version, name in applied.items() if version > latest)
    if newer:
        # a newer newsflow migrated this lake (a downgrade): going on would drop the views and macros this version
        # has no file for and write rows without the newer columns. Nothing is changed
        raise WarehouseConfigError(
            f"this warehouse was migrated by a newer newsflow (migration "
            f"{', '.join(f'{v:03d}_{n}' for v, n in newer)}) and this one knows migrations up to {latest:03d}: "
            "run the newer newsflow on it, or this one on a copy taken before the upgrade")
    done = []
    for version, name, path in files:
        if version in applied:
            continue

        def apply(path=path, version=version, name=name) -> None:
            run_sql_file(con, path)
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, name, datetime.now(UTC)])

        in_transaction(con, apply)
        log.info("applied migration %03d_%s", version, name)
        done.append(version)
    in_transaction(con, lambda: _recreate_objects(con, force=bool(done)))
    return done


def _catalog_objects(con) -> dict[str, tuple[str, str]]:
    """Every view and macro of the lake: name -> (kind, the definition as the catalog holds it now)."""
    database = con.execute("select current_database()").fetchone()[0]
    rows = con.execute(
        "select view_name, 'view', sql from duckdb_views() where database_name = $db and not internal "
        "union all select function_name, 'macro', string_agg(macro_definition, chr(10) order by macro_definition) "
        "from duckdb_functions() where database_name = $db and function_type in ('macro', 'table_macro') "
        "and not internal group by function_name",
        {"db": database},
    ).fetchall()
    return {name: (kind, definition) for name, kind, definition in rows}


def _recreate_objects(con, force: bool = False) -> bool:
    """Re-create the views and macros (all of them, in dependency order) unless the catalog already holds exactly
    what the files define: each file's hash and the catalog's own text of each object, as recorded when newsflow
    last created it, must match, so an edited file or an object replaced by hand is re-created. Every load
    migrates: re-creating eleven unchanged objects cost each one ~0.5 s and a lake snapshot."""
    con.execute(
        "create table if not exists schema_objects ("
        "name varchar not null, file_sha256 varchar not null, definition varchar, created_at timestamptz not null)"
    )
    files = object_files()
    hashes = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
    catalog = _catalog_objects(con)
    recorded = {name: (sha, definition) for name, sha, definition in
                con.execute("select name, file_sha256, definition from schema_objects").fetchall()}
    current = {name: (hashes[name], catalog[name][1]) for name in files if name in catalog}
    if not force and set(catalog) == set(files) and recorded == current:
        return False
    for name, (kind, _definition) in catalog.items():
        if name not in files:
            con.execute(f"drop {kind} if exists {name}")
            log.info("dropped %s %s: no file defines it any more", kind, name)
    for name in _creation_order(files):
        run_sql_file(con, files[name])
    catalog = _catalog_objects(con)
    con.execute("delete from schema_objects")
    now = datetime.now(UTC)
    con.executemany("insert into schema_objects values (?, ?, ?, ?)",
                    [[name, hashes[name], catalog[name][1], now] for name in sorted(files)])
    return True


def _creation_order(files: dict[str, Path]) -> list[str]:
    """Objects that read others come after them (DuckDB binds a view when it is created)."""
    uses = {}
    for name, path in files.items():
        text = "\n".join(statements(path.read_text(encoding="utf-8")))
        uses[name] = {other for other in files if other != name and re.search(rf"\b{other}\b", text)}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise SqlFileError(f"views/macros read each other in a cycle through {name}")
        visiting.add(name)
        for other in sorted(uses[name]):
            visit(other)
        visiting.discard(name)
        order.append(name)

    for name in sorted(files):
        visit(name)
    return order


@contextmanager
def transaction(con):
    """The block's statements in one transaction: committed, or rolled back on an error, which is raised. The
    COMMIT is outside the rollback's reach: one that fails (a constraint, a lake's write conflict, a full disk) has
    ended the transaction itself, and its error, not a rollback's "no transaction is active", is what a user sees.
    A rollback that fails too (the lake's Postgres catalog restarted: the error in the block is the lost connection,
    and the ROLLBACK cannot be sent on it either) is logged; the block's error is the one raised, with its cause."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        try:
            con.execute("rollback")
        except Exception as exc:  # noqa: BLE001 - the block's error, raised below, is the cause
            log.warning("rollback failed after the transaction's error: %s", shown_location(str(exc)))
        raise
    con.execute("commit")


def in_transaction(con, work) -> None:
    with transaction(con):
        work()


# -- keys --------------------------------------------------------------------------------------------------------
# DuckLake has no PRIMARY KEY or UNIQUE: these keys are kept by the loads (MERGE, or delete + insert of a run's
# rows in the same transaction), and checked by the tests and the quality checks (duplicate_keys)
KEYS = {
    "articles": ("article_id",),
    "sources": ("name",),
    "runs": ("run_id", "dag_id"),
    "rejected_articles": ("run_id", "source", "seq"),
    "fetch_log": ("run_id", "source", "url_kind", "seq"),
    "validation_results": ("run_id", "source", "expectation", "column_name"),
    "http_cache": ("canonical_url",),
    "article_aliases": ("alias_id",),
    "quality_checks": ("run_id", "check_name", "source"),
    "alerts_sent": ("run_id", "check_name", "source", "sent_at"),
    "schema_migrations": ("version",),
    "schema_objects": ("name",),
}
# keys the indexing step keeps by construction (each batch's rows and its watermark in one transaction), left out of
# the duplicate_keys quality check: at 1M articles it would count 390 M term rows after every load
TERM_KEYS = {
    "article_terms": ("term", "article_seq"),
    "article_terms_state": ("indexed_seq",),
}

# the load token (sql/schema/014_load_serial.sql): one row that every load rewrites, no key to keep
ONE_ROW_TABLES = ("load_serial",)


# the tables keyed by run first, and the time every write of a run stamps on its rows (the load's, the check's): a
# key can only be shared within one run
RUN_STAMPS = {"rejected_articles": "rejected_at", "fetch_log": "logged_at", "validation_results": "validated_at",
              "quality_checks": "checked_at"}


def duplicate_keys(con, recent_days: float | None = None) -> dict[str, int]:
    """Per table, how many rows share their key with an earlier row (0 everywhere in a sound lake).

    With `recent_days`, the tables keyed by run count only within the runs that wrote rows in the `recent_days` up
    to the table's newest write (all of those runs' rows, older ones included, so a rerun that left its first rows
    behind is caught). What the quality run after each load checks: a year of a 15-minute schedule puts ~17 M rows
    in fetch_log, 3.8-8.4 s to count whole against 0.14 s for its last week (docs/benchmarks.md)."""
    # a lake an older version wrote, opened read-only (nothing migrates it), lacks the tables added since
    present = {name for (name,) in con.execute("select table_name from duckdb_tables() "
                                               "where database_name = current_database()").fetchall()}
    counts = {}
    for table, key in KEYS.items():
        if table not in present:
            continue
        sql = f"select count(*) - count(distinct ({', '.join(key)})) from {table}"
        stamp = RUN_STAMPS.get(table)
        if recent_days is not None and stamp:
            sql += (f" where run_id in (select run_id from {table} where {stamp} >= "
                    f"(select max({stamp}) from {table}) - to_seconds({float(recent_days) * 86400!r}))")
        counts[table] = con.execute(sql).fetchone()[0]
    return counts


# -- upgrade from the single-file warehouse ----------------------------------------------------------------------
TABLES = ("sources", "runs", "articles", "rejected_articles", "fetch_log", "validation_results", "http_cache",
          "quality_checks")


EXPORT_HINT = (
    "it was written by a newer DuckDB (newsflow 0.2 used DuckDB 2.0). Export it with that installation, then "
    "upgrade from the export folder:\n"
    "  OLD_VENV/bin/python -c \"import duckdb; duckdb.connect('{file}', read_only=True)"
    ".execute(\\\"export database '{file}.export' (format parquet)\\\")\"\n"
    "  newsflow warehouse upgrade --from {file}.export"
)


def upgrade(from_file: str | os.PathLike, location: str | os.PathLike | None = None) -> dict[str, int]:
    """Copy every table of an earlier newsflow warehouse into a new, empty lake, in one transaction: the row count
    of each table is compared with the source's before the commit, and any difference leaves the lake as it was.

    The source is the earlier DuckDB file, or the folder `EXPORT DATABASE ... (format parquet)` made of it (how a
    file written by a newer DuckDB than this one gets here). Columns the source lacks stay null (it predates
    them); its term-index tables and migration history are not copied (the lake starts its own series).
    Returns rows per table."""
    source = Path(from_file).expanduser().resolve()
    if not source.exists():
        raise FileNotFoundError(f"no earlier warehouse at {source}")
    con = open_for_write(location)
    try:
        _attach_old(con, source)
        old_tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'old_warehouse'").fetchall()}
        if "articles" not in old_tables:
            raise WarehouseConfigError(f"{source} is not a newsflow warehouse (it has no articles table)")
        busy = [t for t in TABLES if con.execute(f"select count(*) from {t}").fetchone()[0]]
        if busy:
            raise WarehouseConfigError(f"the lake at {lake(location).location} already holds rows ({', '.join(busy)}): "
                                       "upgrade into a new, empty warehouse")
        counts: dict[str, int] = {}

        def copy() -> None:
            for table in TABLES:
                if table not in old_tables:
                    continue
                lake_columns = [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = $db "
                    "and table_name = $t order by ordinal_position", {"db": LAKE, "t": table}).fetchall()]
                old_columns = {r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'old_warehouse' "
                    "and table_name = $t", {"t": table}).fetchall()}
                columns = ", ".join(c for c in lake_columns if c in old_columns)
                con.execute(f"insert into {LAKE}.main.{table} ({columns}) "
                            f"select {columns} from old_warehouse.main.{table}")
                expected = con.execute(f"select count(*) from old_warehouse.main.{table}").fetchone()[0]
                got = con.execute(f"select count(*) from {LAKE}.main.{table}").fetchone()[0]
                if got != expected:
                    raise RuntimeError(f"upgrade of {table}: {expected} rows in {source}, {got} in the lake")
                counts[table] = got

        in_transaction(con, copy)
        con.execute("detach old_warehouse")
    finally:
        con.close()
    log.info("upgraded %s into the lake: %s", source, counts)
    return counts


def _attach_old(con, source: Path) -> None:
    """The earlier warehouse as the read-only database `old_warehouse`: the file itself, or views over the Parquet
    files of its export folder."""
    if source.is_dir():
        con.execute("attach ':memory:' as old_warehouse")
        for table in TABLES:
            parquet = source / f"{table}.parquet"
            if parquet.exists():
                con.execute(f"create view old_warehouse.main.{table} as select * from read_parquet({_quote(str(parquet))})")
        return
    try:
        con.execute(f"attach {_quote(str(source))} as old_warehouse (read_only)")
    except Exception as exc:  # noqa: BLE001 - the reason (not DuckDB, too new a format) is in the message
        hint = EXPORT_HINT.format(file=source) if "newer version" in str(exc) else str(exc)
        raise WarehouseConfigError(f"cannot open {source} with DuckDB {_duckdb_version()}: {hint}") from exc


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__
