"""The housekeeper's clean, really run: Airflow's `airflow db clean` on a real metadata DB deletes the history older
than the retention days and keeps the rest; `newsflow clean-metadata` says per table what went; bad retention
settings are refused by name. (The service test runs it beside a live scheduler and sees a run's rows go.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.housekeeper import (
    TABLES,
    clean_command,
    clean_metadata,
    last_said,
    metadata_retention_days,
    run_forever,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
pytestmark = pytest.mark.integration


def audit_rows(home: Path, *ages_days: float) -> list[int]:
    """Rows in Airflow's audit log (`log`, one per UI and API action: 291 in the demo service's first seven
    minutes), `ages_days` old; returns their ids."""
    con = sqlite3.connect(home / "airflow.db")
    try:
        ids = []
        for age in ages_days:
            stamp = (NOW - timedelta(days=age)).strftime("%Y-%m-%d %H:%M:%S.%f")
            ids.append(con.execute("insert into log (dttm, event, dag_id) values (?, 'newsflow-test', 'news_ingest')",
                                   [stamp]).lastrowid)
        con.commit()
        return ids
    finally:
        con.close()


def remaining(home: Path, ids: list[int]) -> list[int]:
    con = sqlite3.connect(home / "airflow.db")
    try:
        return [i for (i,) in con.execute(f"select id from log where id in ({','.join('?' * len(ids))}) order by id",
                                          ids)]
    finally:
        con.close()


def test_clean_deletes_only_what_is_older_than_the_retention(airflow_home, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "30")
    old, older, recent, today = audit_rows(airflow_home, 31, 400, 29, 0)
    done = clean_metadata(now=NOW)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert remaining(airflow_home, [old, older, recent, today]) == [recent, today]
    assert "Checking table log" in done.stdout and "Checking table xcom" in done.stdout


def test_clean_metadata_command_says_what_it_deleted(airflow_home):
    old, kept = audit_rows(airflow_home, 8, 1)
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "clean-metadata", "--days", "7"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deleting Airflow's run history from before" in done.stdout and "(7 days kept)" in done.stdout
    lines = [line.strip() for line in done.stdout.splitlines()]
    # the audit rows of the test above older than 7 days go too
    deleted = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.endswith("rows deleted")}
    assert set(TABLES) <= set(deleted) and deleted["log"] >= 1 and deleted["xcom"] == 0
    assert remaining(airflow_home, [old, kept]) == [kept]


def test_bad_retention_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "forever")
    with pytest.raises(ValueError, match="NEWSFLOW_METADATA_RETENTION_DAYS='forever': expected a number of days"):
        metadata_retention_days()
    # the daily clean runs beside runs in progress (a fetch may take hours): it keeps a day at least
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "0.5")
    with pytest.raises(ValueError, match="NEWSFLOW_METADATA_RETENTION_DAYS='0.5': must be at least 1"):
        metadata_retention_days()
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "clean-metadata", "--days", "-2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "'-2': must not be negative" in done.stderr


def test_the_clean_keeps_what_is_not_history():
    command = clean_command(datetime(2026, 11, 4, tzinfo=UTC))
    tables = command[command.index("--tables") + 1].split(",")
    # DAGs, their versions, connections, variables and pools are configuration, not history
    assert set(tables) == set(TABLES) and not {"dag", "dag_version", "connection", "variable"} & set(tables)
    assert command[command.index("--clean-before-timestamp") + 1] == "2026-11-04T00:00:00+00:00"
    assert {"--skip-archive", "--yes", "--error-on-cleanup-failure"} <= set(command)


def test_the_loop_says_each_clean_and_survives_a_bad_setting(airflow_home, monkeypatch):
    said = []
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "soon")
    run_forever(first=0, every=0, rounds=1, echo=said.append)
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "30")
    run_forever(first=0, every=0, rounds=1, echo=said.append)
    assert "cleaned in 0s, then every 0h" in said[0]
    assert "metadata not cleaned: SettingError: NEWSFLOW_METADATA_RETENTION_DAYS='soon'" in said[1]
    assert "(30 days) cleaned: done in" in said[3]


def test_the_loop_lives_on_whatever_a_clean_raises(monkeypatch):
    # seen on a running service: its code was upgraded under it and the day's clean raised an ImportError, which
    # ended the housekeeper for good; now the day's clean fails, says why, and the next one is tried
    import newsflow.housekeeper as housekeeper

    def broken(**kwargs):
        raise ImportError("cannot import name 'days_setting' from 'newsflow.config'")

    monkeypatch.setattr(housekeeper, "clean_metadata", broken)
    said = []
    housekeeper.run_forever(first=0, every=0, rounds=2, echo=said.append)
    failures = [line for line in said if "metadata not cleaned: ImportError: cannot import name" in line]
    assert len(failures) == 2, said


def test_status_shows_the_housekeepers_latest_line(tmp_path):
    log = tmp_path / "housekeeper.log"
    assert last_said(log) is None  # not started yet
    log.write_text("2026-12-04 19:43:01 newsflow housekeeper: Airflow's metadata history is cleaned in 600s, then "
                   "every 24h\n" + "x" * 40_000 + "\n2026-12-04 19:53:04 newsflow housekeeper: metadata history before "
                   "2026-11-04 19:53 UTC (30 days) cleaned: done in 2.1s\nTraceback (most recent call last):\n",
                   encoding="utf-8")
    assert last_said(log) == ("2026-12-04 19:53:04 metadata history before 2026-11-04 19:53 UTC (30 days) cleaned: "
                              "done in 2.1s")
