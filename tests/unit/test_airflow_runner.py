"""The runner hands plain `airflow dags test` the project's settings and reports a failed run with its log."""

from __future__ import annotations

import pytest

from newsflow.airflow_runner import DagRunFailed, airflow_env, dags_test, project_root


def test_airflow_env_points_at_the_project(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    env = airflow_env({"NEWSFLOW_WAREHOUSE": "/x/lake"})
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(project_root() / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(project_root() / "plugins")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
    assert env["NEWSFLOW_WAREHOUSE"] == "/x/lake"
    assert env["PYTHONPATH"].split(":")[0] == str(project_root() / "plugins")


@pytest.mark.integration
def test_unknown_dag_fails_with_the_log_file(airflow_home, tmp_path):
    log_file = tmp_path / "run.log"
    with pytest.raises(DagRunFailed, match="run.log"):
        dags_test("no_such_dag", {}, log_file=log_file, echo=lambda _m: None)
    assert "no_such_dag" in log_file.read_text()


@pytest.mark.integration
def test_a_second_run_of_a_dag_at_once_writes_a_log_of_its_own(airflow_home):
    """Two `newsflow ingest` of one DAG at once without the service: each `airflow dags test` writes its own full
    log, and its error names that log (both wrote `<dag>-last-run.log`, each truncating the other's)."""
    from newsflow.airflow_runner import run_log

    with run_log(airflow_home / "logs", "no_such_dag") as first:
        assert first == airflow_home / "logs" / "no_such_dag-last-run.log"
        first.write_text("the run in progress\n", encoding="utf-8")
        with pytest.raises(DagRunFailed, match=r"no_such_dag-last-run\.2\.log"):
            dags_test("no_such_dag", {}, echo=lambda _m: None)
        assert first.read_text(encoding="utf-8") == "the run in progress\n"
        assert "no_such_dag" in (airflow_home / "logs" / "no_such_dag-last-run.2.log").read_text(encoding="utf-8")
    with run_log(airflow_home / "logs", "no_such_dag") as again:  # released when its run ended
        assert again == first


@pytest.mark.integration
def test_a_dag_file_that_does_not_import_is_the_cause_of_the_failed_run(airflow_home, tmp_path):
    """A syntax error in a DAG file: `airflow dags test` finds no DAG and creates no run, no task logs a cause, and
    `newsflow ingest` said only "news_ingest run ended with state unknown (exit 1)"."""
    dags = tmp_path / "dags"
    dags.mkdir()
    text = (project_root() / "dags" / "news_ingest.py").read_text(encoding="utf-8")
    (dags / "news_ingest.py").write_text(text.replace("build_ingest_dag(", "build_ingest_dag((", 1), encoding="utf-8")
    with pytest.raises(DagRunFailed, match=r"state unknown \(exit 1\): DAG file news_ingest\.py does not import: "
                                           r"'\(' was never closed \(news_ingest\.py, line \d+\); full log"):
        dags_test("news_ingest", {}, env_extra={"AIRFLOW__CORE__DAGS_FOLDER": str(dags)},
                  log_file=tmp_path / "run.log", echo=lambda _m: None)


def test_sigterm_and_sighup_raise_in_the_main_thread_once_and_the_old_handlers_come_back():
    import os
    import signal

    from newsflow.airflow_runner import RunInterrupted, stop_signals_raise

    outer = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # handlers of this test's own: pytest started under nohup (SIGHUP ignored) must not decide what it sees
    for sig in outer:
        signal.signal(sig, signal.default_int_handler)
    before = {sig: signal.getsignal(sig) for sig in outer}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with pytest.raises(RunInterrupted) as stopped, stop_signals_raise():
                os.kill(os.getpid(), sig)
            assert stopped.value.signum == sig
        # a second signal while the run is being stopped is not raised again
        with pytest.raises(RunInterrupted), stop_signals_raise():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            except RunInterrupted:
                os.kill(os.getpid(), signal.SIGTERM)
                raise
        assert {sig: signal.getsignal(sig) for sig in before} == before
        # under nohup SIGHUP is ignored from the start: it stays ignored, the run outlives the terminal
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        with stop_signals_raise():
            os.kill(os.getpid(), signal.SIGHUP)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for sig, handler in outer.items():
            signal.signal(sig, handler)


def test_a_stop_while_following_a_service_run_leaves_the_run_to_the_service(capsys, monkeypatch):
    import signal

    from newsflow.airflow_runner import RunInterrupted
    from newsflow.cli import follow_on_service, main

    class Client:
        def wait(self, dag_id, run_id, echo):
            echo("  0.1s  plan: running")
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as stopped:
        follow_on_service(Client(), {"url": "http://127.0.0.1:8080"}, "manual__x")
    assert stopped.value.signum == signal.SIGINT
    assert str(stopped.value) == ("stopped following news_ingest run manual__x (SIGINT): it goes on on the service "
                                  "at http://127.0.0.1:8080 (`newsflow status`)")
    capsys.readouterr()

    # the command says it in one line and exits as a shell reports a stopped process
    import newsflow.cli as cli

    def stopped_command(_args):
        raise RunInterrupted(signal.SIGTERM, "news_ingest run manual__y stopped (SIGTERM)")

    monkeypatch.setattr(cli, "cmd_status", stopped_command)
    assert main(["status"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.strip() == "newsflow: news_ingest run manual__y stopped (SIGTERM)"
    assert "Traceback" not in err


# `airflow dags test` output as Airflow 3.3 writes it (news_reprocess and news_ingest runs, shortened): a task's
# "[DAG TEST] end task" line does not say how it ended; the execution API's "state updated" line before it does
def _task(task_id: str, ti_id: str, state: str, map_index: int = -1) -> list[str]:
    mapped = f" map_index={map_index}" if map_index >= 0 else ""
    return [
        f"2026-12-05T22:53:17.167619Z [info     ] [DAG TEST] starting task_id={task_id} map_index={map_index} "
        "[airflow.sdk.definitions.dag] loc=dag.py:1501\n",
        f"2026-12-05T22:53:17.171897Z [info     ] [DAG TEST] running task <TaskInstance: news_reprocess.{task_id} "
        f"manual__2026-12-05T22:53:16.662944+00:00{mapped} [TaskInstanceState.SCHEDULED] ti_id={ti_id}> "
        "[airflow.sdk.definitions.dag] loc=dag.py:1504\n",
        "2026-12-05T22:53:23.287228Z [info     ] Task started                   [airflow.api_fastapi.execution_api."
        "routes.task_instances] correlation_id=01a24869-6d3a-75da-b406-fc852efdef58 hostname=vm loc=task_instances.py:"
        f"226 previous_state=queued ti_id={ti_id}\n",
        "2026-12-05T22:53:23.298461Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api."
        "routes.task_instances] correlation_id=01a24869-6d3a-75da-b406-fc852efdef58 loc=task_instances.py:254 "
        f"rows_affected=1 ti_id={ti_id}\n",
        "2026-12-05T22:53:23.699341Z [info     ] Task instance state updated    [airflow.api_fastapi.execution_api."
        "routes.task_instances] correlation_id=01a24869-8156-7049-9261-bae4affd848b loc=task_instances.py:485 "
        f"new_state={state} rows_affected=1 ti_id={ti_id}\n",
        f"2026-12-05T22:53:23.716314Z [info     ] [DAG TEST] end task task_id={task_id} map_index={map_index} "
        "[airflow.sdk.definitions.dag] loc=dag.py:1563\n",
    ]


def _finished(state: str) -> str:
    return ("2026-12-05T22:55:21.995224Z [info     ] DagRun Finished: dag_id=news_reprocess, logical_date=2026-12-05 "
            "22:53:15.899082+00:00, run_id=manual__2026-12-05T22:53:16.662944+00:00, run_start_date=2026-12-05 "
            f"22:53:15.899082+00:00, run_end_date=2026-12-05 22:55:21.989280+00:00, run_duration=126.090198, state={state}, "
            "run_type=manual, [airflow.models.dagrun.DagRun] loc=dagrun.py:1315\n")


def _relayed(lines: list[str], tmp_path, on_success=None) -> tuple[str | None, list[str], dict]:
    import time

    from newsflow.airflow_runner import _relay

    class Proc:
        stdout = iter(lines)

    shown: list[str] = []
    info: dict = {"causes": []}
    state = _relay(Proc(), tmp_path / "run.log", time.monotonic(), shown.append, info, on_success)
    return state, [line.split("s  ", 1)[1] for line in shown], info


def test_a_task_that_did_not_succeed_is_shown_with_the_state_it_ended_in(tmp_path):
    """Each failed try of the plan was shown "done plan", three times, before the run was said to have failed."""
    lines = [*_task("plan", "01a24869-6783-7a8a-9830-7ffd132d0f81", "up_for_retry"),
             *_task("plan", "01a24869-8170-775f-9343-c7af2cecfcbb", "up_for_retry"),
             *_task("plan", "01a24869-8177-7000-9343-c7af2cecfcbb", "failed"),
             _finished("failed")]
    state, shown, info = _relayed(lines, tmp_path)
    assert state == "failed"
    assert shown == ["done  plan: up_for_retry", "done  plan: up_for_retry", "done  plan: failed"]
    assert info["tasks_run"] == 3

    lines = [*_task("plan", "01a2486d-3d7a-7377-b57f-4e50228338e6", "success"),
             *_task("discover", "01a2486d-3d7b-7132-86ed-2d303f8d57b4", "success", map_index=0),
             *_task("discover", "01a2486d-52f0-786f-a718-d15c6943e866", "skipped", map_index=3),
             _finished("success")]
    state, shown, _info = _relayed(lines, tmp_path, on_success=lambda _run_id: None)
    assert state == "success"
    assert shown == ["done  plan", "done  discover[0]", "done  discover[3]: skipped"]


def test_a_run_that_ran_no_task_is_not_summarised_as_a_success(tmp_path):
    summarised = []
    state, shown, info = _relayed([_finished("success")], tmp_path, on_success=summarised.append)
    assert (state, shown, info["tasks_run"], summarised) == ("success", [], 0, [])


@pytest.mark.integration
def test_a_run_before_the_start_date_fails_instead_of_passing_for_a_success(airflow_home, tmp_path):
    """Airflow creates no task for a logical date before a DAG's start_date and calls the run a success; the CLI
    refuses such a date, and whoever calls dags_test with one is told the run did nothing."""
    summarised = []
    with pytest.raises(DagRunFailed, match=r"news_maintenance run manual__\S+ ran no task, although Airflow calls it a "
                                           r"success \(it creates none for a logical date before the DAG's start_date\)"):
        dags_test("news_maintenance", {}, logical_date="1999-06-01T00:00:00+00:00", log_file=tmp_path / "run.log",
                  echo=lambda _m: None, on_success=summarised.append)
    assert summarised == []


@pytest.mark.integration
def test_a_bad_day_given_to_news_reprocess_fails_its_plan_at_once_with_the_cause(airflow_home, tmp_path):
    """A run triggered from the UI or the REST API, past the params' schema (each day is a date; their order is
    not in it): the plan fails without retries and the cause is on the console."""
    from newsflow.warehouse import open_for_write

    open_for_write(tmp_path / "lake").close()
    shown: list[str] = []
    conf = {"sources_file": str(project_root() / "config" / "sources.demo.yaml"), "start_date": "2018-06-01",
            "end_date": "2018-01-31"}
    env = {"NEWSFLOW_WAREHOUSE": str(tmp_path / "lake"), "NEWSFLOW_DATA_DIR": str(tmp_path / "data")}
    with pytest.raises(DagRunFailed, match=r"state failed \(exit 1\): plan: start_date 2018-06-01 is after end_date "
                                           r"2018-01-31: no day is in that range; full log"):
        dags_test("news_reprocess", conf, env_extra=env, log_file=tmp_path / "run.log", echo=shown.append)
    # tried once; then, as in news_ingest, the steps that run whatever the sources did find no jobs, at once
    assert [line.split("s  ", 1)[1] for line in shown if "done " in line] == [
        "done  plan: failed", "done  validate", "done  load: failed", "done  account: failed"]


def test_a_run_where_every_source_failed_names_every_source(tmp_path):
    """`newsflow ingest` of two sources that both failed said `source healthy failed in fetch_extract: …` and
    nothing of the other, the first cause a task logged; the account step's verdict names them all."""
    import os
    import sys

    from newsflow.airflow_runner import _run_and_relay

    def error(text: str) -> str:
        return (f"2026-12-07T16:42:15.306788Z [error    ] newsflow-error: {text} [newsflow.stages.failures] "
                "loc=failures.py:100\n")

    verdict = ("account: every source failed: healthy, poisoned (healthy: fetch_extract: File exists: /d/archive/"
               "healthy; poisoned: fetch_extract: File exists: /d/archive/poisoned)")
    (tmp_path / "out.txt").write_text("".join([
        error("source healthy failed in fetch_extract: File exists: /d/archive/healthy"),
        error("source poisoned failed in fetch_extract: File exists: /d/archive/poisoned"),
        error(verdict), _finished("failed")]), encoding="utf-8")
    script = f"import sys; sys.stdout.write(open({str(tmp_path / 'out.txt')!r}).read()); sys.exit(1)"
    with pytest.raises(DagRunFailed) as failed:
        _run_and_relay([sys.executable, "-c", script], dict(os.environ), "news_ingest", tmp_path / "run.log", lambda _m: None,
                       None, None)
    assert f"state failed (exit 1): {verdict}; full log" in str(failed.value), failed.value


def test_conf_the_params_refuse_is_the_cause_of_a_run_that_never_started(tmp_path):
    """`dags test` with a start_date the params' "format": "date" refuses creates no run: no task logs a cause, and
    the console said only "state unknown"."""
    lines = ["Traceback (most recent call last):\n",
             '    raise ParamValidationError(f"Invalid input for param {k}: {e}") from None\n',
             "airflow.sdk.exceptions.ParamValidationError: Invalid input for param start_date: '2018-13-01' is not "
             "a 'date'\n"]
    state, shown, info = _relayed(lines, tmp_path)
    assert (state, shown) == (None, [])
    assert info["causes"] == ["Invalid input for param start_date: '2018-13-01' is not a 'date'"]


def test_output_cut_inside_a_character_is_relayed_not_a_crash(tmp_path):
    """Extraction workers share Airflow's output pipe: a line cut inside a character (here an Arabic one) stopped
    the relay with a UnicodeDecodeError, which failed the task and left the run `running`."""
    import subprocess
    import sys
    import time

    from newsflow.airflow_runner import OUTPUT_PIPE, _relay

    script = ("import sys; out = sys.stdout.buffer; out.write('خبر عاجل\\n'.encode()[:3] + b'\\n'); "
              "out.write(b'[2026-12-06] state=success\\n'); out.flush()")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, **OUTPUT_PIPE) as proc:
        _relay(proc, tmp_path / "run.log", time.monotonic(), lambda _line: None, {"causes": []})
    assert (tmp_path / "run.log").read_text(encoding="utf-8").splitlines() == ["خ\ufffd", "[2026-12-06] state=success"]
