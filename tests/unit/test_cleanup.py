"""Staging of dead and finished runs is removed; a live run's folder stays, however old the run. Airflow's log
files are kept for a retention period, then removed with the folders they leave empty."""

from __future__ import annotations

import logging
import os
import time

import pytest

from newsflow.cleanup import clean_dead_staging, finished_run_keys, footprint, log_retention_days, prune_logs
from newsflow.staging import run_key, source_dir
from tests.support.stage_run import run, write_sources


def _age(folder, hours: float) -> None:
    then = time.time() - hours * 3600
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then))


def test_dead_and_finished_staging_is_removed(tmp_path, data_env):
    # a finished run, through the real stages (its runs row has a final status)
    run(tmp_path, None, "finished_run", "  - {name: empty, kind: urls, urls: ['http://127.0.0.1:9/x']}\n",
        settings="  allow_private_hosts: ['127.0.0.1:9']\n  connect_timeout_s: 1\n")
    dead = source_dir("dead_run", "a")
    (dead / "ledger.discover.parquet").write_bytes(b"x")
    _age(dead.parent, 7)
    live_old = source_dir("live_but_old", "a")
    _age(live_old.parent, 30)
    fresh = source_dir("fresh_run", "a")
    (fresh / "articles.parquet").write_bytes(b"x")

    finished = finished_run_keys()
    assert run_key("finished_run") in finished
    removed = clean_dead_staging(finished=finished, keep={run_key("live_but_old")})
    assert sorted(p.name for p in removed) == ["dead_run", "finished_run"]
    left = sorted(p.name for p in (data_env / "staging").iterdir())
    assert left == ["fresh_run", "live_but_old"]
    assert clean_dead_staging(finished=finished, keep={run_key("live_but_old")}) == []


def test_dry_run_removes_nothing(data_env):
    dead = source_dir("dead_run", "a")
    _age(dead.parent, 10)
    assert [p.name for p in clean_dead_staging(dry_run=True)] == ["dead_run"]
    assert dead.exists()


def test_logs_older_than_the_retention_are_removed_with_their_empty_folders(tmp_path):
    logs = tmp_path / "logs"
    old_run = logs / "dag_id=news_ingest" / "run_id=scheduled__2026-10-01T00:00:00+00:00"
    mixed_run = logs / "dag_id=news_ingest" / "run_id=scheduled__2026-11-30T00:00:00+00:00"
    for task in ("plan", "load"):
        (old_run / f"task_id={task}").mkdir(parents=True)
        (old_run / f"task_id={task}" / "attempt=1.log").write_text("x" * 100)
    (mixed_run / "task_id=load").mkdir(parents=True)
    (mixed_run / "task_id=plan").mkdir(parents=True)
    (mixed_run / "task_id=plan" / "attempt=1.log").write_text("old attempt")
    (mixed_run / "task_id=load" / "attempt=2.log").write_text("a running task writes here")
    processor = logs / "dag_processor" / "2026-10-01"
    processor.mkdir(parents=True)
    (processor / "news_ingest.py.log").write_text("parsed")
    outside = tmp_path / "kept_elsewhere.log"
    outside.write_text("not under the log folder")
    (logs / "link.log").symlink_to(outside)
    (logs / "linked_folder").symlink_to(tmp_path, target_is_directory=True)  # the tree above holds old files
    now = time.time()
    for path in [*old_run.rglob("*.log"), mixed_run / "task_id=plan" / "attempt=1.log", processor / "news_ingest.py.log",
                 outside]:
        os.utime(path, (now - 40 * 86400, now - 40 * 86400))

    removed = prune_logs(logs, older_than_days=30, now=now)

    assert removed == {"files": 4, "bytes": 200 + len("old attempt") + len("parsed")}
    assert not old_run.exists() and not processor.parent.exists()  # emptied folders go too
    assert [p.relative_to(mixed_run).as_posix() for p in mixed_run.rglob("*.log")] == ["task_id=load/attempt=2.log"]
    assert outside.exists() and (logs / "link.log").is_symlink()  # a link is not followed nor removed
    assert (logs / "linked_folder").is_symlink()
    assert prune_logs(logs, older_than_days=30, now=now) == {"files": 0, "bytes": 0}
    assert prune_logs(tmp_path / "no_logs_yet", older_than_days=30) == {"files": 0, "bytes": 0}
    # 0 days asks for everything, but a file written in the last hour may be a running task's: it stays
    (mixed_run / "task_id=load" / "attempt=3.log").write_text("written ten minutes ago")
    os.utime(mixed_run / "task_id=load" / "attempt=2.log", (now - 7200, now - 7200))
    os.utime(mixed_run / "task_id=load" / "attempt=3.log", (now - 600, now - 600))
    assert prune_logs(logs, older_than_days=0, now=now)["files"] == 1
    assert [p.name for p in mixed_run.rglob("*.log")] == ["attempt=3.log"]


def test_log_retention_setting(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_LOG_RETENTION_DAYS", raising=False)
    assert log_retention_days() == 30
    monkeypatch.setenv("NEWSFLOW_LOG_RETENTION_DAYS", "7.5")
    assert log_retention_days() == 7.5
    for bad, why in (("a week", "expected a number of days"), ("-1", "must not be negative")):
        monkeypatch.setenv("NEWSFLOW_LOG_RETENTION_DAYS", bad)
        with pytest.raises(ValueError, match=why):
            log_retention_days()


def test_footprint_says_what_is_kept_where_and_who_clears_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_LOG_RETENTION_DAYS", "14")
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "60")
    monkeypatch.setenv("NEWSFLOW_SERVICE_LOG_MB", "5")
    monkeypatch.delenv("NEWSFLOW_SERVICE_LOG_FILES", raising=False)
    data, home = tmp_path / "data", tmp_path / "airflow_home"
    (data / "archive" / "alhadath").mkdir(parents=True)
    (data / "archive" / "alhadath" / "run.warc.gz").write_bytes(b"w" * 1000)
    (data / "logs" / "airflow" / "dag_id=news_ingest").mkdir(parents=True)
    for n in range(3):
        (data / "logs" / "airflow" / "dag_id=news_ingest" / f"attempt={n}.log").write_text("x" * 10)
    home.mkdir()
    (home / "airflow.db").write_bytes(b"d" * 4096)
    rows = {what: (path, size, files, kept) for what, path, size, files, kept in
            footprint(data, str(data / "warehouse"), home)}
    assert rows["raw archive (WARC)"][1:3] == (1000, 1) and "kept on purpose" in rows["raw archive (WARC)"][3]
    assert rows["task logs"][1:3] == (30, 3) and "after 14 days" in rows["task logs"][3]
    assert rows["Airflow metadata"][1:3] == (4096, 1)
    assert rows["Airflow metadata"][3].startswith("run history older than 60 days deleted daily by the service's "
                                                  "housekeeper")
    assert rows["service logs"][3] == "rotated at 5.0 MB, 4 older files kept per component"
    assert rows["last runs, dags test"][0] == home / "logs" and "overwritten" in rows["last runs, dags test"][3]
    assert rows["warehouse"][1:3] == (0, 0) and rows["staging"][1:3] == (0, 0)  # not made yet
    # a malformed setting is said where the operator looks, not raised
    monkeypatch.setenv("NEWSFLOW_LOG_RETENTION_DAYS", "a month")
    kept = {row[0]: row[4] for row in footprint(data, str(data / "warehouse"), home)}["task logs"]
    assert kept.startswith("NOT deleted: NEWSFLOW_LOG_RETENTION_DAYS='a month': expected a number of days")
    monkeypatch.setenv("NEWSFLOW_METADATA_RETENTION_DAYS", "0.5")
    monkeypatch.setenv("NEWSFLOW_SERVICE_LOG_FILES", "none")
    kept = {row[0]: row[4] for row in footprint(data, str(data / "warehouse"), home)}
    assert kept["Airflow metadata"].startswith("NOT cleaned: NEWSFLOW_METADATA_RETENTION_DAYS='0.5': must be at "
                                               "least 1")
    assert kept["service logs"].startswith("NEWSFLOW_SERVICE_LOG_FILES='none': expected a whole number of files")
    assert kept["warehouse"] == ("compacted, snapshots older than 7 days expired, quality_checks rows kept 90 days "
                                 "by news_maintenance")
    monkeypatch.setenv("NEWSFLOW_QUALITY_RETENTION_DAYS", "0")
    kept = {row[0]: row[4] for row in footprint(data, str(data / "warehouse"), home)}
    assert kept["warehouse"].startswith("NOT maintained: NEWSFLOW_QUALITY_RETENTION_DAYS='0': must be at least 1")
    # a lake whose catalog is in Postgres has no folder here to measure
    assert "warehouse" not in {row[0] for row in footprint(data, "postgres:dbname=news host=db", home)}


def test_two_schedules_firing_at_one_instant_keep_a_runs_row_each_and_their_staging(tmp_path, data_env):
    """Airflow's run ids are unique per DAG only: `@hourly` and `15m` both start `scheduled__…T06:00:00+00:00`.
    The second load took over the first's runs row (its sources, its counts), and the first to finish marked the id
    finished, so the daily clean could remove the staging of the other while it still ran."""
    from newsflow.stages.account import check_accounting
    from newsflow.stages.discover import discover_source
    from newsflow.stages.fetch_extract import fetch_extract_source
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import plan_run
    from newsflow.stages.validate import validate_source
    from newsflow.warehouse import connect, duplicate_keys
    from tests.support.faultserver import FaultServer

    run_id = "scheduled__2026-12-05T06:00:00+00:00"
    sources = tmp_path / "sources.yaml"
    with FaultServer() as server:
        sources.write_text(
            f"settings: {{allow_private_hosts: ['127.0.0.1:{server.port}'], min_host_interval_s: 0, max_tries: 1, "
            "extract_workers: 1}\nsources:\n"
            f"  - {{name: hourly, kind: urls, schedule: '@hourly', urls: ['{server.url('/ok/h1')}']}}\n"
            f"  - {{name: quarter, kind: urls, schedule: 15m, urls: ['{server.url('/ok/q1')}', "
            f"'{server.url('/ok/q2')}']}}\n", encoding="utf-8")
        staged = {name: [validate_source(fetch_extract_source(discover_source(job)))
                         for job in plan_run(str(sources), name, run_id)] for name in ("hourly", "quarter")}
    load_run(staged["hourly"], run_id=run_id, dag_id="news_ingest_hourly")
    load_run(staged["quarter"], run_id=run_id, dag_id="news_ingest_every_15m")
    assert check_accounting(staged["quarter"], run_id=run_id, dag_id="news_ingest_every_15m")["counts"]["loaded"] == 2
    assert run_key(run_id) not in finished_run_keys()  # the hourly run is still going: its staging stays

    def runs():
        con = connect(read_only=True)
        try:
            return (con.execute("select dag_id, sources, discovered, status, finished_at is not null from runs "
                                "order by dag_id").fetchall(), duplicate_keys(con)["runs"])
        finally:
            con.close()

    assert runs() == ([("news_ingest_every_15m", ["quarter"], 2, "succeeded", True),
                       ("news_ingest_hourly", ["hourly"], 1, "loaded", False)], 0)
    check_accounting(staged["hourly"], run_id=run_id, dag_id="news_ingest_hourly")
    assert run_key(run_id) in finished_run_keys()
    assert runs()[0][1] == ("news_ingest_hourly", ["hourly"], 1, "succeeded", True)


def test_a_source_two_schedules_ran_under_one_run_id_is_loaded_once_and_the_second_load_refused(tmp_path, data_env):
    """A source moved from one schedule to another while a run of the old one was in flight: both DAGs ran it under
    `scheduled__…T13:40:00+00:00`, and the second load deleted the first's fetch_log rows for it (keyed by run id and
    source), which `runs` still counted; the first run's account step passed all the same."""
    from newsflow.stages.discover import discover_source
    from newsflow.stages.failures import PermanentError
    from newsflow.stages.fetch_extract import fetch_extract_source
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import plan_run
    from newsflow.stages.validate import validate_source
    from newsflow.warehouse import connect
    from tests.support.faultserver import FaultServer

    run_id = "scheduled__2026-12-05T13:40:00+00:00"
    sources = tmp_path / "sources.yaml"
    with FaultServer() as server:
        sources.write_text(
            f"settings: {{allow_private_hosts: ['127.0.0.1:{server.port}'], min_host_interval_s: 0, max_tries: 1, "
            "extract_workers: 1}\nsources:\n"
            f"  - {{name: khabar, kind: urls, urls: ['{server.url('/ok/k1')}', '{server.url('/ok/k2')}']}}\n"
            f"  - {{name: novosti, kind: urls, urls: ['{server.url('/ok/n1')}']}}\n", encoding="utf-8")
        every_minute = [validate_source(fetch_extract_source(discover_source(job)))
                        for job in plan_run(str(sources), None, run_id)]
        every_2m = [validate_source(fetch_extract_source(discover_source(job)))
                    for job in plan_run(str(sources), "khabar", run_id)]
    load_run(every_minute, run_id=run_id, dag_id="news_ingest_every_minute")

    def ledger():
        con = connect(read_only=True)
        try:
            return con.execute("select source, seq, outcome, logged_at from fetch_log order by all").fetchall()
        finally:
            con.close()

    before = ledger()
    with pytest.raises(PermanentError, match=r"already holds khabar by news_ingest_every_minute"):
        load_run(every_2m, run_id=run_id, dag_id="news_ingest_cron_x_2_x_x_x_x")
    assert ledger() == before and len(before) == 3
    # the same DAG's own run loaded again (its load cleared and rerun) is no conflict
    load_run(every_minute, run_id=run_id, dag_id="news_ingest_every_minute")
    assert [row[:3] for row in ledger()] == [row[:3] for row in before]


def test_a_source_moved_to_a_new_schedule_mid_run_is_left_to_the_run_that_planned_it_first(tmp_path, data_env, caplog):
    """Seen on the service: novosti moved from `* * * * *` to `*/2 * * * *` while the every-minute run of 16:32 was
    between its fetch and its load. The new schedule's DAG ran the slot just past, 16:32, at once: the same run id, so
    the same staging folder. Its discover cleared what the first run had fetched, that run loaded every novosti URL
    as `source_failed: the task ended without a result` and failed its account ('1 unexpected'), the second load
    was refused, and the site was asked for every page twice. The second plan now leaves the source to the first."""
    from newsflow.stages.account import check_accounting
    from newsflow.stages.discover import discover_source
    from newsflow.stages.failures import run_stage
    from newsflow.stages.fetch_extract import fetch_extract_source
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import plan_run
    from newsflow.stages.validate import validate_run
    from newsflow.warehouse import connect
    from tests.support.faultserver import FaultServer

    run_id = "scheduled__2026-12-07T16:32:00+00:00"
    with FaultServer() as server:
        sources = write_sources(tmp_path, server, (
            f"  - {{name: alhadath, kind: urls, urls: ['{server.url('/ok/a1')}']}}\n"
            f"  - {{name: novosti, kind: urls, urls: ['{server.url('/ok/n1')}', '{server.url('/ok/n2')}']}}\n"
            f"  - {{name: khabar, kind: urls, urls: ['{server.url('/ok/k1')}']}}\n"))
        first = [run_stage("fetch_extract", run_stage("discover", job.to_xcom(), discover_source),
                           fetch_extract_source)
                 for job in plan_run(str(sources), ["alhadath", "novosti"], run_id, dag_id="news_ingest_every_minute")]
        asked = dict(server.hits)
        # the new schedule's DAG plans the same slot while the first run has not loaded yet; on the service its
        # discover ran before the first run's load, its fetch after it
        with caplog.at_level(logging.WARNING, logger="newsflow.stages.plan"):
            second = plan_run(str(sources), ["novosti"], run_id, dag_id="news_ingest_cron_x_2_x_x_x_x")
        refused = caplog.text
        assert second == []  # nothing to do: the stages after the plan skip
        discovered = [run_stage("discover", job.to_xcom(), discover_source) for job in second]
        jobs = validate_run(first)
        load_run(jobs, run_id=run_id, dag_id="news_ingest_every_minute")
        for job in discovered:
            run_stage("fetch_extract", job, fetch_extract_source)
        assert check_accounting(jobs, run_id=run_id, dag_id="news_ingest_every_minute")["status"] == "succeeded"
        con = connect(read_only=True)
        try:
            assert con.execute("select source, outcome, reason from fetch_log where url_kind = 'article' order by all"
                               ).fetchall() == [("alhadath", "loaded", "new"), ("novosti", "loaded", "new"),
                                                ("novosti", "loaded", "new")]
        finally:
            con.close()
        assert "novosti by news_ingest_every_minute" in refused
        assert server.hits == asked
        # the new DAG's other sources, which no other run holds, are planned as ever
        assert [job.name for job in plan_run(str(sources), ["novosti", "khabar"], run_id,
                                             dag_id="news_ingest_cron_x_2_x_x_x_x")] == ["khabar"]
        # the first DAG's own run planned again (its plan cleared and rerun) keeps its sources
        assert [job.name for job in plan_run(str(sources), ["alhadath", "novosti"], run_id,
                                             dag_id="news_ingest_every_minute")] == ["alhadath", "novosti"]
