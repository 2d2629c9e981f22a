"""Alerts: which quality checks crossed the alert level since the run before (the quality_changes macro on a real
lake), what the webhook is sent, and what a refusing or unreachable webhook does, over loopback HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import duckdb
import pytest

from newsflow import alerts
from newsflow.alerts import AlertError, AlertSettings, alert_settings, quality_changes, send_quality_alerts
from newsflow.quality_checks import write_checks
from newsflow.warehouse import connect, open_for_write
from tests.support.lakes import copy_of
from tests.support.webhook import Webhook

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def check(name: str, status: str, source: str = "*", observed: float | None = 1.0) -> dict:
    return {"check_name": name, "source": source, "observed": observed, "expected": "<= 48 / 96", "status": status,
            "details": None}


@pytest.fixture
def lake(tmp_path):
    return copy_of(("alerts lake",), build_lake, tmp_path / "lake")  # built once per process (tests/support/lakes.py)


def build_lake(path):
    con = open_for_write(path)
    write_checks(con, "q0", [check("freshness", "fail", "alpha")], checked_at=T0 - timedelta(hours=2))
    write_checks(con, "q1", [check("freshness", "pass", "alpha"), check("volume", "warn", "alpha"),
                             check("dupes", "fail"), check("nulls", "fail", "بي بي سي"), check("turnover", "pass"),
                             check("gone_check", "fail", "retired")], checked_at=T0)
    write_checks(con, "q2", [check("freshness", "fail", "alpha", 97.5), check("volume", "fail", "alpha"),
                             check("dupes", "fail"), check("nulls", "pass", "بي بي سي"), check("turnover", "warn"),
                             check("freshness", "fail", "new_source")], checked_at=T0 + timedelta(hours=1))
    con.close()
    return path


def add_q3(lake) -> None:
    """The run after q2, written once q2's alerts were sent, as news_quality sends them before the next run's checks."""
    quality_run(lake, "q3", T0 + timedelta(hours=2), [check("freshness", "pass", "alpha")])


def names(rows):
    return sorted((r["check_name"], r["source"]) for r in rows)


def test_a_check_alerts_when_it_crosses_the_level_not_while_it_stays_there(lake):
    add_q3(lake)  # a later run is no one's "run before" for q2
    con = connect(lake, read_only=True)
    changes = quality_changes(con, "q2")
    # pass -> fail, warn -> fail and a new source's failing check are raised; dupes failed before too: not again
    assert names(changes["raised"]) == [("freshness", "alpha"), ("freshness", "new_source"), ("volume", "alpha")]
    # fail -> pass recovered; a failing check of a source no longer checked is cleared as such
    assert names(changes["cleared"]) == [("gone_check", "retired"), ("nulls", "بي بي سي")]
    [fresh] = [r for r in changes["raised"] if r["source"] == "alpha" and r["check_name"] == "freshness"]
    assert (fresh["previous_status"], fresh["status"], fresh["observed"], fresh["previous_run_id"]) == \
        ("pass", "fail", 97.5, "q1")
    # with level warn a pass -> warn is news as well; warn -> fail still is (it got worse)
    warn = quality_changes(con, "q2", "warn")
    assert ("turnover", "*") in names(warn["raised"]) and ("volume", "alpha") in names(warn["raised"])
    # the first run has no run before: each failing check is news; a run nothing names (a typo, an ingest run's id)
    # raises rather than reading as "nothing changed"
    assert names(quality_changes(con, "q0")["raised"]) == [("freshness", "alpha")]
    with pytest.raises(duckdb.InvalidInputException, match="no quality run named 'no-such-run'"):
        quality_changes(con, "no-such-run")
    # the dupes check failed in q1 and q2 alike: a known run's unchanged check is no row, and no error
    assert ("dupes", "*") not in names(quality_changes(con, "q2", "warn")["raised"])
    # q3 is compared with q2 (the run just before it), not with q1
    assert names(quality_changes(con, "q3")["cleared"]) == [("dupes", "*"), ("freshness", "alpha"),
                                                            ("freshness", "new_source"), ("volume", "alpha")]
    con.close()


def test_the_webhook_gets_what_changed_once(lake, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(lake))  # the deployment's: the UI's dashboard shows it
    with Webhook() as hook:
        settings = AlertSettings(hook.url)
        # nothing told yet: every check failing in q2 is news (a new deployment, or the first run with a webhook)
        summary = send_quality_alerts("q2", str(lake), settings=settings, ui_url="http://127.0.0.1:8080/")
        assert summary == {"raised": 4, "cleared": 0, "posted": True}
        # a rerun of the same quality run has nothing more to say
        assert send_quality_alerts("q2", str(lake), settings=settings)["posted"] is False
        add_q3(lake)
        # q3 has freshness[alpha] only: the three others are no longer checked, said at once; freshness[alpha]
        # passes, but failed in q2, one of the last two runs: its recovery is not said yet
        assert send_quality_alerts("q3", str(lake), settings=settings) == {"raised": 0, "cleared": 3, "posted": True}
    assert len(hook.posts) == 2
    payload = hook.posts[0]
    assert hook.headers[0]["Content-Type"] == "application/json; charset=utf-8"
    text = payload["text"].splitlines()
    assert text[0] == f"newsflow quality run q2 on {lake}: 4 started failing"
    assert "  fail  freshness [alpha]: 97.5 (expected <= 48 / 96)" in text
    assert "  fail  freshness [new_source]: 1 (expected <= 48 / 96)" in text
    assert text[-1] == "dashboard: http://127.0.0.1:8080/newsflow/dashboard"
    assert payload["newsflow"]["kind"] == "quality" and payload["newsflow"]["run_id"] == "q2"
    second = hook.posts[1]["text"].splitlines()
    assert second[0] == f"newsflow quality run q3 on {lake}: 3 recovered"
    assert "  ok    dupes [*]: no longer checked (was fail)" in second
    con = connect(lake, read_only=True)
    assert con.execute("select check_name, source, status, raised_run_id from open_alerts()").fetchall() == \
        [("freshness", "alpha", "fail", "q2")]
    assert con.execute("select change, count(*) from alerts_sent group by all order by 1").fetchall() == \
        [("cleared", 3), ("raised", 4)]
    con.close()


def quality_run(lake, run_id: str, at: datetime, checks: list[dict]) -> None:
    con = open_for_write(lake)
    write_checks(con, run_id, checks, checked_at=at)
    con.close()


def test_a_check_that_flaps_is_told_once_and_its_recovery_after_two_good_runs(tmp_path):
    """A flaky site: its fetch failures fail, pass, fail, pass, pass. Compared with the run before, each of those
    was news (five posts); against what was told, it is one alert and one recovery."""
    lake = tmp_path / "lake"
    statuses = ["fail", "pass", "fail", "pass", "pass", "pass"]
    with Webhook() as hook:
        for i, status in enumerate(statuses):
            quality_run(lake, f"q{i}", T0 + timedelta(minutes=15 * i),
                        [check("fetch_failure_rate", status, "flaky"), check("freshness", "pass", "flaky")])
            send_quality_alerts(f"q{i}", str(lake), settings=AlertSettings(hook.url))
    assert [(p["newsflow"]["run_id"], [r["check_name"] for r in p["newsflow"]["raised"]],
             [r["check_name"] for r in p["newsflow"]["cleared"]]) for p in hook.posts] == [
        ("q0", ["fetch_failure_rate"], []), ("q4", [], ["fetch_failure_rate"])]
    assert "  pass  fetch_failure_rate [flaky]: 1 (expected <= 48 / 96), was fail" in hook.posts[1]["text"]
    # told by the run before: the comparison the dashboard shows still sees each flip
    con = connect(lake, read_only=True)
    assert [len(quality_changes(con, f"q{i}")["raised"] + quality_changes(con, f"q{i}")["cleared"])
            for i in range(1, 5)] == [1, 1, 1, 0]
    con.close()
    # NEWSFLOW_ALERT_CLEAR_AFTER=1: every recovery at once
    lake1 = tmp_path / "lake1"
    with Webhook() as hook:
        for i, status in enumerate(statuses[:4]):
            quality_run(lake1, f"q{i}", T0 + timedelta(minutes=15 * i), [check("fetch_failure_rate", status, "f")])
            send_quality_alerts(f"q{i}", str(lake1), settings=AlertSettings(hook.url, clear_after=1))
    assert [p["newsflow"]["run_id"] for p in hook.posts] == ["q0", "q1", "q2", "q3"]


def test_an_alert_the_webhook_did_not_take_is_posted_by_the_next_run(tmp_path):
    lake = tmp_path / "lake"
    quality_run(lake, "q0", T0, [check("freshness", "fail", "alpha")])
    with Webhook(status=503, answer=b"busy") as hook, pytest.raises(AlertError, match="answered HTTP 503: busy"):
        send_quality_alerts("q0", str(lake), settings=AlertSettings(hook.url))
    quality_run(lake, "q1", T0 + timedelta(minutes=15), [check("freshness", "fail", "alpha")])
    with Webhook() as hook:
        # compared with the run before, nothing changed in q1, and the alert was lost
        assert send_quality_alerts("q1", str(lake), settings=AlertSettings(hook.url)) == \
            {"raised": 1, "cleared": 0, "posted": True}
    assert hook.posts[0]["text"].startswith(f"newsflow quality run q1 on {lake}: 1 started failing")


def test_a_warning_that_gets_worse_is_told_again_and_the_level_decides(tmp_path):
    lake = tmp_path / "lake"
    warn = AlertSettings(None, "warn")
    with Webhook() as hook:
        warn = AlertSettings(hook.url, "warn")
        for i, status in enumerate(["warn", "fail", "warn", "fail"]):
            quality_run(lake, f"q{i}", T0 + timedelta(minutes=15 * i), [check("volume", status, "alpha")])
            send_quality_alerts(f"q{i}", str(lake), settings=warn)
        # told fail: the level raised to fail finds nothing new to say about a check that fails
        quality_run(lake, "q4", T0 + timedelta(minutes=60), [check("volume", "fail", "alpha")])
        assert send_quality_alerts("q4", str(lake), settings=AlertSettings(hook.url))["posted"] is False
    assert [[(r["status"], r["previous_status"]) for r in p["newsflow"]["raised"]] for p in hook.posts] == \
        [[("warn", None)], [("fail", "warn")]]
    assert "  fail  volume [alpha]: 1 (expected <= 48 / 96), was warn" in hook.posts[1]["text"]


def test_nothing_is_posted_when_nothing_changed_or_no_webhook_is_set(tmp_path, lake):
    with Webhook() as hook:
        assert send_quality_alerts("q2", str(lake), settings=AlertSettings(None)) == \
            {"raised": 4, "cleared": 0, "posted": False}
        quality_run(lake, "q4", T0 + timedelta(hours=3), [check("freshness", "pass", "alpha")])
        assert send_quality_alerts("q4", str(lake), settings=AlertSettings(hook.url)) == \
            {"raised": 0, "cleared": 0, "posted": False}
        assert send_quality_alerts("no-such-run", str(lake), settings=AlertSettings(hook.url))["posted"] is False
    assert hook.posts == []
    con = connect(lake, read_only=True)
    assert con.execute("select count(*) from alerts_sent").fetchone() == (0,)  # nothing said, nothing recorded
    con.close()


def test_a_long_list_is_cut_in_the_text_and_whole_in_the_payload():
    raised = [{**check(f"c{i:02d}", "fail"), "previous_status": "pass", "previous_run_id": "q"} for i in range(40)]
    payload = alerts.quality_message("q", "/lake", {"raised": raised, "cleared": []})
    lines = payload["text"].splitlines()
    assert len(lines) == 1 + alerts.TEXT_LINES + 1 and lines[-1] == "  … and 15 more"
    assert len(payload["newsflow"]["raised"]) == 40
    warned = alerts.quality_message("q", "/lake", {"raised": raised[:1], "cleared": []}, level="warn")
    assert warned["text"].startswith("newsflow quality run q on /lake: 1 started warning or failing\n")


def test_a_refusing_webhook_is_an_error_that_keeps_its_token_secret(lake):
    with Webhook(status=403, answer=b"invalid_token") as hook:
        with pytest.raises(AlertError) as caught:
            send_quality_alerts("q2", str(lake), settings=AlertSettings(hook.url))
    assert "answered HTTP 403: invalid_token" in str(caught.value)
    assert "secret-token" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert len(hook.posts) == 1


def test_a_user_and_password_in_the_url_are_sent_as_basic_auth_and_never_said(lake):
    with Webhook(status=500, answer=b"") as hook:
        with pytest.raises(AlertError) as caught:
            send_quality_alerts("q2", str(lake), settings=AlertSettings(hook.url.replace("http://", "http://a:b@")))
    said = str(caught.value)
    assert said.startswith("webhook http://127.0.0.1:") and said.endswith("/… answered HTTP 500: Internal Server Error")
    assert "a:b" not in said and "secret-token" not in said
    with Webhook() as hook:
        url = hook.url.replace("http://", "http://alerts:hun%40ter2@")
        send_quality_alerts("q2", str(lake), settings=AlertSettings(url))
    assert hook.headers[0]["Authorization"] == "Basic " + base64.b64encode(b"alerts:hun@ter2").decode()


def test_an_unreachable_webhook_is_an_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AlertError, match="webhook http://127.0.0.1:.*/… unreachable"):
        alerts.post(f"http://127.0.0.1:{port}/hooks/secret", {"text": "x"}, timeout=5)


def test_a_webhook_that_takes_the_post_and_answers_late_is_not_called_unreachable():
    """The post arrived; only the answer came after the timeout. "unreachable: timed out" was false, and the task's
    retries posted the same alert again each time (three posts a quality run)."""
    from newsflow.alerts import AlertUnanswered

    with Webhook(delay_s=1.5) as hook:
        with pytest.raises(AlertUnanswered, match=r"webhook http://127\.0\.0\.1:\d+/… took the post but did not "
                                                  r"answer within 0\.5 s .*NEWSFLOW_ALERT_TIMEOUT_S waits longer"):
            alerts.post(hook.url, {"text": "x"}, timeout=0.5)
        assert hook.posts == [{"text": "x"}]


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, AlertSettings(None, "fail")),
    ({"NEWSFLOW_ALERT_WEBHOOK": " https://chat.example.org/hooks/abc ", "NEWSFLOW_ALERT_LEVEL": "WARN"},
     AlertSettings("https://chat.example.org/hooks/abc", "warn")),
    ({"NEWSFLOW_ALERT_WEBHOOK": "", "NEWSFLOW_ALERT_LEVEL": ""}, AlertSettings(None, "fail", 2)),
    ({"NEWSFLOW_ALERT_CLEAR_AFTER": " 4 "}, AlertSettings(None, "fail", 4)),
    ({"NEWSFLOW_ALERT_TIMEOUT_S": "60"}, AlertSettings(None, "fail", 2, 60.0)),
])
def test_settings(environ, expected):
    assert alert_settings(environ) == expected


@pytest.mark.parametrize(("environ", "said"), [
    ({"NEWSFLOW_ALERT_LEVEL": "loud"}, "NEWSFLOW_ALERT_LEVEL='loud': expected one of warn, fail"),
    ({"NEWSFLOW_ALERT_TIMEOUT_S": "0.5"}, "NEWSFLOW_ALERT_TIMEOUT_S='0.5': expected a number of seconds from 1 to 300"),
    ({"NEWSFLOW_ALERT_TIMEOUT_S": "nan"}, "NEWSFLOW_ALERT_TIMEOUT_S='nan': expected a number of seconds from 1 to 300"),
    ({"NEWSFLOW_ALERT_TIMEOUT_S": "slow"}, "NEWSFLOW_ALERT_TIMEOUT_S='slow': expected a number of seconds"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "hooks.slack.com/services/T/B/token"}, "NEWSFLOW_ALERT_WEBHOOK: expected an http(s)"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "ftp://example.org/token"}, "got 'ftp://example.org/…'"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "https:///services/token"}, "got 'https:/…'"),
    ({"NEWSFLOW_ALERT_CLEAR_AFTER": "0"}, "NEWSFLOW_ALERT_CLEAR_AFTER='0': expected a number of quality runs from 1"),
    ({"NEWSFLOW_ALERT_CLEAR_AFTER": "two"}, "NEWSFLOW_ALERT_CLEAR_AFTER='two': expected a number"),
])
def test_malformed_settings_are_named(environ, said):
    with pytest.raises(AlertError, match=said.replace("(", r"\(").replace(")", r"\)")) as caught:
        alert_settings(environ)
    assert "token" not in str(caught.value).replace("got", "")


@pytest.mark.parametrize(("webhook", "said"), [
    ("http://127.0.0.1:99999/hooks/token", "got one Python cannot read (Port out of range 0-65535)"),
    ("http://127.0.0.1:abc/hooks/token", "got one Python cannot read"),
    ("http://[::1/hooks/token", "got one Python cannot read (Invalid IPv6 URL)"),
    ("http://127.0.0.1:0/hooks/token", "got port 0"),
    ("http://exa mple.org/hooks/token", "without blanks or control characters"),
    ("https://chat.example.org/hooks/tok\nen", "without blanks or control characters"),
    ("http://127.0.0.1:1/höok/token", "in ASCII (percent-encode its path, write its host in punycode)"),
    ("http://ex😀.org/hooks/token", "in ASCII"),
])
def test_a_webhook_urllib_could_not_use_is_refused_at_once_in_one_line(webhook, said):
    """Each of these passed the settings and failed at the first alert with a traceback (ValueError, InvalidURL,
    UnicodeEncodeError) from inside urllib."""
    with pytest.raises(alerts.AlertSettingsError) as caught:
        alert_settings({"NEWSFLOW_ALERT_WEBHOOK": webhook})
    message = str(caught.value)
    assert message.startswith("NEWSFLOW_ALERT_WEBHOOK: expected an http(s) URL") and said in message
    assert "token" not in message and "\n" not in message


def test_what_a_webhook_answers_is_said_in_one_printable_line():
    # a webhook that moved: a POST redirected becomes a GET that drops the alert; said, with where it points
    with Webhook(status=301, answer=b"", headers={"Location": "https://127.0.0.1:1/hooks/new-token"}) as hook:
        with pytest.raises(AlertError) as caught:
            alerts.post(hook.url, {"text": "x"})
    assert str(caught.value).endswith("answered HTTP 301, a redirect (to https://127.0.0.1:1/…: set "
                                      "NEWSFLOW_ALERT_WEBHOOK to where it points)")
    assert len(hook.posts) == 1 and "token" not in str(caught.value)
    # an error page full of markup and terminal escapes: one line, cut short, nothing the terminal would obey
    page = b"<!DOCTYPE html>\n<html>\n  <title>\x1b]0;pwned\x07Error</title>" + "\u202e".encode() + b"x" * 5000
    with Webhook(status=500, answer=page) as hook:
        with pytest.raises(AlertError) as caught:
            alerts.post(hook.url, {"text": "x"})
    said = str(caught.value)
    assert "\n" not in said and "\x1b" not in said and "\x07" not in said and "\u202e" not in said
    assert "answered HTTP 500: <!DOCTYPE html> <html> <title>\ufffd]0;pwned\ufffdError</title>" in said
    assert said.endswith("…") and len(said) < 320
    # a server that does not speak HTTP (here an SSH banner): one line, not http.client's BadStatusLine traceback
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def banner():
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=banner, daemon=True)
        thread.start()
        with pytest.raises(AlertError, match=r"webhook http://127.0.0.1:\d+/… gave no HTTP answer \(BadStatusLine"):
            alerts.post(f"http://127.0.0.1:{server.getsockname()[1]}/hooks/token", {"text": "x"}, timeout=5)
        thread.join(5)


def test_a_failed_run_is_posted_with_a_link_to_it(monkeypatch):
    with Webhook() as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:8080")
        alerts.announce_failed_run({"dag": SimpleNamespace(dag_id="news_ingest"), "reason": "task_failure",
                                           "run_id": "scheduled__2026-12-04T06:00:00+00:00",
                                           "ti": SimpleNamespace(task_id="plan")})
        monkeypatch.delenv("NEWSFLOW_ALERT_WEBHOOK")
        alerts.announce_failed_run({"dag": SimpleNamespace(dag_id="news_ingest"), "run_id": "r"})
    [payload] = hook.posts
    assert payload["text"] == ("newsflow: news_ingest run scheduled__2026-12-04T06:00:00+00:00 failed (task_failure); "
                               "last failed task: plan\nhttp://127.0.0.1:8080/dags/news_ingest/runs/"
                               "scheduled__2026-12-04T06%3A00%3A00%2B00%3A00")
    assert payload["newsflow"] == {"kind": "run_failed", "dag_id": "news_ingest",
                                   "run_id": "scheduled__2026-12-04T06:00:00+00:00", "reason": "task_failure",
                                   "task_id": "plan", "failed_tasks": None}
    assert json.dumps(payload)  # plain JSON all through


def test_alert_test_says_whether_the_webhook_takes_alerts(monkeypatch, capsys):
    from newsflow.cli import main

    monkeypatch.delenv("NEWSFLOW_ALERT_WEBHOOK", raising=False)
    assert main(["alert-test"]) == 2
    assert "NEWSFLOW_ALERT_WEBHOOK is not set" in capsys.readouterr().err
    with Webhook() as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        assert main(["alert-test"]) == 0
        assert "the webhook answered HTTP 200 (level fail)" in capsys.readouterr().out
    [payload] = hook.posts
    assert payload["newsflow"] == {"kind": "test", "level": "fail"} and "a test alert" in payload["text"]
    with Webhook(status=404, answer=b"no_service") as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        assert main(["alert-test"]) == 1
    err = capsys.readouterr().err
    assert "answered HTTP 404: no_service" in err and "secret-token" not in err
    # a malformed setting is a configuration error (2), not the webhook's refusal (1)
    monkeypatch.setenv("NEWSFLOW_ALERT_LEVEL", "loud")
    assert main(["alert-test"]) == 2
    assert "NEWSFLOW_ALERT_LEVEL='loud'" in capsys.readouterr().err
    monkeypatch.setenv("NEWSFLOW_ALERT_LEVEL", "fail")
    monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", "http://127.0.0.1:99999/hooks/token")
    assert main(["alert-test"]) == 2
    assert capsys.readouterr().err.startswith("newsflow: NEWSFLOW_ALERT_WEBHOOK: expected an http(s) URL")


def test_up_and_status_say_where_alerts_go():
    assert alerts.alerts_said(alert_settings({})) == "off (NEWSFLOW_ALERT_WEBHOOK is not set)"
    said = alerts.alerts_said(alert_settings({"NEWSFLOW_ALERT_WEBHOOK": "https://hooks.example.org/services/T/B/tok",
                                              "NEWSFLOW_ALERT_LEVEL": "warn"}))
    assert said == "to https://hooks.example.org/… (checks that start or stop warning or failing, and failed runs)"


def test_runs_the_service_fails_itself_are_posted_with_its_own_settings(monkeypatch):
    """`newsflow down` runs in a shell that need not have the service's NEWSFLOW_ALERT_WEBHOOK: the settings are
    read from the environment of a process the service started; a webhook that refuses is said in a line, never
    raised."""
    import subprocess
    import sys

    from newsflow import service

    monkeypatch.delenv("NEWSFLOW_ALERT_WEBHOOK", raising=False)
    said = []
    with Webhook() as hook, Webhook(status=500, answer=b"down for maintenance") as refusing:
        # a log writer `up` started with the components' environment; read once it runs: Popen returns when the
        # exec has begun, and until the kernel has laid out the new program's stack its /proc environ reads empty
        # (a CI run under load read it there)
        stand_in = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                                    env={**os.environ, "NEWSFLOW_ALERT_WEBHOOK": hook.url,
                                         "AIRFLOW__CORE__DAGS_FOLDER": "/srv/newsflow/dags"},
                                    stdout=subprocess.PIPE, text=True)
        state = {"log_writers": {"api-server": stand_in.pid}}
        try:
            assert stand_in.stdout.readline() == "up\n"
            settings = service.service_alert_settings(state)
        finally:
            stand_in.kill()
            stand_in.wait()
            stand_in.stdout.close()
        assert settings.webhook == hook.url
        runs = [("news_ingest", "manual__2026-12-05T06:00:00+00:00"), ("news_quality", "q1")]
        service.announce_runs(runs, "stopped by `newsflow down`", settings, "http://127.0.0.1:8080", said.append)
        service.announce_runs(runs[:1], "stopped", alert_settings({"NEWSFLOW_ALERT_WEBHOOK": refusing.url}), None,
                              said.append)
        service.announce_runs(runs, "stopped", alert_settings({}), None, said.append)  # no webhook: nothing
    assert [(p["newsflow"]["dag_id"], p["newsflow"]["run_id"], p["newsflow"]["reason"]) for p in hook.posts] == [
        ("news_ingest", "manual__2026-12-05T06:00:00+00:00", "stopped by `newsflow down`"),
        ("news_quality", "q1", "stopped by `newsflow down`")]
    assert hook.posts[0]["text"].endswith("/dags/news_ingest/runs/manual__2026-12-05T06%3A00%3A00%2B00%3A00")
    assert said == ["newsflow: could not post the failed run manual__2026-12-05T06:00:00+00:00 (webhook "
                    "http://127.0.0.1:" + refusing.url.split(":")[2].split("/")[0] + "/… answered HTTP 500: down for "
                    "maintenance)"]
    # a process gone: this shell's settings
    assert service.service_alert_settings(state).webhook is None


def test_an_alert_on_another_warehouse_links_to_no_dashboard(lake, tmp_path, monkeypatch):
    """The UI's dashboard shows the deployment's warehouse: an alert on `ingest --warehouse X`'s lake linked to a
    page about a different lake."""
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "the-deployments"))
    with Webhook() as hook:
        send_quality_alerts("q2", str(lake), settings=AlertSettings(hook.url), ui_url="http://127.0.0.1:8080/")
    [payload] = hook.posts
    assert not any("dashboard" in line for line in payload["text"].splitlines()), payload["text"]


def test_a_check_never_measured_says_so():
    line = alerts.check_line({"check_name": "freshness_fetched_hours", "source": "empty_src", "status": "fail",
                              "observed": None, "expected": "<= 30h (fail > 72h)", "previous_status": None})
    assert line == "  fail  freshness_fetched_hours [empty_src]: never measured (expected <= 30h (fail > 72h))"


def test_ingest_quality_summary_names_each_failing_check_with_its_source(lake, monkeypatch, capsys):
    """It printed `fail 5 freshness_published_hours`: which source to look at was not said."""
    from newsflow.cli import print_quality_summary

    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(lake))
    print_quality_summary("q2")
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["Quality checks (this run): 4 fail, 1 warn, 1 pass",
                       "  fail  dupes [*]: 1 (expected <= 48 / 96)",
                       "  fail  freshness [alpha]: 97.5 (expected <= 48 / 96)",
                       "  fail  freshness [new_source]: 1 (expected <= 48 / 96)",
                       "  fail  volume [alpha]: 1 (expected <= 48 / 96)",
                       "  warn  turnover [*]: 1 (expected <= 48 / 96)"]


def test_raising_the_level_from_warn_to_fail_closes_the_warnings_told_without_saying_they_recovered(tmp_path):
    """A warning told under NEWSFLOW_ALERT_LEVEL=warn that still warns once the level is fail did not recover: it is
    closed without a post (alone) or without a line (beside real news), and is told again if it comes to fail."""
    lake = tmp_path / "lake"
    with Webhook() as hook:
        quality_run(lake, "q0", T0, [check("volume", "warn", "steady"), check("nulls", "warn", "other")])
        send_quality_alerts("q0", str(lake), settings=AlertSettings(hook.url, level="warn"))
        # the level rises; both still warn, and nothing else changed: no post
        quality_run(lake, "q1", T0 + timedelta(minutes=15),
                    [check("volume", "warn", "steady"), check("nulls", "warn", "other")])
        quiet = send_quality_alerts("q1", str(lake), settings=AlertSettings(hook.url, level="fail"))
        quality_run(lake, "q2", T0 + timedelta(minutes=30),
                    [check("volume", "fail", "steady"), check("nulls", "warn", "other")])
        send_quality_alerts("q2", str(lake), settings=AlertSettings(hook.url, level="fail"))
    assert quiet == {"raised": 0, "cleared": 0, "posted": False}
    assert [p["newsflow"]["run_id"] for p in hook.posts] == ["q0", "q2"]
    assert hook.posts[1]["text"].splitlines()[0] == f"newsflow quality run q2 on {lake}: 1 started failing"
    assert "recovered" not in hook.posts[1]["text"] and hook.posts[1]["newsflow"]["cleared"] == []
    con = connect(lake, read_only=True)
    assert con.execute("select check_name, source, status from open_alerts()").fetchall() == \
        [("volume", "steady", "fail")]
    assert con.execute("select run_id, check_name, change from alerts_sent order by sent_at, check_name").fetchall() \
        == [("q0", "nulls", "raised"), ("q0", "volume", "raised"), ("q1", "nulls", "cleared"),
            ("q1", "volume", "cleared"), ("q2", "volume", "raised")]
    con.close()


def test_a_warning_told_at_level_warn_that_stops_warning_still_recovers(tmp_path):
    lake = tmp_path / "lake"
    with Webhook() as hook:
        for i, status in enumerate(["warn", "pass", "pass"]):
            quality_run(lake, f"q{i}", T0 + timedelta(minutes=15 * i), [check("volume", status, "steady")])
            send_quality_alerts(f"q{i}", str(lake), settings=AlertSettings(hook.url, level="warn"))
    assert [(p["newsflow"]["run_id"], len(p["newsflow"]["raised"]), len(p["newsflow"]["cleared"]))
            for p in hook.posts] == [("q0", 1, 0), ("q2", 0, 1)]


def test_a_fail_that_eases_to_a_warning_is_no_news_at_level_warn(tmp_path):
    """quality_changes at level warn: fail -> warn stays at the level but got better, so it is neither raised nor
    cleared (the `now > before` rule); pass -> warn beside it is raised."""
    lake = tmp_path / "lake"
    quality_run(lake, "q0", T0, [check("volume", "fail", "alpha"), check("nulls", "pass", "alpha")])
    quality_run(lake, "q1", T0 + timedelta(minutes=15),
                [check("volume", "warn", "alpha"), check("nulls", "warn", "alpha")])
    con = connect(lake, read_only=True)
    try:
        changes = quality_changes(con, "q1", "warn")
    finally:
        con.close()
    assert names(changes["raised"]) == [("nulls", "alpha")]
    assert changes["cleared"] == []


def test_a_quality_alert_never_posts_a_catalogs_password():
    lake = "postgres:dbname=newsflow_lake host=db.internal user=airflow password=s3cret"
    payload = alerts.quality_message("q", lake, {"raised": [], "cleared": []})
    assert "s3cret" not in json.dumps(payload)
    assert payload["newsflow"]["warehouse"] == "postgres:dbname=newsflow_lake host=db.internal user=airflow password=***"


QUIET = json.dumps({"rejected": 0, "judged": 0, "note": "not enough pages to compare"})


@pytest.mark.parametrize(("runs", "posted"), [
    # a source whose pages started being rejected, then quiet days: extraction_rejection_* has no page to judge and
    # is stored as a pass with a note (the dashboard's grey `not judged`). That said "recovered" after two such runs,
    # and "started failing" again at the next pages: nothing recovered
    ([("fail", None), ("pass", QUIET), ("pass", QUIET), ("pass", QUIET), ("fail", None), ("pass", None),
      ("pass", None)], [("q0", 1, 0), ("q6", 0, 1)]),
    # told failing, a quiet day, one good run: judged below the level once, not for the NEWSFLOW_ALERT_CLEAR_AFTER
    # runs (2) a recovery waits for; a flaky source was told recovered and failing every other day
    ([("fail", None), ("pass", QUIET), ("pass", None), ("pass", None)], [("q0", 1, 0), ("q3", 0, 1)]),
])
def test_a_check_with_too_little_to_judge_is_no_recovery(tmp_path, runs, posted):
    lake = tmp_path / "lake"
    with Webhook() as hook:
        for i, (status, details) in enumerate(runs):
            quality_run(lake, f"q{i}", T0 + timedelta(minutes=15 * i),
                        [{**check("extraction_rejection_body_too_short", status, "alpha"), "details": details}])
            send_quality_alerts(f"q{i}", str(lake), settings=AlertSettings(hook.url))
    assert [(p["newsflow"]["run_id"], len(p["newsflow"]["raised"]), len(p["newsflow"]["cleared"]))
            for p in hook.posts] == posted


def test_a_backfills_quality_run_dated_before_what_was_told_says_nothing(tmp_path):
    """`newsflow ingest --quality --logical-date 2026-11-28` beside the service: the quality run judges the warehouse
    as it was then and its checks are dated then. Told against the alerts said since, it posted the service's standing
    alerts as recovered (its window of CLEAR_AFTER runs held it alone) and its old failures as new; the next scheduled
    run then told them all again."""
    lake = tmp_path / "lake"
    now = [check("fetch_failure_rate", "fail", "alhadath"), check("freshness", "pass", "alhadath")]
    with Webhook() as hook:
        settings = AlertSettings(hook.url)
        quality_run(lake, "q0", T0, now)
        send_quality_alerts("q0", str(lake), settings=settings)
        quality_run(lake, "backfill", T0 - timedelta(days=3),
                    [check("fetch_failure_rate", "pass", "alhadath"), check("freshness", "fail", "alhadath")])
        backfill = send_quality_alerts("backfill", str(lake), settings=settings)
        quality_run(lake, "q1", T0 + timedelta(minutes=15), now)
        send_quality_alerts("q1", str(lake), settings=settings)
    assert backfill == {"raised": 0, "cleared": 0, "posted": False}
    assert [p["newsflow"]["run_id"] for p in hook.posts] == ["q0"]
    con = connect(lake, read_only=True)
    assert con.execute("select check_name, source, raised_run_id from open_alerts()").fetchall() == \
        [("fetch_failure_rate", "alhadath", "q0")]
    con.close()


def test_a_backfills_quality_run_dated_before_a_quiet_run_says_nothing(tmp_path):
    """The alerts speak for every quality run, the quiet ones too: a backfill dated between the run that last posted
    (q0) and a later run that had nothing to tell (q1) judges the warehouse as it was then. Told against what was
    said, it posted its old failure as new, and the next scheduled run told it recovered."""
    lake = tmp_path / "lake"
    now = [check("fetch_failure_rate", "fail", "alhadath"), check("freshness", "pass", "alhadath")]
    with Webhook() as hook:
        settings = AlertSettings(hook.url)
        for run_id, at in (("q0", T0), ("q1", T0 + timedelta(days=1))):
            quality_run(lake, run_id, at, now)
            send_quality_alerts(run_id, str(lake), settings=settings)
        quality_run(lake, "backfill", T0 + timedelta(hours=12),
                    [check("fetch_failure_rate", "pass", "alhadath"), check("freshness", "fail", "alhadath")])
        backfill = send_quality_alerts("backfill", str(lake), settings=settings)
        for run_id, days in (("q2", 2), ("q3", 3)):
            quality_run(lake, run_id, T0 + timedelta(days=days), now)
            send_quality_alerts(run_id, str(lake), settings=settings)
    assert backfill == {"raised": 0, "cleared": 0, "posted": False}
    assert [p["newsflow"]["run_id"] for p in hook.posts] == ["q0"]
