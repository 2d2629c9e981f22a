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
