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
