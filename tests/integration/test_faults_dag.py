"""Faults through Airflow itself (`newsflow ingest` -> `airflow dags test`): a poisoned source leaves the other
loading and the run succeeding with the failed source named; permanent errors (a read-only data folder, a
garbage or directory warehouse) fail at once, without retries, with the cause on one console line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer
from tests.support.reprocess_faults import failing_reprocess_extract
from tests.support.webhook import Webhook

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def ingest(tmp_path, airflow_home, sources_yaml: str, *, data: Path, warehouse: Path, timeout: float = 300,
           extra_args=(), env_extra=None) -> tuple[subprocess.CompletedProcess, float]:
    (tmp_path / "sources.yaml").write_text(sources_yaml, encoding="utf-8")
    return newsflow(airflow_home, "ingest", "--sources", str(tmp_path / "sources.yaml"), *extra_args, data=data,
                    warehouse=warehouse, timeout=timeout, env_extra=env_extra)


def newsflow(airflow_home, *args: str, data: Path, warehouse: Path, timeout: float = 300,
             env_extra=None) -> tuple[subprocess.CompletedProcess, float]:
    """`newsflow ARGS` on the test's Airflow home, data folder and warehouse; its result and seconds."""
    env = {**os.environ, "AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(data),
           "NEWSFLOW_WAREHOUSE": str(warehouse), **(env_extra or {})}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "newsflow.cli", *args], env=env, capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    return result, time.monotonic() - started


def healthy_and_poisoned(server: FaultServer) -> str:
    """A sources file of two urls sources on `server`: `healthy` (two pages) and `poisoned` (one), tried once."""
    return (f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
            "  max_tries: 1\n"
            "sources:\n"
            f"  - {{name: healthy, kind: urls, urls: ['{server.url('/ok/h1')}', '{server.url('/ok/h2')}']}}\n"
            f"  - {{name: poisoned, kind: urls, urls: ['{server.url('/ok/p1')}']}}\n")


def test_a_poisoned_source_does_not_stop_the_other(tmp_path, airflow_home):
    data = tmp_path / "data"
    with FaultServer() as server:
        sources = healthy_and_poisoned(server)
        # a filesystem fault that hits the poisoned source only: its archive folder is a file, so its fetch
        # cannot archive anything
        (data / "archive").mkdir(parents=True)
        (data / "archive" / "poisoned").write_text("not a folder")
        result, wall = ingest(tmp_path, airflow_home, sources, data=data, warehouse=data / "warehouse")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "1 source(s) failed: poisoned" in result.stderr, output[-6000:]
    assert "source_failed:fetch_extract: File exists" in result.stdout
    [run_id] = re.findall(r"^run (\S+) took", result.stdout, re.M)
    con = connect(data / "warehouse", read_only=True)
    rows = con.execute("select source, url_kind, outcome, left(reason, 40) from fetch_log where run_id = ? "
                       "order by source, url_kind, seq", [run_id]).fetchall()
    assert rows == [("healthy", "article", "loaded", "new"), ("healthy", "article", "loaded", "new"),
                    ("poisoned", "article", "failed", "source_failed:fetch_extract"),
                    ("poisoned", "source", "failed", "source_failed:fetch_extract: File exists")]
    assert con.execute("select status from runs where run_id = ?", [run_id]).fetchone() == ("partial",)
    # a permanent error is not retried: the poisoned fetch ran once
    assert output.count("done  fetch_extract[1]") == 1, output[-4000:]


def test_a_run_whose_every_source_failed_shows_its_outcomes_and_is_judged_when_asked(tmp_path, airflow_home):
    """`newsflow ingest --quality` of a run whose every source failed said the first source's error, showed no
    outcome and ran no check: the dashboard kept the day before. Its load had logged every URL, and the service's
    scheduler judges such a run (the load's Asset event starts news_quality); so does the command now."""
    data = tmp_path / "data"
    with FaultServer() as server:
        (data / "archive").mkdir(parents=True)
        for name in ("healthy", "poisoned"):  # neither source can archive a page: both fail in fetch_extract
            (data / "archive" / name).write_text("not a folder")
        result, _wall = ingest(tmp_path, airflow_home, healthy_and_poisoned(server), data=data,
                               warehouse=data / "warehouse", extra_args=("--quality",), timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "news_ingest run ended with state failed" in result.stderr, output[-4000:]
    assert "2 source(s) failed: healthy, poisoned" in result.stderr, output[-4000:]
    assert "Outcomes per source (this run):" in result.stdout and "news_quality: checks" in result.stdout, output[-4000:]
    con = connect(data / "warehouse", read_only=True)
    try:
        assert con.execute("select status from runs").fetchall() == [("failed",)]
        failing = con.execute("select source from quality_checks where check_name = 'fetch_failure_rate' "
                              "and status = 'fail' order by source").fetchall()
    finally:
        con.close()
    assert failing == [("healthy",), ("poisoned",)]
    assert (data / "reports" / "dashboard.html").is_file()


def test_a_source_failing_in_reprocess_does_not_stop_the_other(tmp_path, airflow_home):
    """news_reprocess is wired as news_ingest: one source's extract failing stopped validate, load and account for
    every source (nothing reprocessed, no `runs` row). The other source is reprocessed, the failed one's URLs are
    logged `source_failed:extract`, the run is `partial` and `newsflow reprocess` names the source."""
    data = tmp_path / "data"
    with FaultServer() as server:
        sources = healthy_and_poisoned(server)
        result, _ = ingest(tmp_path, airflow_home, sources, data=data, warehouse=data / "warehouse")
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with failing_reprocess_extract(data, {"poisoned"}):
        result, _ = newsflow(airflow_home, "reprocess", "--sources", str(tmp_path / "sources.yaml"), data=data,
                             warehouse=data / "warehouse")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "newsflow: 1 source(s) failed: poisoned" in result.stderr, output[-4000:]
    con = connect(data / "warehouse", read_only=True)
    try:
        [(run_id, status)] = con.execute("select run_id, status from runs where dag_id = 'news_reprocess'").fetchall()
        rows = con.execute("select source, url_kind, outcome, left(reason, 37) from fetch_log where run_id = ? "
                           "order by source, url_kind, seq", [run_id]).fetchall()
    finally:
        con.close()
    assert status == "partial"
    assert rows == [("healthy", "article", "unchanged", "same_content")] * 2 + [
        ("poisoned", "article", "failed", "source_failed:extract"),
        ("poisoned", "source", "failed", "source_failed:extract: Is a directory")]


def test_a_reprocess_whose_every_source_failed_shows_its_outcomes(tmp_path, airflow_home):
    """`newsflow reprocess` of a run whose every source failed in extract said only the account step's error: the
    load had committed (a `runs` row, every URL logged), as an ingest's does, and the outcomes were not shown. They
    are now, with the failed sources, as `newsflow ingest` shows such a run; the exit stays 1."""
    data = tmp_path / "data"
    with FaultServer() as server:
        result, _ = ingest(tmp_path, airflow_home, healthy_and_poisoned(server), data=data,
                           warehouse=data / "warehouse")
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with failing_reprocess_extract(data, {"healthy", "poisoned"}):
        result, _ = newsflow(airflow_home, "reprocess", "--sources", str(tmp_path / "sources.yaml"), data=data,
                             warehouse=data / "warehouse")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "news_reprocess run ended with state failed" in result.stderr, output[-4000:]
    assert "newsflow: 2 source(s) failed: healthy, poisoned" in result.stderr, output[-4000:]
    assert "Outcomes per source (this run):" in result.stdout, output[-4000:]
    con = connect(data / "warehouse", read_only=True)
    try:
        assert con.execute("select status from runs where dag_id = 'news_reprocess' and loaded_at is not null"
                           ).fetchall() == [("failed",)]
    finally:
        con.close()


@pytest.mark.parametrize("fault", ["garbage", "directory"])
def test_a_broken_warehouse_fails_fast_with_one_line(tmp_path, airflow_home, fault):
    data = tmp_path / "data"
    data.mkdir()
    warehouse = data / "warehouse"  # the lake's folder: its SQLite catalog is what breaks
    warehouse.mkdir()
    if fault == "garbage":
        (warehouse / "catalog.sqlite").write_bytes(os.urandom(64 * 1024))
    else:
        (warehouse / "catalog.sqlite").mkdir()
    with FaultServer() as server:
        sources = (f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                   f"sources:\n  - {{name: one, kind: urls, urls: ['{server.url('/ok/w1')}']}}\n")
        result, wall = ingest(tmp_path, airflow_home, sources, data=data, warehouse=warehouse, timeout=120)
    assert result.returncode == 1, result.stdout[-3000:]
    [line] = [x for x in result.stderr.splitlines() if x.startswith("newsflow:")]
    assert ("file is not a database" in line) if fault == "garbage" else ("is a directory" in line.lower())
    assert "locked" not in line
    assert "up_for_retry" not in result.stdout and result.stdout.count("done  load") == 1, result.stdout[-3000:]
    # fast means no retry (checked above), not a wall-clock bound: Airflow's start-up is the machine's
    print(f"{fault} warehouse: exit {result.returncode} after {wall:.1f} s: {line}")


def test_a_read_only_data_dir_fails_fast_with_one_line(tmp_path, airflow_home):
    """The data folder cannot be written: the plan fails at once (no retries) and says so in one line, and the
    failed run is posted to the alert webhook. Root ignores file modes, so as root the folder is one on sysfs,
    which nobody may create files in."""
    if os.geteuid() == 0:
        data = Path("/sys/kernel/newsflow-read-only-data")
        try:
            data.mkdir()
        except OSError:
            pass
        else:
            data.rmdir()
            pytest.skip("no read-only location to point the data folder at")
    else:
        data = tmp_path / "data"
        data.mkdir()
        data.chmod(0o555)
    with FaultServer() as server, Webhook() as hook:
        sources = (f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
                   f"sources:\n  - {{name: one, kind: urls, urls: ['{server.url('/ok/r1')}']}}\n")
        result, wall = ingest(tmp_path, airflow_home, sources, data=data, warehouse=data / "warehouse",
                              timeout=120, env_extra={"NEWSFLOW_ALERT_WEBHOOK": hook.url})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [x for x in result.stderr.splitlines() if x.startswith("newsflow:")]
    assert len(lines) == 1, result.stdout[-3000:] + result.stderr[-3000:]
    [line] = lines
    assert "plan:" in line and str(data) in line, line
    assert any(why in line for why in ("Permission denied", "Operation not permitted", "Read-only file system"))
    assert result.stdout.count("done  plan") == 1, result.stdout[-3000:]  # no retry: fast, whatever the clock
    [alert] = hook.posts
    assert alert["newsflow"]["kind"] == "run_failed" and alert["newsflow"]["dag_id"] == "news_ingest", alert
    # `airflow dags test` cannot tell its callback every task's state: Airflow's pick, the one that ended last
    assert alert["text"].startswith(f"newsflow: news_ingest run {alert['newsflow']['run_id']} failed (task_failure); "
                                    "last failed task: "), alert
    print(f"read-only data dir: exit {result.returncode} after {wall:.1f} s: {line}")


def test_more_sources_than_airflow_maps_fails_the_plan_once_with_the_setting_named(tmp_path, airflow_home):
    """Over Airflow's [core] max_map_length the plan's list of sources was refused when it was stored: the plan
    was tried three times (about 150 s) and the console said only "load: nothing to load: the run has no source
    jobs (see the plan task)". Now the plan fails once and the line names the limit and the setting."""
    data = tmp_path / "data"
    with FaultServer() as server:
        sources = (f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\nsources:\n" + "".join(
            f"  - {{name: s{i}, kind: urls, urls: ['{server.url(f'/ok/m{i}')}']}}\n" for i in range(3)))
        result, wall = ingest(tmp_path, airflow_home, sources, data=data, warehouse=data / "warehouse",
                              env_extra={"AIRFLOW__CORE__MAX_MAP_LENGTH": "2"})
        assert server.arrivals == []  # nothing fetched
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 1, output
    [line] = [x for x in result.stderr.splitlines() if x.startswith("newsflow:")]
    assert ("plan: configuration: 3 sources in one run, more than Airflow's [core] max_map_length (2)" in line
            and "AIRFLOW__CORE__MAX_MAP_LENGTH" in line), line
    assert result.stdout.count("done  plan") == 1, output  # no retry
    print(f"over the map limit: exit {result.returncode} after {wall:.1f} s: {line}")


def test_a_run_whose_every_source_another_dags_run_holds_is_skipped_not_failed(tmp_path, airflow_home):
    """A source moved to a new schedule while its old schedule's run of the same slot was in flight is left to that
    run (the new DAG's first run has the same run id: staging.claim). When it was the new DAG's only source, its
    plan failed: a red run and a failure alert for a run that had nothing to do. Now the plan and every stage after
    it skip (the plan succeeds with no job) and the run succeeds, nothing fetched or written."""
    from newsflow.airflow_runner import airflow_env
    from newsflow.staging import CLAIM_FILE, source_dir

    data = tmp_path / "data"
    when = "2026-12-07T16:32:00+00:00"
    run_id = f"manual__{when}"
    held = source_dir(run_id, "healthy", base=data)  # made by it
    (held / CLAIM_FILE).write_text("news_ingest_every_minute", encoding="utf-8")
    with FaultServer() as server, Webhook() as hook:
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\nsources:\n"
                           f"  - {{name: healthy, kind: urls, urls: ['{server.url('/ok/h1')}']}}\n", encoding="utf-8")
        env = airflow_env({"AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(data),
                           "NEWSFLOW_WAREHOUSE": str(data / "warehouse"), "NEWSFLOW_ALERT_WEBHOOK": hook.url})
        result = subprocess.run([sys.executable, "tests/support/run_at.py", "dags/news_ingest.py", "news_ingest", when,
                                 str(sources)], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert server.arrivals == []  # nothing fetched
        alerts = hook.posts
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0 and f"RUN {run_id} success" in result.stdout, output
    states = subprocess.run([sys.executable, "-m", "airflow", "tasks", "states-for-dag-run", "news_ingest", run_id,
                             "-o", "json"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert {task["task_id"]: task["state"] for task in json.loads(states.stdout)} == {
        "plan": "success", **{task: "skipped" for task in ("discover", "fetch_extract", "validate", "load",
                                                            "index_terms", "account")}}
    assert alerts == []
    assert not (data / "warehouse").exists()  # nothing loaded: not even a `runs` row
