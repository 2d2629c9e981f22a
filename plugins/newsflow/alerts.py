"""Alerts for the people who watch the data: the quality checks that started (or stopped) failing since the last
quality run, and the runs that failed, posted as JSON to the webhook NEWSFLOW_ALERT_WEBHOOK names.

A check's status is data (quality_checks, the dashboard); an alert says when it changes, so a source that stays
silent for a week is announced once, not at every run. Kept free of heavy imports: the DAG files import this.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

log = logging.getLogger(__name__)

WEBHOOK_VAR = "NEWSFLOW_ALERT_WEBHOOK"
LEVEL_VAR = "NEWSFLOW_ALERT_LEVEL"
LEVELS = {"warn": 1, "fail": 2}
RANK = {"pass": 0, "warn": 1, "fail": 2}
TIMEOUT_S = 15.0
# a chat message stays readable; every change is in the payload's `newsflow` object whatever the text shows
TEXT_LINES = 25


class AlertError(RuntimeError):
    """The webhook is misconfigured or did not take the alert."""


@dataclass(frozen=True)
class AlertSettings:
    webhook: str | None
    level: str = "fail"


def alert_settings(environ: dict | None = None) -> AlertSettings:
    """The deployment's alert settings; a malformed value is an AlertError naming the variable."""
    environ = os.environ if environ is None else environ
    webhook = (environ.get(WEBHOOK_VAR) or "").strip() or None
    level = (environ.get(LEVEL_VAR) or "").strip().lower() or "fail"
    if level not in LEVELS:
        raise AlertError(f"{LEVEL_VAR}={level!r}: expected one of {', '.join(LEVELS)}")
    if webhook:
        parts = urlsplit(webhook)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AlertError(f"{WEBHOOK_VAR}: expected an http(s) URL, got {_redacted(webhook)!r}")
    return AlertSettings(webhook, level)


def alerts_said(settings: AlertSettings) -> str:
    """Where alerts go, for `newsflow up` and `status` (the webhook as far as its host)."""
    if not settings.webhook:
        return f"off ({WEBHOOK_VAR} is not set)"
    what = "warning or failing" if settings.level == "warn" else "failing"
    return f"to {_redacted(settings.webhook)} (checks that start or stop {what}, and failed runs)"


def _redacted(url: str) -> str:
    """A webhook URL as far as its host: chat webhooks carry their secret token in the path (or a password in the
    user part)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return url.split("/", 1)[0][:40] + "/…"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"


def post(url: str, payload: dict, *, timeout: float = TIMEOUT_S) -> int:
    """POST `payload` as JSON; the HTTP status, or an AlertError saying what the endpoint answered. A user and
    password in the URL (https://user:secret@host/...) are sent as HTTP basic authentication."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "newsflow-alerts"}
    parts = urlsplit(url)
    target = url
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        target = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))
    request = urllib.request.Request(target, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the scheme is checked)
            return response.status
    except urllib.error.HTTPError as exc:
        body = exc.read(300).decode("utf-8", "replace").strip()
        raise AlertError(f"webhook {_redacted(url)} answered HTTP {exc.code}: {body or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"webhook {_redacted(url)} unreachable: {reason}") from None


# --- quality checks --------------------------------------------------------------------------------------------


def quality_changes(con, run_id: str, level: str = "fail") -> dict[str, list[dict]]:
    """The checks of quality run `run_id` that crossed `level` since the run before (macro quality_changes):
    `raised` reached it or got worse beyond it (pass -> fail, warn -> fail; with level warn also pass -> warn),
    `cleared` fell below it (or is no longer checked)."""
    threshold = LEVELS[level]
    columns = ("check_name", "source", "previous_status", "status", "observed", "expected", "details",
               "previous_run_id")
    rows = [dict(zip(columns, row, strict=True))
            for row in con.execute("select * from quality_changes(?)", [run_id]).fetchall()]
    raised, cleared = [], []
    for row in rows:
        now, before = RANK.get(row["status"], -1), RANK.get(row["previous_status"], 0)
        if now >= threshold and now > before:
            raised.append(row)
        elif before >= threshold > now:
            cleared.append(row)
    return {"raised": raised, "cleared": cleared}


def _check_line(row: dict) -> str:
    what = f"{row['check_name']} [{row['source']}]"
    if row["status"] is None:
        return f"  ok    {what}: no longer checked (was {row['previous_status']})"
    observed = "" if row["observed"] is None else f" {row['observed']:g}"
    expected = f" (expected {row['expected']})" if row["expected"] else ""
    was = f", was {row['previous_status']}" if row["previous_status"] else ""
    return f"  {row['status']:<5} {what}:{observed}{expected}{was}"


def quality_message(run_id: str, warehouse: str, changes: dict[str, list[dict]], ui_url: str | None = None,
                    level: str = "fail") -> dict:
    """The webhook payload: `text` for chat webhooks (Slack, Mattermost, Rocket.Chat take it as is) and every
    change under `newsflow` for anything that reads JSON."""
    raised, cleared = changes["raised"], changes["cleared"]
    started = "started failing" if level == "fail" else "started warning or failing"
    said = [f"{len(raised)} {started}" if raised else "", f"{len(cleared)} recovered" if cleared else ""]
    lines = [f"newsflow quality run {run_id} on {warehouse}: " + ", ".join(s for s in said if s)]
    shown = [_check_line(row) for row in raised] + [_check_line(row) for row in cleared]
    lines += shown[:TEXT_LINES]
    if len(shown) > TEXT_LINES:
        lines.append(f"  … and {len(shown) - TEXT_LINES} more")
    if ui_url:
        lines.append(f"dashboard: {ui_url.rstrip('/')}/newsflow/dashboard")
    return {"text": "\n".join(lines),
            "newsflow": {"kind": "quality", "run_id": run_id, "warehouse": warehouse,
                         "raised": raised, "cleared": cleared}}


def send_quality_alerts(run_id: str, warehouse: str, *, settings: AlertSettings | None = None,
                        ui_url: str | None = None) -> dict:
    """The news_quality task: post what changed in run `run_id`'s checks, if anything did and a webhook is set.
    An endpoint that refuses or cannot be reached is an AlertError (the task retries, then fails the run)."""
    from newsflow.warehouse import connect

    settings = settings or alert_settings()
    con = connect(warehouse, read_only=True)
    try:
        changes = quality_changes(con, run_id, settings.level)
    finally:
        con.close()
    summary = {"raised": len(changes["raised"]), "cleared": len(changes["cleared"]), "posted": False}
    if not (changes["raised"] or changes["cleared"]):
        log.info("quality alerts: no check crossed %s since the run before", settings.level)
        return summary
    if not settings.webhook:
        log.info("quality alerts: %d raised, %d cleared; not sent (%s is not set)", summary["raised"],
                 summary["cleared"], WEBHOOK_VAR)
        return summary
    post(settings.webhook, quality_message(run_id, warehouse, changes, ui_url or airflow_ui_url(), settings.level))
    log.info("quality alerts: %d raised, %d cleared; posted to %s", summary["raised"], summary["cleared"],
             _redacted(settings.webhook))
    return {**summary, "posted": True}


# --- failed runs -----------------------------------------------------------------------------------------------


def run_message(dag_id: str, run_id: str, reason: str | None, task_id: str | None, ui_url: str | None) -> dict:
    text = f"newsflow: {dag_id} run {run_id} failed" + (f" ({reason})" if reason else "")
    if task_id:
        text += f"; last failed task: {task_id}"
    if ui_url:
        text += f"\n{ui_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return {"text": text, "newsflow": {"kind": "run_failed", "dag_id": dag_id, "run_id": run_id,
                                       "reason": reason, "task_id": task_id}}


def announce_failed_run(context) -> None:
    """A DAG's on_failure_callback: posts the failed run to the webhook, when one is set. Airflow runs it in the
    dag-processor (or in `airflow dags test`), which logs a delivery failure. A plain function, not a BaseNotifier:
    a notifier renders its fields with the DAG's template environment, which the DAG that `airflow dags test`
    hands to callbacks lacks ('SerializedDAG' object has no attribute 'get_template_env', Airflow 3.3)."""
    settings = alert_settings()
    if not settings.webhook:
        return
    dag = context.get("dag")
    ti = context.get("ti") or context.get("task_instance")
    post(settings.webhook, run_message(getattr(dag, "dag_id", "?"), str(context.get("run_id")),
                                       context.get("reason"), getattr(ti, "task_id", None), airflow_ui_url()))


def airflow_ui_url() -> str | None:
    """The address users open the Airflow UI at ([api] base_url), for the links in alerts; None when unset."""
    from airflow.sdk.configuration import conf

    return conf.get("api", "base_url", fallback=None) or None
