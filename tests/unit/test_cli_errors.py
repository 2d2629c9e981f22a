"""The CLI says why a warehouse cannot be opened in one line: a lake whose catalog is a directory or a garbage file
is not "locked"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("fault", "why"), [("directory", "Is a directory"), ("garbage", "file is not a database")])
def test_unopenable_warehouse_is_named_not_locked(tmp_path, fault, why):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    if fault == "directory":
        (warehouse / "catalog.sqlite").mkdir()
    else:
        (warehouse / "catalog.sqlite").write_bytes(os.urandom(8192))
    result = subprocess.run([sys.executable, "-m", "newsflow.cli", "sql", "select 1", "--warehouse", str(warehouse)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsflow: "), result.stderr
    assert why in lines[0] and "locked" not in lines[0], lines[0]


def test_tables_go_to_standard_output_as_it_is_when_printed():
    """The table printer's default stream was bound when the module was imported: a run summary printed under
    redirect_stdout (or after a test's output capture replaced sys.stdout) lost its tables."""
    import contextlib
    import io

    from newsflow.cli import _print_table, _write_rows

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _print_table(["source", "loaded"], [("alhadath", 3)])
        _write_rows(["source"], [("novosti",)], "csv")
    assert [line.rstrip() for line in buffer.getvalue().splitlines()] == [
        "source    loaded", "--------  ------", "alhadath  3", "(1 row)", "source", "novosti"]


def test_tables_line_up_in_every_script_and_never_hand_the_terminal_a_control_sequence():
    """`newsflow sql` measures cells in terminal columns: Chinese takes two a character and Arabic vowel marks none,
    so the column after them starts where it starts for Latin rows; an ESC sequence or a bidi override stored from
    a hostile page is shown as U+FFFD, not executed by the analyst's terminal."""
    import io

    from wcwidth import width

    from newsflow.cli import _print_table

    buffer = io.StringIO()
    _print_table(["source", "title", "lang"],
                 [("dailyherald", "Council approves budget", "en"),
                  ("xinwen", "社区垃圾分类试点满一年", "zh"),
                  ("alhadath", "مَرْحَبًا بِكُمْ فِي بَيْرُوت", "ar"),
                  ("novosti", "Волонтёры чемпионата", "ru"),
                  ("hostile", "ok\x1b]0;pwned\x07 then \u202etxet desrever", "en"),
                  ("long", "政府" * 40, "zh")], out=buffer, max_width=30)
    lines = buffer.getvalue().splitlines()[2:-1]
    # the last column starts at the same terminal column on every row
    starts = {width(line[: line.rstrip().rindex(" ") + 1]) for line in lines}
    assert len(starts) == 1, lines
    assert "\x1b" not in buffer.getvalue() and "\x07" not in buffer.getvalue() and "\u202e" not in buffer.getvalue()
    assert "ok\ufffd]0;pwned\ufffd then \ufffdtxet" in lines[4]
    # cut to at most 30 columns: 14 two-column characters and the ellipsis, not 29 characters
    assert "政府政府政府政府政府政府政府…" in lines[5] and width("政府政府政府政府政府政府政府…") == 29


def test_a_warehouse_that_cannot_be_opened_is_not_a_failed_query(tmp_path, monkeypatch, capsys):
    from newsflow.cli import main

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "catalog.sqlite").write_bytes(b"not a database" * 600)
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(warehouse))  # main() sets it; restored after the test
    for argv in (["sql", "select 1"], ["export", "--query", "select 1", "--output", str(tmp_path / "o.csv")]):
        assert main([*argv, "--warehouse", str(warehouse)]) == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"newsflow: the warehouse at {warehouse} could not be opened")
        assert "file is not a database" in lines[0] and "query failed" not in lines[0]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "infinity", "1e10", "1e400", "36501"])
def test_days_must_be_a_finite_sensible_number(value, capsys):
    """float() takes nan and inf: `--days nan` ended in a ValueError traceback, inf and 1e10 in an OverflowError."""
    import argparse

    from newsflow.cli import _days, main

    with pytest.raises(argparse.ArgumentTypeError, match=f"^'{value}': "):
        _days(value)
    with pytest.raises(SystemExit) as exit_:
        main(["clean-metadata", f"--days={value}"])  # = : argparse takes a bare -inf for an option
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"newsflow clean-metadata: error: argument --days: '{value}': ")
    assert _days("36500") == 36500 and _days("0.5") == 0.5


def test_settings_refuse_nan_infinity_and_absurd_days(monkeypatch):
    from newsflow.env_settings import SettingError, days_setting, number_setting, parse_number

    for value in ("nan", "inf", "-inf"):
        with pytest.raises(SettingError, match=f"^X={value!r}: expected a number \\(not NaN or infinity\\)$"):
            parse_number(value, f"X={value!r}")
    monkeypatch.setenv("NEWSFLOW_SOME_DAYS", "1e10")
    with pytest.raises(ValueError, match="^NEWSFLOW_SOME_DAYS='1e10': must be at most 36500$"):
        days_setting("NEWSFLOW_SOME_DAYS", 30)
    monkeypatch.setenv("NEWSFLOW_SOME_COUNT", "1" * 5000)  # past int()'s digit limit: a ValueError of its own
    with pytest.raises(SettingError, match="^NEWSFLOW_SOME_COUNT="):
        number_setting("NEWSFLOW_SOME_COUNT", 5, kind=int)


@pytest.mark.parametrize("value", ["abc", "nan", "1e10"])
def test_a_bad_retention_variable_is_one_line_not_a_traceback(value, monkeypatch, capsys):
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", value)
    assert main(["clean-metadata"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"newsflow: NEWSFLOW_METADATA_RETENTION_DAYS={value!r}: "), lines


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory):
    from newsflow.warehouse import open_for_write

    path = tmp_path_factory.mktemp("report") / "lake"
    open_for_write(path).close()
    return path


def test_report_to_a_directory_or_nowhere_is_refused_and_leaves_no_temp_file(small_lake, tmp_path, monkeypatch,
                                                                             capsys):
    """`--output <existing dir>` failed but left the 4.8 MB <dir>.tmp beside it; `--output ""` wrote
    <working directory>.tmp next to the working directory."""
    from newsflow.cli import main
    from newsflow.report import build_report

    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(small_lake))
    work = tmp_path / "work"
    (work / "folder").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(["report", "--output", "folder", "--warehouse", str(small_lake)]) == 2
    line = capsys.readouterr().err.strip()
    assert line == f"newsflow: --output {work / 'folder'} is a directory: name the HTML file to write"
    assert main(["report", "--output", "", "--warehouse", str(small_lake)]) == 2
    assert capsys.readouterr().err.strip() == "newsflow: --output is empty: name the HTML file to write"
    # the Python API: the write fails, and its temporary file goes with it
    with pytest.raises(IsADirectoryError):
        build_report(work / "folder", warehouse=small_lake)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["folder", "work"]


@pytest.mark.parametrize(("name", "given", "written"), [
    ("a.csv", None, "csv"),  # was Parquet: --format's fixed default
    ("a.CSV", None, "csv"),
    ("a.parquet", None, "parquet"),
    ("a.pq", None, "parquet"),
    ("a.txt", "csv", "csv"),
    ("a.data", "parquet", "parquet"),
    ("a.csv", "csv", "csv"),
])
def test_export_writes_the_format_its_output_is_named_for(small_lake, tmp_path, name, given, written, capsys):
    from newsflow.cli import main

    output = tmp_path / name
    argv = ["export", "--query", "select 1 as a", "--output", str(output), "--warehouse", str(small_lake)]
    assert main(argv + (["--format", given] if given else [])) == 0
    assert capsys.readouterr().out.startswith(f"wrote 1 row(s) to {output} from lake snapshot ")
    head = output.read_bytes()[:4]
    assert (head == b"PAR1") if written == "parquet" else (output.read_text() == "a\n1\n")


@pytest.mark.parametrize(("name", "given", "said"), [
    ("a.txt", None, "--output a.txt: name a .csv or .parquet file, or say which with --format csv|parquet"),
    ("articles", None, "--output articles: name a .csv or .parquet file, or say which with --format csv|parquet"),
    ("a.csv", "parquet", "--format parquet contradicts --output a.csv, a csv file name: drop --format or name the "
                         "file .parquet"),
    ("a.pq", "csv", "--format csv contradicts --output a.pq, a parquet file name: drop --format or name the file .csv"),
])
def test_export_refuses_a_format_it_would_have_to_guess_or_that_its_name_contradicts(small_lake, tmp_path, name,
                                                                                    given, said, capsys):
    from newsflow.cli import main

    argv = ["export", "--query", "select 1 as a", "--output", str(tmp_path / name), "--warehouse", str(small_lake)]
    assert main(argv + (["--format", given] if given else [])) == 2
    assert capsys.readouterr().err.strip() == f"newsflow: {said}"
    assert list(tmp_path.iterdir()) == []


SECRET_LAKE = "postgres:dbname=lake host=127.0.0.1 user=nf password=S3cret-pw"


@pytest.mark.parametrize(("argv", "given"), [
    (["ingest", "--sources", "config/sources.demo.yaml", "--warehouse", SECRET_LAKE], "--warehouse"),
    (["ingest", "--sources", "config/sources.demo.yaml"], "NEWSFLOW_WAREHOUSE"),
    (["demo", "--warehouse", SECRET_LAKE], "--warehouse"),
    (["reprocess", "--sources", "config/sources.demo.yaml", "--warehouse", SECRET_LAKE], "--warehouse"),
    (["up"], "NEWSFLOW_WAREHOUSE"),
])
def test_a_password_in_the_lake_of_a_run_is_refused_before_anything_starts(tmp_path, monkeypatch, capsys, argv,
                                                                            given):
    """A run keeps its lake's location where the Airflow UI shows it to every user (its conf, the plan's jobs, each
    mapped task's arguments, the load's asset event): refused with or without the service, before a run starts."""
    from newsflow.cli import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    if given == "NEWSFLOW_WAREHOUSE":
        monkeypatch.setenv("NEWSFLOW_WAREHOUSE", SECRET_LAKE)
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert f"newsflow: {given} postgres:dbname=lake host=127.0.0.1 user=nf password=*** carries a password" in err, err
    assert "S3cret-pw" not in err
    assert not (tmp_path / "airflow").exists() and not (tmp_path / "data" / "demo").exists()
