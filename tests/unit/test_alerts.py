"""Alerts: which quality checks crossed the alert level since the run before (the quality_changes macro on a real
lake), what the webhook is sent, and what a refusing or unreachable webhook does, over loopback HTTP."""

from __future__ import annotations

import base64
import json
import socket
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from newsflow import alerts
from newsflow.alerts import AlertError, AlertSettings, alert_settings, quality_changes, send_quality_alerts
from newsflow.quality_checks import write_checks
from newsflow.warehouse import connect, open_for_write
from tests.support.webhook import Webhook

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def check(name: str, status: str, source: str = "*", observed: float | None = 1.0) -> dict:
    return {"check_name": name, "source": source, "observed": observed, "expected": "<= 48 / 96", "status": status,
            "details": None}


@pytest.fixture
def lake(tmp_path):
    path = tmp_path / "lake"
    con = open_for_write(path)
    write_checks(con, "q0", [check("freshness", "fail", "alpha")], checked_at=T0 - timedelta(hours=2))
    write_checks(con, "q1", [check("freshness", "pass", "alpha"), check("volume", "warn", "alpha"),
                             check("dupes", "fail"), check("nulls", "fail", "بي بي سي"), check("turnover", "pass"),
                             check("gone_check", "fail", "retired")], checked_at=T0)
    write_checks(con, "q2", [check("freshness", "fail", "alpha", 97.5), check("volume", "fail", "alpha"),
                             check("dupes", "fail"), check("nulls", "pass", "بي بي سي"), check("turnover", "warn"),
                             check("freshness", "fail", "new_source")], checked_at=T0 + timedelta(hours=1))
    # a later run is no one's "run before" for q2
    write_checks(con, "q3", [check("freshness", "pass", "alpha")], checked_at=T0 + timedelta(hours=2))
    con.close()
    return path


def names(rows):
    return sorted((r["check_name"], r["source"]) for r in rows)


def test_a_check_alerts_when_it_crosses_the_level_not_while_it_stays_there(lake):
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
    # the first run has no run before: each failing check is news; an unknown run has nothing to say
    assert names(quality_changes(con, "q0")["raised"]) == [("freshness", "alpha")]
    assert quality_changes(con, "no-such-run") == {"raised": [], "cleared": []}
    # q3 is compared with q2 (the run just before it), not with q1
    assert names(quality_changes(con, "q3")["cleared"]) == [("dupes", "*"), ("freshness", "alpha"),
                                                            ("freshness", "new_source"), ("volume", "alpha")]
    con.close()


def test_the_webhook_gets_what_changed_once(lake):
    with Webhook() as hook:
        settings = AlertSettings(hook.url)
        summary = send_quality_alerts("q2", str(lake), settings=settings, ui_url="http://127.0.0.1:8080/")
        assert summary == {"raised": 3, "cleared": 2, "posted": True}
        # q0 -> q1: freshness[alpha] recovered and four checks are news on the first comparison; one post per run
        send_quality_alerts("q1", str(lake), settings=settings)
    assert len(hook.posts) == 2
    payload = hook.posts[0]
    assert hook.headers[0]["Content-Type"] == "application/json; charset=utf-8"
    text = payload["text"].splitlines()
    assert text[0] == f"newsflow quality run q2 on {lake}: 3 started failing, 2 recovered"
    assert "  fail  freshness [alpha]: 97.5 (expected <= 48 / 96), was pass" in text
    assert "  fail  freshness [new_source]: 1 (expected <= 48 / 96)" in text
    assert "  pass  nulls [بي بي سي]: 1 (expected <= 48 / 96), was fail" in text
    assert "  ok    gone_check [retired]: no longer checked (was fail)" in text
    assert text[-1] == "dashboard: http://127.0.0.1:8080/newsflow/dashboard"
    assert payload["newsflow"]["kind"] == "quality" and payload["newsflow"]["run_id"] == "q2"
    assert {r["source"] for r in payload["newsflow"]["cleared"]} == {"retired", "بي بي سي"}


def test_nothing_is_posted_when_nothing_changed_or_no_webhook_is_set(tmp_path, lake):
    con = open_for_write(lake)
    write_checks(con, "q4", [check("freshness", "pass", "alpha")], checked_at=T0 + timedelta(hours=3))
    con.close()
    with Webhook() as hook:
        assert send_quality_alerts("q4", str(lake), settings=AlertSettings(hook.url)) == \
            {"raised": 0, "cleared": 0, "posted": False}
        assert send_quality_alerts("q2", str(lake), settings=AlertSettings(None)) == \
            {"raised": 3, "cleared": 2, "posted": False}
    assert hook.posts == []


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
    with Webhook() as hook:
        url = hook.url.replace("http://", "http://alerts:hun%40ter2@")
        send_quality_alerts("q2", str(lake), settings=AlertSettings(url))
    assert hook.headers[0]["Authorization"] == "Basic " + base64.b64encode(b"alerts:hun@ter2").decode()
    with Webhook(status=500, answer=b"") as hook:
        with pytest.raises(AlertError) as caught:
            send_quality_alerts("q2", str(lake), settings=AlertSettings(hook.url.replace("http://", "http://a:b@")))
    said = str(caught.value)
    assert said.startswith("webhook http://127.0.0.1:") and said.endswith("/… answered HTTP 500: Internal Server Error")
    assert "a:b" not in said and "secret-token" not in said


def test_an_unreachable_webhook_is_an_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AlertError, match="webhook http://127.0.0.1:.*/… unreachable"):
        alerts.post(f"http://127.0.0.1:{port}/hooks/secret", {"text": "x"}, timeout=5)


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, AlertSettings(None, "fail")),
    ({"NEWSFLOW_ALERT_WEBHOOK": " https://chat.example.org/hooks/abc ", "NEWSFLOW_ALERT_LEVEL": "WARN"},
     AlertSettings("https://chat.example.org/hooks/abc", "warn")),
    ({"NEWSFLOW_ALERT_WEBHOOK": "", "NEWSFLOW_ALERT_LEVEL": ""}, AlertSettings(None, "fail")),
])
def test_settings(environ, expected):
    assert alert_settings(environ) == expected


@pytest.mark.parametrize(("environ", "said"), [
    ({"NEWSFLOW_ALERT_LEVEL": "loud"}, "NEWSFLOW_ALERT_LEVEL='loud': expected one of warn, fail"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "hooks.slack.com/services/T/B/token"}, "NEWSFLOW_ALERT_WEBHOOK: expected an http(s)"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "ftp://example.org/token"}, "got 'ftp://example.org/…'"),
    ({"NEWSFLOW_ALERT_WEBHOOK": "https:///services/token"}, "got 'https:/…'"),
])
def test_malformed_settings_are_named(environ, said):
    with pytest.raises(AlertError, match=said.replace("(", r"\(").replace(")", r"\)")) as caught:
        alert_settings(environ)
    assert "token" not in str(caught.value).replace("got", "")


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
                                   "task_id": "plan"}
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
    monkeypatch.setenv("NEWSFLOW_ALERT_LEVEL", "loud")
    assert main(["alert-test"]) == 1
    assert "NEWSFLOW_ALERT_LEVEL='loud'" in capsys.readouterr().err


def test_up_and_status_say_where_alerts_go():
    assert alerts.alerts_said(alert_settings({})) == "off (NEWSFLOW_ALERT_WEBHOOK is not set)"
    said = alerts.alerts_said(alert_settings({"NEWSFLOW_ALERT_WEBHOOK": "https://hooks.example.org/services/T/B/tok",
                                              "NEWSFLOW_ALERT_LEVEL": "warn"}))
    assert said == "to https://hooks.example.org/… (checks that start or stop warning or failing, and failed runs)"
