"""A source whose stage fails does not take the run down: the other sources load, the failed source's URLs and
cause are logged, accounting still holds, and only a run where every source failed is a failed run."""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager

import pytest
from airflow.sdk.exceptions import AirflowFailException

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.failures import PermanentError, classify, clear_outputs, run_stage
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_run
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer


def run_like_the_dag(tmp_path, server, run_id: str, poison, before: str = "discover") -> dict:
    """The DAG's wiring in process: per source discover -> fetch_extract through run_stage (a failed stage stops
    that source only), then validate, load and account over the planned jobs. `poison(job)` breaks the source
    `poisoned`'s staging just before its stage `before` starts (a stage first removes what it and the stages after
    it left in a try before)."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n  max_tries: 1\n"
        "sources:\n"
        f"  - {{name: healthy, kind: urls, urls: ['{server.url('/ok/a')}', '{server.url('/ok/b')}']}}\n"
        f"  - {{name: poisoned, kind: urls, urls: ['{server.url('/ok/c')}', '{server.url('/ok/d')}']}}\n"
    )
    planned = plan_run(str(sources), None, run_id)
    for job in planned:
        try:
            data = job.to_xcom()
            for stage, work in (("discover", discover_source), ("fetch_extract", fetch_extract_source)):
                if (job.name, stage) == ("poisoned", before):
                    poison(job)
                data = run_stage(stage, data, work)
        except AirflowFailException:
            continue
    if before == "validate":
        poison({j.name: j for j in planned}["poisoned"])
    try:
        validate_run([j.to_xcom() for j in planned])
    except PermanentError:
        pass  # the task fails, naming the source; load and account still run (trigger rule all_done)
    load_run([j.to_xcom() for j in planned], run_id=run_id, dag_id="test")
    return check_accounting([j.to_xcom() for j in planned], run_id=run_id)


def fetch_log(data_env, run_id):
    con = connect(data_env / "warehouse", read_only=True)
    try:
        return con.execute("select source, url_kind, outcome, reason from fetch_log where run_id = ? "
                           "order by source, url_kind, seq", [run_id]).fetchall(), con.execute(
            "select status from runs where run_id = ?", [run_id]).fetchone()[0]
    finally:
        con.close()


def test_a_source_failing_in_discover_leaves_the_others_loading(tmp_path, data_env):
    with FaultServer() as server:
        # a real filesystem fault in one source's staging folder: its ledger cannot be written
        summary = run_like_the_dag(tmp_path, server, "poison_discover",
                                   lambda job: (job.staging / "ledger.discover.parquet").mkdir())
    assert summary["counts"]["loaded"] == 2
    assert list(summary["failed_sources"]) == ["poisoned"]
    assert summary["failed_sources"]["poisoned"].startswith("discover: Is a directory")
    rows, status = fetch_log(data_env, "poison_discover")
    assert status == "partial"
    assert rows[:2] == [("healthy", "article", "loaded", "new")] * 2
    [(source, kind, outcome, reason)] = rows[2:]
    assert (source, kind, outcome) == ("poisoned", "source", "failed")
    assert reason.startswith("source_failed:discover: Is a directory")


def test_a_source_failing_after_discover_logs_each_of_its_urls(tmp_path, data_env):
    with FaultServer() as server:
        # fetch_extract cannot write its ledger: the URLs discover found are logged failed, not lost
        summary = run_like_the_dag(tmp_path, server, "poison_fetch",
                                   lambda job: (job.staging / "ledger.extract.parquet").mkdir(), before="fetch_extract")
    assert summary["failed_sources"]["poisoned"].startswith("fetch_extract: Is a directory")
    rows, status = fetch_log(data_env, "poison_fetch")
    assert status == "partial"
    assert [r for r in rows if r[0] == "poisoned"] == [
        ("poisoned", "article", "failed", "source_failed:fetch_extract"),
        ("poisoned", "article", "failed", "source_failed:fetch_extract"),
        ("poisoned", "source", "failed", rows[-1][3]),
    ]


def test_a_source_failing_in_validate_leaves_the_others_validated_in_the_same_task(tmp_path, data_env):
    from newsflow.stages.failures import source_failure

    with FaultServer() as server:
        # the validated records cannot be written for one source: the task validates the other, then fails naming it
        summary = run_like_the_dag(tmp_path, server, "poison_validate",
                                   lambda job: (job.staging / "valid.parquet").mkdir(), before="validate")
        planned = {j.name: j for j in plan_run(str(tmp_path / "sources.yaml"), None, "poison_validate")}
        with pytest.raises(PermanentError, match=r"^1 of 2 source\(s\) failed validation: poisoned \(poisoned: .*Is a direct"):
            validate_run([j.to_xcom() for j in planned.values()])
    assert summary["counts"]["loaded"] == 2
    assert summary["failed_sources"]["poisoned"].startswith("validate: ")
    assert source_failure(planned["healthy"]) is None
    rows, status = fetch_log(data_env, "poison_validate")
    assert status == "partial"
    assert rows[:2] == [("healthy", "article", "loaded", "new")] * 2
    assert [r[:3] for r in rows if r[0] == "poisoned"] == [("poisoned", "article", "failed")] * 2 + [
        ("poisoned", "source", "failed")]
    assert all(r[3].startswith("source_failed:validate") for r in rows if r[0] == "poisoned")


def test_validate_failing_for_several_sources_names_each_on_the_console_line(tmp_path, data_env):
    from newsflow.stages.discover import discover_source

    with FaultServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
            "sources:\n" + "".join(f"  - {{name: {name}, kind: urls, urls: ['{server.url(f'/ok/{name}')}']}}\n"
                                   for name in ("alpha", "bravo", "charlie")))
        planned = plan_run(str(sources), None, "several_fail_validation")
        for job in planned:
            fetch_extract_source(discover_source(job))
            (job.staging / "valid.parquet").mkdir()  # each source's validated records cannot be written
        with pytest.raises(PermanentError) as failed:
            validate_run([j.to_xcom() for j in planned])
    # the one line the console and the task's failure show (300 characters): each cause names a staging file,
    # and the names came after the first two causes, cut off
    permanent, line = classify(failed.value)
    assert permanent and line.startswith("3 of 3 source(s) failed validation: alpha, bravo, charlie ("), line


def test_validate_skips_a_source_that_failed_before_and_retries_its_own_failure(tmp_path, data_env):
    from newsflow.stages.failures import recorded_failure

    with FaultServer() as server:
        run_like_the_dag(tmp_path, server, "poison_fetch_then_validate",
                         lambda job: (job.staging / "ledger.extract.parquet").mkdir(), before="fetch_extract")
        planned = {j.name: j for j in plan_run(str(tmp_path / "sources.yaml"), None, "poison_fetch_then_validate")}
        # fetch_extract's failure stands: validate neither reads that source nor replaces its record
        assert [j["name"] for j in validate_run([j.to_xcom() for j in planned.values()])] == ["healthy"]
        assert recorded_failure(planned["poisoned"])["stage"] == "fetch_extract"
        # a failure validate recorded in a try before is tried again, and cleared when it passes
        healthy = planned["healthy"]
        (healthy.staging / "stage_failed.json").write_text('{"stage": "validate", "cause": "x", "permanent": false}')
        assert [j["name"] for j in validate_run([healthy.to_xcom()])] == ["healthy"]
        assert recorded_failure(healthy) is None


def test_one_source_run_again_after_maintenance_removed_the_staging_does_not_replace_the_others(tmp_path, data_env):
    """news_maintenance removes a finished run's staging. One source's discover cleared and run again afterwards
    (with its downstream: validate, load, account) failed, and recording why made that source's folder again: the
    load found the run's staging "there", read every source as failed and replaced the run's logged outcomes with
    one `source_failed:discover` row a source."""
    import shutil

    with FaultServer() as server:
        run_like_the_dag(tmp_path, server, "after_maintenance", lambda job: None)
        planned = {j.name: j for j in plan_run(str(tmp_path / "sources.yaml"), None, "after_maintenance")}
        before = fetch_log(data_env, "after_maintenance")
        shutil.rmtree(planned["healthy"].staging.parent)
        with pytest.raises(AirflowFailException):  # its ledger has no folder to go to
            run_stage("discover", planned["healthy"].to_xcom(), discover_source)
    assert not planned["healthy"].staging.parent.exists()  # the failure is not recorded in a run folder made again
    jobs = [j.to_xcom() for j in planned.values()]
    for made_again in (False, True):
        if made_again:  # whoever made one source's folder again (an older newsflow recording a failure did)
            planned["healthy"].staging.mkdir(parents=True)
        with pytest.raises(PermanentError, match="the staging of run after_maintenance is gone .*(healthy, )?poisoned"):
            load_run(jobs, run_id="after_maintenance", dag_id="test")
        with pytest.raises(PermanentError, match="the staging of run after_maintenance is gone"):
            check_accounting(jobs, run_id="after_maintenance")
    assert fetch_log(data_env, "after_maintenance") == before


def test_validate_on_a_worker_without_the_runs_staging_fails_saying_why(tmp_path, data_env, monkeypatch):
    """validate on a worker that does not see the run's staging (a Celery worker with a data folder of its own, or
    without the shared volume) skipped every source as "not through extraction" and passed, validating nothing; the
    load then blamed news_maintenance for a run still in flight."""
    import shutil

    with FaultServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
            "sources:\n" + "".join(f"  - {{name: {name}, kind: urls, urls: ['{server.url(f'/ok/{name}')}']}}\n"
                                   for name in ("alpha", "bravo")))
        planned = plan_run(str(sources), None, "other_worker")
        jobs = [fetch_extract_source(discover_source(job)).to_xcom() for job in planned]
    # the worker validate lands on: the run's data folder is not there, its own is another
    shutil.move(data_env, tmp_path / "elsewhere")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "worker_data"))
    said = (f"the staging of run other_worker is gone from this worker: its data folder is {tmp_path / 'worker_data'} "
            rf"\(NEWSFLOW_DATA_DIR\), the run's is {data_env}; every worker must share the one data folder")
    with pytest.raises(PermanentError, match=f"{said}.*nothing to validate$"):
        validate_run(jobs)
    with pytest.raises(PermanentError, match=f"{said}.*nothing to load$"):
        load_run(jobs, run_id="other_worker", dag_id="test")
    # the same data folder, without the run in it (a worker not sharing the volume): refused too, both causes named
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(data_env))
    with pytest.raises(PermanentError, match="the staging of run other_worker is gone .*alpha, bravo.*news_maintenance "
                                             "removes a finished run's, and a worker not sharing the data folder"):
        validate_run(jobs)


@contextmanager
def execution_timeout(seconds: float):
    """What Airflow's execution_timeout does to a task: SIGALRM, and AirflowTaskTimeout (a BaseException, which
    run_stage's `except Exception` does not record) raised wherever the task is."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    def timed_out(*_):
        raise AirflowTaskTimeout("Timeout")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("stage", ["discover", "fetch_extract"])
def test_a_stage_run_again_that_times_out_leaves_its_source_failed_not_the_try_before(tmp_path, data_env, stage):
    """A source's stage cleared (with its downstream) and run again, that then timed out: the files of the try
    before were still in its staging folder, and validate, load and account took them for this try's result, the
    run `succeeded` with the task red. The source is logged failed in that stage; the other source stands."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    run_id = f"rerun_timed_out_{stage}"
    with FaultServer() as server:
        run_like_the_dag(tmp_path, server, run_id, lambda job: None)
        before, status = fetch_log(data_env, run_id)
        assert status == "succeeded" and {r[2] for r in before} == {"loaded"}
        planned = {j.name: j for j in plan_run(str(tmp_path / "sources.yaml"), None, run_id)}
        with pytest.raises(AirflowTaskTimeout), execution_timeout(0.5):
            run_stage(stage, planned["healthy"].to_xcom(), lambda job: time.sleep(30))
        jobs = [j.to_xcom() for j in planned.values()]
        assert [j["name"] for j in validate_run(jobs)] == ["poisoned"]
        load_run(jobs, run_id=run_id, dag_id="test")
        summary = check_accounting(jobs, run_id=run_id)
    cause = "the task ended without a result (killed, timed out or never ran)"
    assert summary["failed_sources"] == {"healthy": f"{stage}: {cause}"}
    rows, status = fetch_log(data_env, run_id)
    assert status == "partial"
    assert [r for r in rows if r[0] == "poisoned"] == [r for r in before if r[0] == "poisoned"]
    # what discover found the first time is gone with it: only the source's row says why
    expected = [("healthy", "article", "failed", f"source_failed:{stage}")] * 2 if stage == "fetch_extract" else []
    assert [r for r in rows if r[0] == "healthy"] == [
        *expected, ("healthy", "source", "failed", f"source_failed:{stage}: {cause}")]
    con = connect(data_env / "warehouse", read_only=True)
    try:  # what the try before loaded stays
        assert con.execute("select source, count(*) from articles group by source order by source").fetchall() == [
            ("healthy", 2), ("poisoned", 2)]
    finally:
        con.close()


def test_validate_run_again_and_stopped_part_way_leaves_no_result_of_the_try_before(tmp_path, data_env, monkeypatch):
    """validate cleared and run again, stopped while on its first source: the second source's results of the try
    before were loaded as this try's."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    from newsflow.stages import validate

    with FaultServer() as server:
        run_like_the_dag(tmp_path, server, "validate_stopped", lambda job: None)
    planned = [j.to_xcom() for j in plan_run(str(tmp_path / "sources.yaml"), None, "validate_stopped")]

    def timed_out_on_the_first(job):
        raise AirflowTaskTimeout("Timeout")

    monkeypatch.setattr(validate, "validate_source", timed_out_on_the_first)
    with pytest.raises(AirflowTaskTimeout):
        validate_run(planned)
    load_run(planned, run_id="validate_stopped", dag_id="test")
    with pytest.raises(PermanentError, match="every source failed"):
        check_accounting(planned, run_id="validate_stopped")
    rows, status = fetch_log(data_env, "validate_stopped")
    assert status == "failed"
    assert {(source, outcome, reason.split(":")[1]) for source, _kind, outcome, reason in rows} == {
        ("healthy", "failed", "validate"), ("poisoned", "failed", "validate")}


def test_a_source_cleared_from_discover_keeps_no_file_any_stage_wrote(tmp_path, data_env):
    """Every file the stages leave in a source's staging folder is one that clearing them removes: a file missing
    from that table would outlive a rerun killed part way and be loaded as that try's result."""
    with FaultServer() as server:
        run_like_the_dag(tmp_path, server, "cleared_from_discover", lambda job: None)
    for job in plan_run(str(tmp_path / "sources.yaml"), None, "cleared_from_discover"):
        written = sorted(p.name for p in job.staging.rglob("*") if p.is_file())
        assert "valid.parquet" in written and "ledger.validate.parquet" in written
        clear_outputs(job, "discover")
        assert sorted(p.name for p in job.staging.rglob("*") if p.is_file()) == [], written


def test_every_source_failing_fails_the_run(tmp_path, data_env):
    with FaultServer() as server:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
            f"sources:\n  - {{name: only, kind: urls, urls: ['{server.url('/ok/a')}']}}\n")
        [job] = plan_run(str(sources), None, "all_failed")
        (job.staging / "ledger.discover.parquet").mkdir()
        with pytest.raises(AirflowFailException):
            run_stage("discover", job.to_xcom(), discover_source)
        load_run([job.to_xcom()], run_id="all_failed", dag_id="test")
        with pytest.raises(PermanentError, match="every source failed: only"):
            check_accounting([job.to_xcom()], run_id="all_failed")
    assert fetch_log(data_env, "all_failed")[1] == "failed"


def test_errors_are_sorted_into_permanent_and_transient(tmp_path):
    import duckdb as db

    from newsflow.config import ConfigError
    from newsflow.warehouse import WarehouseBusy

    assert classify(ConfigError("sources.yaml: bad"))[0]
    assert classify(PermissionError(13, "Permission denied", "/data/staging"))[0]
    assert classify(IsADirectoryError(21, "Is a directory", "/x"))[0]
    # what the warehouse's connect raises for a reader of a lake that is not there (a reprocess before any ingest)
    from newsflow.warehouse import connect

    with pytest.raises(FileNotFoundError) as missing:
        connect(tmp_path / "no_lake", read_only=True)
    assert classify(missing.value) == (True, f"no warehouse at {tmp_path / 'no_lake'}; run `newsflow demo` or "
                                             "`newsflow ingest` first")
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00junk" * 1000)
    with pytest.raises(db.IOException) as info:
        db.connect(str(garbage))
    permanent, cause = classify(info.value)
    assert permanent and "not a valid DuckDB database" in cause
    # what the warehouse's connect reports for a directory: a permanent fault, never "locked"
    (tmp_path / "dir.duckdb").mkdir()
    with pytest.raises(db.IOException) as info:
        db.connect(str(tmp_path / "dir.duckdb"))
    try:
        raise WarehouseBusy(f"{tmp_path} is locked by another process: {info.value}") from info.value
    except WarehouseBusy as busy:
        permanent, cause = classify(busy)
    assert permanent and "Is a directory" in cause and "locked" not in cause
    lock = db.IOException('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held')
    assert classify(lock) == (False, classify(lock)[1]) and "busy" in classify(lock)[1]
    assert not classify(ConnectionResetError(104, "Connection reset by peer"))[0]
    assert not classify(TimeoutError())[0]
