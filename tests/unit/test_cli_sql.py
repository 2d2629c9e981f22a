"""`newsflow sql` and `newsflow export` read and only read: one statement that reads, or a one-line refusal; what
they print or write says what the warehouse holds (row counts, NaN, blobs, intervals, headers from the data)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from newsflow import warehouse
from newsflow.cli import _print_table, main

REFUSED = "only reading queries are allowed"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "lake"
    con = warehouse.open_for_write(path)
    con.execute("insert into sources values ('s', 'feed', 'http://x', 'en', 'UTC', 'r1', 'r1', now())")
    con.close()
    return path


@pytest.fixture
def newsflow(lake, tmp_path, monkeypatch, capsys):
    """main() on the lake: (exit code, standard output, standard error)."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(lake))  # main() sets it again; restored after the test

    def run(*argv: str, where: Path = lake) -> tuple[int, str, str]:
        code = main([*argv, "--warehouse", str(where)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsflow: "), err
    return lines[0]


def tables(lake: Path) -> set[str]:
    con = warehouse.connect(lake, read_only=True)
    try:
        return {r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = 'lake'")
                .fetchall()}
    finally:
        con.close()


def test_attaching_the_catalog_again_cannot_create_a_table(newsflow, lake):
    """Only the `lake` alias was read-only: the same catalog attached again under another name took writes."""
    before = tables(lake)
    catalog = f"ducklake:sqlite:{lake}/catalog.sqlite"
    attach = f"attach '{catalog}' as w2 (data_path '{lake}/data/', override_data_path true)"
    code, _out, err = newsflow("sql", f"{attach}; create table w2.evil as select 1 a")
    assert code == 2 and "2 statements" in one_line(err)
    code, _out, err = newsflow("sql", attach)
    assert code == 1 and REFUSED in one_line(err) and "ATTACH" in err and "read-only" in err
    assert tables(lake) == before and "evil" not in tables(lake)


@pytest.mark.parametrize("statement", [
    "copy (select 42) to '{out}'",
    "explain analyze copy (select 42) to '{out}'",  # EXPLAIN ANALYZE runs what it explains
    "explain (analyze, format json) copy (select 42) to '{out}'",
    "export database '{out}'",
    "select * from enable_logging(storage => 'file', storage_path => '{out}')",
    "select * from enable_logging(storage => 'file', storage_path => '{out}') -- as a SELECT",
    "insert into sources select * from sources",
    "set threads = 1",
    "pragma enable_profiling",
    "call pragma_version()",
    "load parquet",
    "create temp table t as select 1",
])
def test_sql_refuses_what_writes_and_writes_nothing(newsflow, tmp_path, statement):
    out = tmp_path / "written"
    code, _stdout, err = newsflow("sql", statement.format(out=out))
    assert code == 1 and REFUSED in one_line(err) and "read-only" in err
    assert not out.exists()


@pytest.mark.parametrize(("statement", "named"), [
    ("install httpfs", "INSTALL"),  # DuckDB's statement type for it is LOAD
    ("force install httpfs", "FORCE INSTALL"),
    ("checkpoint", "CHECKPOINT"),  # and for these CALL
    ("force checkpoint lake", "FORCE CHECKPOINT"),
    ("truncate sources", "TRUNCATE"),  # DELETE
    ("use memory", "USE"),  # SET
    ("-- first a comment\n;; begin", "BEGIN"),  # TRANSACTION
    ("explain analyze install httpfs", "INSTALL"),
    # a statement after its common table expressions is named by what it does, not by its WITH
    ("with s as (from sources) insert into sources select * from s", "INSERT"),
])
def test_a_refusal_names_the_statement_as_written(newsflow, statement, named):
    code, _stdout, err = newsflow("sql", statement)
    assert code == 1 and one_line(err).endswith(f"read-only): {named} is refused")


def lake_with_files_to_delete(path: Path) -> Path:
    """A lake whose expired snapshots left files scheduled for deletion."""
    con = warehouse.connect(path)
    con.execute("create table t (i integer, h varchar)")
    for start in range(0, 80000, 20000):
        con.execute("insert into t select range, md5(range::varchar) from range(?, ?)", [start, start + 20000])
    con.execute("delete from t where i < 30000")
    con.execute("select * from ducklake_expire_snapshots('lake', older_than => now())").fetchall()
    assert con.execute("select count(*) from __ducklake_metadata_lake.ducklake_files_scheduled_for_deletion"
                       ).fetchone()[0]
    con.close()
    return path


@pytest.mark.parametrize("call", [
    "select * from ducklake_cleanup_old_files('lake', cleanup_all => true)",
    'select * from "DuckLake_Cleanup_Old_Files"(\'lake\', cleanup_all => true)',  # names are found in any case
    "select * from ducklake_merge_adjacent_files('lake')",
    "from lake.merge_adjacent_files()",  # the lake's own macro for it
    "select * from ducklake_delete_orphaned_files('lake', cleanup_all => true)",
    "from query('select * from ducklake_cleanup_old_files(''lake'', cleanup_all => true)')",
])
def test_functions_that_write_are_refused_inside_a_select(newsflow, tmp_path, call):
    """On a read-only attach, ducklake_cleanup_old_files deleted the data files scheduled for deletion before its
    catalog update failed, and ducklake_merge_adjacent_files wrote a merged file."""
    lake = lake_with_files_to_delete(tmp_path / "lake")
    files = sorted(p for p in (lake / "data").rglob("*") if p.is_file())
    code, _out, err = newsflow("sql", call, where=lake)
    assert code == 1 and REFUSED in one_line(err)
    assert sorted(p for p in (lake / "data").rglob("*") if p.is_file()) == files


# Every other table function and table macro of DuckDB 1.5.5 with the ducklake, sqlite and postgres extensions,
# reviewed as reading. A new one (an upgrade) fails below until it is put here or in warehouse.WRITING_FUNCTIONS.
READING_FUNCTIONS = {
    "arrow_scan", "arrow_scan_dumb", "pandas_scan", "python_map_function",  # Python objects only (POINTER arguments)
    "duckdb_approx_database_count", "duckdb_columns", "duckdb_connection_count", "duckdb_constraints",
    "duckdb_coordinate_systems", "duckdb_databases", "duckdb_dependencies", "duckdb_extensions",
    "duckdb_external_file_cache", "duckdb_functions", "duckdb_indexes", "duckdb_keywords", "duckdb_log_contexts",
    "duckdb_logs", "duckdb_logs_parsed", "duckdb_memory", "duckdb_optimizers", "duckdb_prepared_statements",
    "duckdb_profiling_settings", "duckdb_schemas", "duckdb_secret_types", "duckdb_secrets", "duckdb_sequences",
    "duckdb_settings", "duckdb_table_sample", "duckdb_tables", "duckdb_temporary_files", "duckdb_types",
    "duckdb_variables", "duckdb_views",
    "ducklake_current_snapshot", "ducklake_last_committed_snapshot", "ducklake_list_files", "ducklake_options",
    "ducklake_scan", "ducklake_settings", "ducklake_snapshots", "ducklake_table_changes", "ducklake_table_deletions",
    "ducklake_table_info", "ducklake_table_insertions",
    "generate_series", "glob", "histogram", "histogram_values", "icu_calendar_names", "json_each", "json_tree",
    "parquet_bloom_probe", "parquet_file_metadata", "parquet_full_metadata", "parquet_kv_metadata",
    "parquet_metadata", "parquet_scan", "parquet_schema", "pg_clear_cache", "pg_timezone_names", "postgres_scan",
    "postgres_scan_pushdown", "pragma_collations", "pragma_database_size", "pragma_metadata_info", "pragma_platform",
    "pragma_show", "pragma_storage_info", "pragma_table_info", "pragma_user_agent", "pragma_version", "query_table",
    "range", "read_blob", "read_csv", "read_csv_auto", "read_duckdb", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
    "read_parquet", "read_postgres_binary", "read_text", "repeat", "repeat_row", "seq_scan", "sniff_csv",
    "sqlite_scan", "summary", "test_all_types", "test_vector_types", "unnest", "which_secret",
}


def test_every_table_function_is_reviewed(lake):
    con = warehouse.connect(lake, read_only=True)
    try:
        warehouse.load_extensions(con, ("postgres",))  # a Postgres catalog's connections load it
        names = {r[0] for r in con.execute("select function_name from duckdb_functions() where database_name = "
                                           "'system' and function_type in ('table', 'table_macro')").fetchall()}
    finally:
        con.close()
    assert names - READING_FUNCTIONS - warehouse.WRITING_FUNCTIONS == set()
    assert not READING_FUNCTIONS & warehouse.WRITING_FUNCTIONS


@pytest.mark.parametrize("statement", [
    "select count(*) from articles", "from sources", "with s as (from sources) select name from s",
    "values (1), (2)", "table sources", "describe sources", "show tables", "summarize sources",
    "pivot (select 1 t, 1 n) on t using sum(n)", "unpivot (select 1 a, 2 b) on a, b into name k value v",
    "explain select 1", "explain analyze pivot (select 1 t, 1 n) on t using sum(n)", "pragma table_info('sources')",
    "explain (format json) (select 1) union (select 2)", "explain analyze (select 1)",
    "select * from lake.snapshots()", "select * from ducklake_table_info('lake')", "select 1 as query;;",
    "select 'ducklake_cleanup_old_files(''lake'')' as text -- a name in a string or a comment is no call",
])
def test_reading_statements_run(newsflow, statement):
    code, out, err = newsflow("sql", statement)
    assert code == 0, err
    assert out.rstrip().endswith(("row)", "rows)"))


@pytest.mark.parametrize("command", ["sql", "export"])
@pytest.mark.parametrize("text", ["", "   \n", "-- x", "/* nothing */", ";", " ; ;"])
def test_an_empty_query_is_a_usage_error(newsflow, tmp_path, command, text):
    argv = ["sql", text] if command == "sql" else ["export", "--query", text, "--output", str(tmp_path / "o.csv")]
    code, _out, err = newsflow(*argv)
    assert code == 2 and "the query is empty" in one_line(err)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("command", ["sql", "export"])
def test_several_statements_are_refused_not_run_for_the_last(newsflow, tmp_path, command):
    text = "select 1 as first; select 2 as second"
    argv = ["sql", text] if command == "sql" else ["export", "--query", text, "--output", str(tmp_path / "o.csv")]
    code, out, err = newsflow(*argv)
    assert code == 2 and "2 statements: give one at a time" in one_line(err) and out == ""


def test_export_counts_the_rows_it_wrote_whatever_the_file_name(newsflow, tmp_path):
    """The count read the file back: read_csv(path) took `p*.csv` and `x[1]` for globs, a header of digits for a
    row, and /dev/null could not be read."""
    (tmp_path / "p_other.csv").write_text("a\n1\n2\n3\n", encoding="utf-8")
    code, out, _err = newsflow("export", "--query", "select range from range(5)", "--format", "csv",
                               "--output", str(tmp_path / "p*.csv"))
    assert code == 0 and out.startswith(f"wrote 5 row(s) to {tmp_path / 'p*.csv'} from lake snapshot ")
    assert (tmp_path / "p*.csv").read_text(encoding="utf-8").split() == ["range", "0", "1", "2", "3", "4"]

    newsflow("export", "--query", "select range from range(7)", "--output", str(tmp_path / "x1.parquet"))
    code, out, _err = newsflow("export", "--query", "select 1", "--output", str(tmp_path / "x[1].parquet"))
    assert code == 0 and out.startswith("wrote 1 row(s)") and (tmp_path / "x[1].parquet").is_file()

    code, out, _err = newsflow("export", "--query", 'select 1 as "1"', "--format", "csv",
                               "--output", str(tmp_path / "digits.csv"))
    assert code == 0 and out.startswith("wrote 1 row(s)")

    for fmt in ("csv", "parquet"):
        code, out, err = newsflow("export", "--query", "select range from range(3)", "--format", fmt,
                                  "--output", "/dev/null")
        assert code == 0 and out.startswith("wrote 3 row(s) to /dev/null from lake snapshot "), err
    assert Path("/dev/null").is_char_device()


def test_export_writes_a_pivot_and_a_query_ending_in_a_comment(newsflow, tmp_path):
    out = tmp_path / "pivot.csv"
    code, stdout, err = newsflow("export", "--query", "pivot (select 1 t, 1 n union all select 2, 3) on t using "
                                 "sum(n); -- by t", "--format", "csv", "--output", str(out))
    assert code == 0 and stdout.startswith("wrote 1 row(s)"), err
    assert out.read_text(encoding="utf-8").split() == ["1,2", "1,3"]


def test_export_to_parquet_keeps_counts_integers(newsflow, tmp_path):
    """A sum of counts (docs/warehouse.md's example 1) or a PIVOT's sums is a HUGEINT, which Parquet cannot hold:
    DuckDB wrote it as DOUBLE, and pandas and Arrow read a count of 7 as 7.0."""
    import pyarrow.parquet as pq

    out = tmp_path / "top.parquet"
    code, stdout, err = newsflow("export", "--query", "select source, sum(n) as articles, sum(n) as articles "
                                 "from (values ('a', 3), ('a', 4), ('b', 1)) as t(source, n) group by source "
                                 "order by source -- top sources", "--output", str(out))
    assert code == 0 and stdout.startswith("wrote 2 row(s)"), err
    table = pq.read_table(out)
    assert [(f.name, str(f.type)) for f in table.schema] == \
        [("source", "string"), ("articles", "int64"), ("articles_1", "int64")]
    assert table.to_pylist() == [{"source": "a", "articles": 7, "articles_1": 7},
                                 {"source": "b", "articles": 1, "articles_1": 1}]
    code, stdout, err = newsflow("export", "--query", "pivot (select 1 t, 1 n union all select 2, 3) on t using "
                                 "sum(n)", "--output", str(tmp_path / "pivot.parquet"))
    assert code == 0, err
    assert pq.read_table(tmp_path / "pivot.parquet").to_pylist() == [{"1": 1, "2": 3}]


def test_export_refuses_what_writes_and_what_it_cannot_export(newsflow, tmp_path):
    code, _out, err = newsflow("export", "--query", f"copy (select 1) to '{tmp_path / 'side.csv'}'",
                               "--output", str(tmp_path / "o.csv"))
    assert code == 1 and REFUSED in one_line(err) and not (tmp_path / "side.csv").exists()
    code, _out, err = newsflow("export", "--query", "describe sources", "--output", str(tmp_path / "o.csv"))
    assert code == 2 and "newsflow sql" in one_line(err)
    assert not (tmp_path / "o.csv").exists()


def test_export_to_a_directory_says_so(newsflow, tmp_path):
    code, _out, err = newsflow("export", "--query", "select 1", "--output", str(tmp_path))
    line = one_line(err)
    assert code == 2 and "is a directory" in line and "query failed" not in line
    code, _out, err = newsflow("export", "--query", "select 1", "--output", "")
    assert code == 2 and "--output is empty" in one_line(err)


@pytest.mark.parametrize(("output", "why"), [("/dev/full", "No space left on device"),
                                           ("/proc/newsflow-export.csv", "No such file or directory")])
def test_export_that_cannot_write_its_file_says_so_not_query_failed(newsflow, output, why):
    # a full disk or a path no file can have is no fault of the query: it read "query failed: IO Error: ..."
    code, out, err = newsflow("export", "--query", "select range from range(3)", "--format", "csv", "--output", output)
    line = one_line(err)
    assert code == 1 and out == "" and line.startswith(f"newsflow: cannot write {output}: IO Error:"), line
    assert why in line and "query failed" not in line


def unwritable_outputs(tmp_path: Path) -> list[tuple[Path, str]]:
    """(an output whose folder cannot be made or written, what the message says after `cannot write FILE: `)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    cases = [(tmp_path / "a-file" / "x.{suffix}", f"{tmp_path / 'a-file'} is a file, not a folder"),
             (tmp_path / "a-file" / "sub" / "x.{suffix}", f"{tmp_path / 'a-file'} is a file, not a folder"),
             (Path("/proc/newsflow-no-such-folder/x.{suffix}"),
              "No such file or directory: /proc/newsflow-no-such-folder")]
    if os.geteuid() != 0:  # root writes in a folder without write permission
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        cases += [(locked / "sub" / "x.{suffix}", "Permission denied"), (locked / "x.{suffix}", "Permission denied")]
    return cases


def test_export_whose_folder_cannot_be_made_says_cannot_write(newsflow, tmp_path):
    # a folder on the way that is a file read "newsflow: [Errno 17] File exists: '/etc/passwd'", naming no output
    for pattern, why in unwritable_outputs(tmp_path):
        output = Path(str(pattern).format(suffix="csv"))
        code, out, err = newsflow("export", "--query", "select 1", "--output", str(output))
        line = one_line(err)
        assert code == 1 and out == "", line
        assert line.startswith(f"newsflow: cannot write {output}: ") and why in line, line
        assert not output.exists()


def strict_json(text: str):
    def refuse(word):
        raise AssertionError(f"{word} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_is_valid_for_nan_and_infinity(newsflow):
    """Documented choice: NaN and the infinities are the strings "NaN", "Infinity" and "-Infinity" (what
    JavaScript's Number() and Python's float() read back), so that null stays SQL's NULL."""
    code, out, err = newsflow("sql", "select 'nan'::double n, 'inf'::double i, '-inf'::double m, null::double z, "
                                     "[1.5, 'nan'::double] l, {'k': 'inf'::float} s", "--format", "json")
    assert code == 0, err
    assert strict_json(out) == [{"n": "NaN", "i": "Infinity", "m": "-Infinity", "z": None, "l": [1.5, "NaN"],
                                 "s": {"k": "Infinity"}}]


def test_json_refuses_two_columns_of_one_name(newsflow):
    code, out, err = newsflow("sql", "select 1 a, 2 a, 3 b", "--format", "json")
    assert code == 2 and "'a'" in one_line(err) and "distinct column names" in err and out == ""
    code, out, _err = newsflow("sql", "select 1 a, 2 a", "--format", "csv")
    assert code == 0 and out.split() == ["a,a", "1,2"]


def test_blobs_and_intervals_are_shown_as_duckdb_shows_them(newsflow):
    """A BLOB is DuckDB's text for it (printable ASCII as is, other bytes and \\ ' " as \\xHH), an INTERVAL its
    own words: Python made b'\\xff\\x00' of the one and "360 days, 0:00:00" of '1 year'. Inside lists, structs
    and maps too, which stay JSON arrays and objects."""
    query = ("select '\\xff\\x00a'::blob b, '1 year'::interval i, interval '1 year 2 months 3 days 04:05:06' j, "
             "['\\x01'::blob] l, {'d': '2 hours'::interval} s")
    code, out, err = newsflow("sql", query, "--format", "json")
    assert code == 0, err
    assert strict_json(out) == [{"b": "\\xFF\\x00a", "i": "1 year", "j": "1 year 2 months 3 days 04:05:06",
                                 "l": ["\\x01"], "s": {"d": "02:00:00"}}]
    code, out, _err = newsflow("sql", query, "--format", "csv")
    assert out.splitlines()[1].startswith("\\xFF\\x00a,1 year,1 year 2 months 3 days 04:05:06,")
    code, out, _err = newsflow("sql", "select '\\xff'::blob b, '1 year'::interval i")
    assert out.splitlines()[2].split() == ["\\xFF", "1", "year"]


def test_table_and_csv_show_booleans_lists_and_structs_as_duckdb_does(newsflow):
    """`rejected_articles.reasons` printed ['navigation_page'], a boolean True: Python's text, not the warehouse's.
    In a table and in CSV they are DuckDB's own (as `export --format csv` writes them); JSON keeps arrays and
    objects. CSV lines end in a line feed, as the export's do."""
    query = "select true as t, ['a', 'b'] as l, {'k': 1, 's': 'x'} as s, map {'a': 1} as m, 2 as n"
    code, out, err = newsflow("sql", query, "--format", "csv")
    assert code == 0, err
    assert out == "t,l,s,m,n\ntrue,\"[a, b]\",\"{'k': 1, 's': x}\",{a=1},2\n"
    code, out, err = newsflow("sql", query)
    assert code == 0, err
    assert out.splitlines()[2].split("  ") == ["true", "[a, b]", "{'k': 1, 's': x}", "{a=1}", "2"]
    code, out, err = newsflow("sql", query, "--format", "json")
    assert strict_json(out) == [{"t": True, "l": ["a", "b"], "s": {"k": 1, "s": "x"}, "m": {"a": 1}, "n": 2}]


def test_csv_tells_a_null_from_an_empty_string_as_the_export_does(newsflow, tmp_path):
    """An article without a credit line (NULL) and one whose credit is '' read alike in `sql --format csv`:
    Python's csv module writes both as nothing (and as `""` when alone on a line). DuckDB's export, which a
    researcher compares it with, writes NULL as nothing and '' as `""`; `sql` writes the same bytes now."""
    query = ("select * from (values (1, '', null, 'a,b'), (2, null, '', 'say \"hi\"'), (3, 'x', 'y', 'two\nlines')) "
             "as t(n, c, d, e) order by n")
    code, out, err = newsflow("sql", query, "--format", "csv")
    assert code == 0, err
    assert out == 'n,c,d,e\n1,"",,"a,b"\n2,,"","say ""hi"""\n3,x,y,"two\nlines"\n'
    exported = tmp_path / "t.csv"
    code, _out, err = newsflow("export", "--query", query, "--format", "csv", "--output", str(exported))
    assert code == 0, err
    assert exported.read_text() == out
    for alone in ("select null as c", "select '' as c"):
        code, out, err = newsflow("sql", alone, "--format", "csv")
        assert code == 0, err
        assert out == ("c\n\n" if "null" in alone else 'c\n""\n')


def test_headers_never_hand_the_terminal_a_control_sequence(newsflow):
    """A PIVOT names its columns after values from the data: an ESC sequence stored from a hostile page."""
    buffer = io.StringIO()
    _print_table(["ok\x1b]0;pwned\x07x", "\u202eevil", "n"], [(1, 2, 3)], out=buffer)
    assert "\x1b" not in buffer.getvalue() and "\x07" not in buffer.getvalue() and "\u202e" not in buffer.getvalue()
    assert buffer.getvalue().splitlines()[0].split() == ["ok\ufffd]0;pwned\ufffdx", "\ufffdevil", "n"]
    code, out, err = newsflow("sql", "pivot (select chr(27)||']0;pwned'||chr(7)||'x' t, 1 n) on t using sum(n)")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and out.splitlines()[0].strip() == "\ufffd]0;pwned\ufffdx"


def test_the_python_query_helper_reads_only(lake, tmp_path):
    with pytest.raises(warehouse.QueryRefused):
        warehouse.query(f"copy (select 1) to '{tmp_path / 'x.csv'}'", path=lake)
    with pytest.raises(warehouse.NotOneQuery):
        warehouse.query("-- nothing", path=lake)
    assert warehouse.query("select count(*) as n from sources where name = $n", {"n": "s"}, path=lake) == (
        ["n"], [(1,)])
    assert not (tmp_path / "x.csv").exists()


def test_a_reader_that_stops_early_ends_the_command_quietly(lake, tmp_path):
    """`newsflow sql ... | head`: the pipe closes under the table; that is the reader's choice, not an error
    (it printed `newsflow: [Errno 32] Broken pipe` and exited 1)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path / "data"), "NEWSFLOW_WAREHOUSE": str(lake)}
    cli = subprocess.Popen([sys.executable, "-m", "newsflow.cli", "sql", "select * from range(300000)"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert cli.stdout.readline().strip() == b"range"
    cli.stdout.close()
    err = cli.stderr.read()
    assert cli.wait(timeout=60) == 141
    assert err == b""


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs, filled by any export of a few MB (mounting one needs root)."""
    from tests.support.small_disk import small_disk

    with small_disk(tmp_path / "small", "1m") as disk:
        yield disk


@pytest.mark.parametrize("name", ["big.csv", "big.parquet"])
def test_export_that_fills_the_disk_leaves_nothing_behind(newsflow, small_disk, name):
    """A full disk mid-export left the part written: a truncated file under the output's name (a new one), or
    DuckDB's `tmp_<name>` beside an earlier export (kept): a file that looked like an export, and the disk full."""
    # > 6 MB, in order: DuckDB removes the file of a parallel COPY that failed, not that of an ordered one
    query = "select range, md5(random()::varchar) || md5(random()::varchar) as filler from range(200000) order by 1"
    assert_a_failed_export_leaves_nothing(newsflow, small_disk, name, query, "No space left on device")


def assert_a_failed_export_leaves_nothing(newsflow, folder, name: str, query: str, said: str) -> None:
    """`query` exported to `folder/name` fails saying `said`, and leaves no file; over an earlier export, that one
    stays byte for byte, alone in the folder."""
    code, out, err = newsflow("export", "--query", query, "--output", str(folder / name))
    assert code == 1 and out == "" and said in one_line(err)
    assert sorted(p.name for p in folder.iterdir()) == []
    earlier = folder / f"earlier-{name}"
    code, _out, err = newsflow("export", "--query", "select 1 as n", "--output", str(earlier))
    assert code == 0, err
    kept = earlier.read_bytes()
    code, _out, err = newsflow("export", "--query", query, "--output", str(earlier))
    assert code == 1 and said in one_line(err)
    assert sorted(p.name for p in folder.iterdir()) == [earlier.name] and earlier.read_bytes() == kept


# ordered: DuckDB writes the sorted rows as they come and keeps what it wrote when a later row fails (a parallel
# COPY's file it removes); the error comes at a row past 300,000 of 400,000, after the first rows are written
FAILS_PART_WAY = ("select range, case when range < 300000 then md5(range::varchar) else error('bad row ' || range) end"
                  " as v from (select range from range(400000) order by range)")


@pytest.mark.parametrize("name", ["part.csv", "part.parquet"])
def test_export_whose_query_fails_part_way_leaves_no_file(newsflow, tmp_path, name):
    """A query error at some row (a cast, error()) left the rows written before it under the output's name, or
    DuckDB's `tmp_<name>` beside an earlier export: a CSV cut at a line end reads as a complete, shorter export."""
    folder = tmp_path / "out"
    folder.mkdir()
    assert_a_failed_export_leaves_nothing(newsflow, folder, name, FAILS_PART_WAY, "bad row ")


@pytest.mark.parametrize("earlier", [False, True], ids=["new", "over-an-earlier-export"])
def test_export_stopped_with_ctrl_c_leaves_no_file_and_says_interrupted(lake, tmp_path, earlier):
    """Ctrl-C mid-export printed a traceback (DuckDB's RuntimeError "Query interrupted") and left the part written:
    a CSV of whole lines, millions short, or DuckDB's `tmp_<name>` beside the earlier export."""
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "big.csv"
    if earlier:
        output.write_text("n\n1\n", encoding="utf-8")
    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path / "data"), "NEWSFLOW_WAREHOUSE": str(lake)}
    query = "select range, md5(range::varchar) as v from range(30000000)"
    cli = subprocess.Popen([sys.executable, "-m", "newsflow.cli", "export", "--query", query, "--output", str(output)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def writing() -> bool:
        return any(p.name != "big.csv" and p.stat().st_size > 0 for p in folder.iterdir())

    deadline = time.monotonic() + 120
    while not writing() and cli.poll() is None:
        assert time.monotonic() < deadline, "the export wrote nothing"
        time.sleep(0.05)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 130 and out == b"", err
    assert err.decode().strip() == "newsflow: interrupted"
    assert sorted(p.name for p in folder.iterdir()) == (["big.csv"] if earlier else [])
    if earlier:
        assert output.read_text(encoding="utf-8") == "n\n1\n"



def test_an_export_killed_part_way_leaves_an_earlier_export_as_it_was(lake, tmp_path):
    """A kill (the OOM killer, a closed terminal's SIGKILL) runs no clean-up: the rows go to a hidden file renamed
    over the output only once all are written, so the output's name never holds a shorter export."""
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / "big.csv"
    output.write_text("n\n1\n", encoding="utf-8")
    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path / "data"), "NEWSFLOW_WAREHOUSE": str(lake)}
    query = "select range, md5(range::varchar) as v from range(30000000)"
    cli = subprocess.Popen([sys.executable, "-m", "newsflow.cli", "export", "--query", query, "--output", str(output)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".partial-") and p.stat().st_size > 0 for p in folder.iterdir()):
        assert cli.poll() is None and time.monotonic() < deadline, "the export wrote nothing"
        time.sleep(0.05)
    cli.send_signal(signal.SIGKILL)
    assert cli.wait(timeout=120) == -signal.SIGKILL
    assert output.read_text(encoding="utf-8") == "n\n1\n"
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".partial-")] == ["big.csv"]


def test_export_names_the_snapshot_it_read_so_the_extract_can_be_made_again(newsflow, tmp_path):
    """A researcher hands a colleague an extract: it said only `wrote N row(s)`, and nothing in the file said which
    state of the lake it was, so after the next load the colleague's run of the same query gave other rows."""
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    con = warehouse.open_for_write(lake)
    con.execute("insert into sources values ('a', 'feed', 'http://a', 'en', 'UTC', 'r1', 'r1', now())")
    con.close()
    query = "select name, locator from sources order by name"
    code, out, err = newsflow("export", "--query", query, "--output", str(tmp_path / "then.parquet"), where=lake)
    assert code == 0, err
    snapshot = int(out.strip().rsplit(" ", 1)[1])
    assert out.strip() == f"wrote 1 row(s) to {tmp_path / 'then.parquet'} from lake snapshot {snapshot}"
    assert pq.read_metadata(tmp_path / "then.parquet").metadata[b"newsflow_lake_snapshot"] == str(snapshot).encode()
    con = warehouse.open_for_write(lake)
    con.execute("insert into sources values ('b', 'feed', 'http://b', 'en', 'UTC', 'r2', 'r2', now())")
    con.close()
    again = f"select name, locator from sources at (version => {snapshot}) order by name"
    code, out, err = newsflow("export", "--query", again, "--output", str(tmp_path / "again.parquet"), where=lake)
    assert code == 0 and int(out.strip().rsplit(" ", 1)[1]) > snapshot, err  # the lake has moved on
    assert pq.read_table(tmp_path / "again.parquet") == pq.read_table(tmp_path / "then.parquet")
    assert pq.read_table(tmp_path / "then.parquet").to_pylist() == [{"name": "a", "locator": "http://a"}]


def test_export_to_dev_stdout_writes_the_rows_into_a_pipe(lake, tmp_path):
    """`newsflow export --output /dev/stdout | gzip`: the path was resolved, and /dev/stdout on a pipe resolves to
    /proc/<pid>/fd/pipe:[N], a name no file has: `cannot write`, exit 1, nothing in the pipe. The count is said on
    standard error: on standard output it would be a last line of the CSV."""
    import subprocess
    import sys

    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path / "data"), "NEWSFLOW_WAREHOUSE": str(lake)}
    cli = subprocess.run([sys.executable, "-m", "newsflow.cli", "export", "--query", "select range from range(3)",
                          "--format", "csv", "--output", "/dev/stdout"],
                         env=env, capture_output=True, timeout=120, check=False)
    assert cli.returncode == 0, cli.stderr.decode()
    assert cli.stdout.decode() == "range\n0\n1\n2\n"
    assert cli.stderr.decode().startswith("wrote 3 row(s) to /dev/stdout from lake snapshot ")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_export_to_a_long_file_name_writes_it(newsflow, tmp_path, suffix):
    """A name of 80 Chinese characters (240 bytes) is a file name; the hidden `.partial-<pid>-` before it was not
    (over 255 bytes): `[Errno 36] File name too long`, naming the hidden file, and no export."""
    import gzip

    output = tmp_path / ("报道" * 40 + suffix)
    code, out, err = newsflow("export", "--query", "select 42 as n", "--format", "csv", "--output", str(output))
    assert code == 0, err
    assert out.startswith(f"wrote 1 row(s) to {output} from lake snapshot ")
    data = output.read_bytes()
    assert (gzip.decompress(data) if suffix.endswith(".gz") else data) == b"n\n42\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".partial-")] == []
