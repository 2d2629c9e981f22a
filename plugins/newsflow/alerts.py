"""Alerts for the people who watch the data: the quality checks that started (or stopped) failing, the runs that
failed, and what stops the service's runs (a component that stopped, a DAG file Airflow cannot import), posted as
JSON to the webhook NEWSFLOW_ALERT_WEBHOOK names.

A check's status is data (quality_checks, the dashboard); an alert says when it changes against what the alerts
last said (alerts_sent), so a source that stays silent for a week is announced once, an alert the webhook did not
take is posted by the next run, and a check that flaps is not posted at every run. Kept free of heavy imports: the
DAG files import this.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from newsflow.terminal import printable

log = logging.getLogger(__name__)

WEBHOOK_VAR = "NEWSFLOW_ALERT_WEBHOOK"
LEVEL_VAR = "NEWSFLOW_ALERT_LEVEL"
CLEAR_AFTER_VAR = "NEWSFLOW_ALERT_CLEAR_AFTER"
TIMEOUT_VAR = "NEWSFLOW_ALERT_TIMEOUT_S"
# a recovery is said once the check has stayed below the level this many quality runs: one good run between two
# bad ones (a flaky site's fetch failures) is no recovery to announce, and a real one waits one run more
CLEAR_AFTER = 2
LEVELS = {"warn": 1, "fail": 2}
RANK = {"pass": 0, "warn": 1, "fail": 2}
TIMEOUT_S = 15.0
# a chat message stays readable; every change is in the payload's `newsflow` object whatever the text shows
TEXT_LINES = 25


class AlertError(RuntimeError):
    """The webhook is misconfigured or did not take the alert."""


class AlertUnanswered(AlertError):
    """The webhook took the whole post but gave no answer in time: it may well have been delivered. Posting it again
    at once (a task retry) would say it twice for every try; the next quality run tells it again if it was not."""


class AlertSettingsError(AlertError):
    """NEWSFLOW_ALERT_WEBHOOK or NEWSFLOW_ALERT_LEVEL is malformed: a configuration error, not the webhook's answer."""


@dataclass(frozen=True)
class AlertSettings:
    webhook: str | None
    level: str = "fail"
    clear_after: int = CLEAR_AFTER
    timeout_s: float = TIMEOUT_S


def alert_settings(environ: dict | None = None) -> AlertSettings:
    """The deployment's alert settings; a malformed value is an AlertError naming the variable."""
    environ = os.environ if environ is None else environ
    webhook = (environ.get(WEBHOOK_VAR) or "").strip() or None
    level = (environ.get(LEVEL_VAR) or "").strip().lower() or "fail"
    if level not in LEVELS:
        raise AlertSettingsError(f"{LEVEL_VAR}={level!r}: expected one of {', '.join(LEVELS)}")
    if webhook:
        _check_webhook(webhook)
    said = (environ.get(CLEAR_AFTER_VAR) or "").strip() or str(CLEAR_AFTER)
    if not said.isdigit() or not 1 <= int(said) <= 100:
        raise AlertSettingsError(f"{CLEAR_AFTER_VAR}={said!r}: expected a number of quality runs from 1 to 100")
    # how long a post waits for the webhook's answer: an endpoint behind a slow proxy takes the post and answers late
    waited = (environ.get(TIMEOUT_VAR) or "").strip() or f"{TIMEOUT_S:g}"
    try:
        timeout_s = float(waited)
    except ValueError:
        timeout_s = float("nan")
    if not 1 <= timeout_s <= 300:
        raise AlertSettingsError(f"{TIMEOUT_VAR}={waited!r}: expected a number of seconds from 1 to 300")
    return AlertSettings(webhook, level, int(said), timeout_s)


def _check_webhook(url: str) -> None:
    """Refuse what urllib would only fail on at the first alert, with a traceback rather than a message: a blank or
    control character (a pasted line break), a character outside ASCII (urllib sends neither a non-ASCII path nor an
    IDN host: percent-encode the one, write the other in punycode), a port that is no number from 1 to 65535."""
    what = f"{WEBHOOK_VAR}: expected an http(s) URL"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise AlertSettingsError(f"{what} without blanks or control characters")
    if not url.isascii():
        raise AlertSettingsError(f"{what} in ASCII (percent-encode its path, write its host in punycode)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AlertSettingsError(f"{what}, got one Python cannot read ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertSettingsError(f"{what}, got {_redacted(url)!r}")
    if port == 0:
        raise AlertSettingsError(f"{what}, got port 0")


def alerts_said(settings: AlertSettings) -> str:
    """Where alerts go, for `newsflow up` and `status` (the webhook as far as its host)."""
    if not settings.webhook:
        return f"off ({WEBHOOK_VAR} is not set)"
    what = "warning or failing" if settings.level == "warn" else "failing"
    return f"to {_redacted(settings.webhook)} (checks that start or stop {what}, and failed runs)"


def _redacted(url: str) -> str:
    """A webhook URL as far as its host: chat webhooks carry their secret token in the path (or a password in the
    user part)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return printable(url.split("/", 1)[0][:40]) + "/…"
    if not parts.hostname:
        return printable(url.split("/", 1)[0][:40]) + "/…"
    return printable(f"{parts.scheme}://{parts.hostname}{port}/…")


def _answer(body: bytes) -> str:
    """An error answer's body, as said in one line: its text with blanks collapsed, controls replaced, cut short."""
    text = " ".join(body.decode("utf-8", "replace").split())
    text = printable(text)
    return text if len(text) <= 200 else text[:200] + "…"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows a 301/302 answer to a POST with a GET that drops the alert; a webhook that moved (http to
    https, a new path) is a setting to correct, said with where it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


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
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            where = exc.headers.get("Location")
            moved = f" (to {_redacted(where)}: set {WEBHOOK_VAR} to where it points)" if where else ""
            raise AlertError(f"webhook {_redacted(url)} answered HTTP {exc.code}, a redirect{moved}") from None
        said = _answer(exc.read(2000)) or printable(str(exc.reason))
        raise AlertError(f"webhook {_redacted(url)} answered HTTP {exc.code}: {said}") from None
    except urllib.error.URLError as exc:
        # connecting or sending failed (urllib wraps those): the post did not get there
        raise AlertError(f"webhook {_redacted(url)} unreachable: {printable(str(exc.reason))}") from None
    except TimeoutError:
        # sent whole, then no answer: urllib raises the read's timeout as it is. "unreachable" was false, and each
        # of the task's retries posted it again (a webhook answering in 16 s got every alert three times a run)
        raise AlertUnanswered(f"webhook {_redacted(url)} took the post but did not answer within {timeout:g} s "
                              f"(it may have been delivered; not posted again by a retry; {TIMEOUT_VAR} waits "
                              "longer)") from None
    except OSError as exc:
        raise AlertError(f"webhook {_redacted(url)} unreachable: {printable(str(exc))}") from None
    except (http.client.HTTPException, ValueError) as exc:
        # a server that answers something other than HTTP (an SSH banner, a bare 1xx), or a URL urllib refuses
        raise AlertError(f"webhook {_redacted(url)} gave no HTTP answer ({type(exc).__name__}: "
                         f"{printable(str(exc))[:120]})") from None


# --- quality checks --------------------------------------------------------------------------------------------


def quality_changes(con, run_id: str, level: str = "fail") -> dict[str, list[dict]]:
    """The checks of quality run `run_id` that crossed `level` since the run before (macro quality_changes, what the
    dashboard shows): `raised` reached it or got worse beyond it (pass -> fail, warn -> fail; with level warn also
    pass -> warn), `cleared` fell below it (or is no longer checked). The alerts post alert_changes instead."""
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


def alert_changes(con, run_id: str, level: str = "fail", clear_after: int = CLEAR_AFTER) -> dict[str, list[dict]]:
    """What quality run `run_id` has to tell, against what the alerts last told (alerts_sent, macro open_alerts):
    `raised`: a check at or above `level` that was not said to fail, or was said only to warn and now fails;
    `cleared`: a check said to fail that is no longer checked, or has stayed below `level` in the last `clear_after`
    quality runs (this one included); `below_level`: a check told under a lower level than `level` (a warning told
    before NEWSFLOW_ALERT_LEVEL went from warn to fail) and not at `level` now: it did not recover, the level rose,
    so it is closed without a word. Rows carry what quality_message prints: previous_status is what was told,
    previous_run_id the run that told it. An unknown run has nothing to say, nor has one dated before another
    quality run, which the alerts spoke for whether it posted or not (`ingest --quality --logical-date`, a backfill:
    its checks judge the warehouse as it was then; told against what was said since, its old state posted false
    recoveries and failures)."""
    threshold = LEVELS[level]
    current = {(row[0], row[1]): dict(zip(("check_name", "source", "status", "observed", "expected", "details"), row,
                                          strict=True))
               for row in con.execute("select check_name, source, status, observed, expected, details "
                                      "from quality_checks where run_id = ? and checked_at >= "
                                      "(select coalesce(max(checked_at), '-infinity'::timestamptz) from quality_checks "
                                      "where run_id <> ?)", [run_id, run_id]).fetchall()}
    if not current:
        return {"raised": [], "cleared": [], "below_level": []}
    told = {(name, source): (status, raised_run_id) for name, source, status, raised_run_id in
            con.execute("select check_name, source, status, raised_run_id from open_alerts()").fetchall()}
    # the checks at the level in any of the last `clear_after` quality runs up to this one (by when they judged)
    at_level = {(name, source) for name, source in con.execute(
        """
        with recent as (
            select run_id from quality_checks
            where checked_at <= (select max(checked_at) from quality_checks where run_id = $run)
            group by run_id order by max(checked_at) desc, run_id desc limit $n
        )
        select distinct check_name, source from quality_checks
        where run_id in (select run_id from recent)
          and (status in (select unnest($statuses))
               -- a run with too little to judge the check (not_judged: a note in its details) was no run below
               -- the level: fail, a quiet day, one pass said "recovered" after one good run of the two it takes
               or status = 'pass' and coalesce(try_cast(details as json) ->> 'note', '') <> '')
        """,
        {"run": run_id, "n": clear_after,
         "statuses": [status for status, rank in RANK.items() if rank >= threshold]}).fetchall()}
    raised, cleared, below_level = [], [], []
    for key, row in sorted(current.items()):
        was, told_by = told.get(key, (None, None))
        if RANK[row["status"]] >= threshold and (was is None or RANK[row["status"]] > RANK.get(was, 0)):
            raised.append({**row, "previous_status": was, "previous_run_id": told_by})
    for key, (was, told_by) in sorted(told.items()):
        row = current.get(key)
        if row is None:
            row = {"check_name": key[0], "source": key[1], "status": None, "observed": None, "expected": None,
                   "details": None}
        elif key in at_level or not_judged(row["status"], row["details"]):
            # a check with too little to judge this run (its details carry a `note`: a quiet day's 0 pages of a
            # source whose pages were being rejected) is stored as a pass, but nothing recovered: what was told stands
            continue
        # "recovered" would be false news for a warning told at level warn and still warning at level fail
        said = below_level if RANK.get(was, 0) < threshold else cleared
        said.append({**row, "previous_status": was, "previous_run_id": told_by})
    return {"raised": raised, "cleared": cleared, "below_level": below_level}


def not_judged(status: str | None, details) -> bool:
    """A pass whose details carry a note: the check had too little to judge (the dashboard's grey `not judged`). A
    warning or failure with a note (a source never fetched) was judged."""
    if status != "pass" or not details:
        return False
    try:
        return bool(json.loads(details).get("note"))
    except (ValueError, AttributeError):  # details that are not a JSON object say nothing about it
        return False


def record_sent(con, run_id: str, changes: dict[str, list[dict]], level: str, sent_at=None) -> int:
    """Append what a post said to alerts_sent (one statement, one commit): the next quality run compares with it."""
    from datetime import UTC, datetime

    # a check closed for a raised level is recorded as cleared: open_alerts() no longer holds it
    rows = [(row, "raised" if change == "raised" else "cleared")
            for change in ("raised", "cleared", "below_level") for row in changes.get(change, ())]
    if rows:
        # one statement for all rows: in a lake each insert statement is a write of its own
        con.execute(
            "insert into alerts_sent (run_id, check_name, source, change, status, level, observed, sent_at) "
            "select $run, unnest($names), unnest($sources), unnest($changes), unnest($statuses), $level, "
            "unnest($observed), $sent_at",
            {"run": run_id, "level": level, "sent_at": sent_at or datetime.now(UTC),
             "names": [row["check_name"] for row, _ in rows], "sources": [row["source"] for row, _ in rows],
             "changes": [change for _, change in rows], "statuses": [row["status"] for row, _ in rows],
             "observed": [row["observed"] for row, _ in rows]})
    return len(rows)


def check_line(row: dict) -> str:
    """One check on one line, as the alerts and `newsflow ingest --quality` say it; a check never measured (a
    source never fetched) says so rather than showing no value."""
    what = f"{row['check_name']} [{row['source']}]"
    if row["status"] is None:
        return f"  ok    {what}: no longer checked (was {row['previous_status']})"
    observed = " never measured" if row["observed"] is None else f" {row['observed']:g}"
    expected = f" (expected {row['expected']})" if row["expected"] else ""
    was = f", was {row['previous_status']}" if row.get("previous_status") else ""
    return f"  {row['status']:<5} {what}:{observed}{expected}{was}"


def quality_message(run_id: str, warehouse: str, changes: dict[str, list[dict]], ui_url: str | None = None,
                    level: str = "fail") -> dict:
    """The webhook payload: `text` for chat webhooks (Slack, Mattermost, Rocket.Chat take it as is) and every
    change under `newsflow` for anything that reads JSON."""
    from newsflow.quality_checks import shown_warehouse

    warehouse = shown_warehouse(str(warehouse))  # a chat channel is no place for a catalog's password
    raised, cleared = changes["raised"], changes["cleared"]
    started = "started failing" if level == "fail" else "started warning or failing"
    said = [f"{len(raised)} {started}" if raised else "", f"{len(cleared)} recovered" if cleared else ""]
    lines = [f"newsflow quality run {run_id} on {warehouse}: " + ", ".join(s for s in said if s)]
    shown = [check_line(row) for row in raised] + [check_line(row) for row in cleared]
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
    """The news_quality task: post what run `run_id`'s checks have to tell (alert_changes), if anything and a
    webhook is set, then record it in alerts_sent. An endpoint that refuses or cannot be reached is an AlertError
    (the task retries, then fails the run); nothing is recorded then, so the next quality run posts it."""
    from newsflow.warehouse import connect, open_for_write

    settings = settings or alert_settings()
    con = connect(warehouse, read_only=True)
    try:
        changes = alert_changes(con, run_id, settings.level, settings.clear_after)
    finally:
        con.close()
    summary = {"raised": len(changes["raised"]), "cleared": len(changes["cleared"]), "posted": False}
    news = changes["raised"] or changes["cleared"]
    if not news:
        log.info("quality alerts: nothing to tell (no check crossed %s against what was last said)", settings.level)
    elif not settings.webhook:
        log.info("quality alerts: %d raised, %d cleared; not sent (%s is not set)", summary["raised"],
                 summary["cleared"], WEBHOOK_VAR)
    else:
        # the dashboard the UI serves shows the deployment's warehouse: an alert on another links to none
        from newsflow.config import warehouse_location

        ui_url = (ui_url or airflow_ui_url()) if warehouse_location(warehouse) == warehouse_location() else None
        post(settings.webhook, quality_message(run_id, warehouse, changes, ui_url, settings.level),
             timeout=settings.timeout_s)
        log.info("quality alerts: %d raised, %d cleared; posted to %s", summary["raised"], summary["cleared"],
                 _redacted(settings.webhook))
        summary["posted"] = True
    if changes["below_level"] and settings.webhook:
        log.info("quality alerts: %d told below level %s closed without a post", len(changes["below_level"]),
                 settings.level)
    if settings.webhook and (news or changes["below_level"]):
        con = open_for_write(warehouse)
        try:
            record_sent(con, run_id, changes, settings.level)
        finally:
            con.close()
    return summary


# --- failed runs -----------------------------------------------------------------------------------------------


def run_message(dag_id: str, run_id: str, reason: str | None, failed: list[str] | None, ui_url: str | None,
                last_only: bool = False) -> dict:
    """`failed`: the run's failed tasks in the DAG's order, the first the likeliest cause (failed_tasks()), or with
    `last_only` the one Airflow named, the failed task that ended last."""
    failed = list(failed or [])
    text = f"newsflow: {dag_id} run {run_id} failed" + (f" ({reason})" if reason else "")
    if failed and last_only:
        text += f"; last failed task: {failed[0]}"
    elif failed:
        text += f"; failed task{'s' if len(failed) > 1 else ''}: {', '.join(failed)}"
    if ui_url:
        text += f"\n{ui_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    return {"text": text, "newsflow": {"kind": "run_failed", "dag_id": dag_id, "run_id": run_id,
                                       "reason": reason, "task_id": failed[0] if failed else None,
                                       "failed_tasks": None if last_only else failed}}


def failed_tasks(context) -> list[str] | None:
    """The failed tasks of the run a DAG callback is for, in the DAG's order, a mapped task once; None where Airflow
    cannot say. Airflow hands the callback one task instance, the failed one that ended last: `account` (which runs
    whatever failed before it, to log every URL) when the plan or the load failed, so the post named a task that
    only reported the failure. That instance asks for the run's task states, which the dag-processor (the service)
    answers; `airflow dags test` runs callbacks after its tasks, with no one to ask."""
    dag, run_id = context.get("dag"), str(context.get("run_id"))
    ti = context.get("ti") or context.get("task_instance")
    task_ids = list(getattr(dag, "task_ids", None) or [])
    try:
        states = ti.get_task_states(dag_id=dag.dag_id, run_ids=[run_id]).get(run_id, {})
    except Exception as exc:  # noqa: BLE001 - the post goes out whatever this lookup does
        log.info("the run's task states are not available to its failure callback (%s: %s)", type(exc).__name__, exc)
        return None
    failed = set()
    for key, state in states.items():
        if state == "failed":
            # a mapped task's instances come as `<task_id>_<map_index>`
            failed.add(key if key in task_ids else key.rpartition("_")[0])
    return [task_id for task_id in task_ids if task_id in failed] or None


def component_message(name: str, state: dict) -> dict:
    """A component of the service (`state`: its service.json) that stopped and stays stopped (the housekeeper)."""
    text = (f"newsflow: the service's {name} (pid {state['pids'][name]}) has stopped and nothing restarts it"
            + ("; no scheduled run starts until `newsflow down`, then `newsflow up`" if name == "scheduler" else
               "; `newsflow down`, then `newsflow up`") + f"\n{state['url']}")
    return {"text": text, "newsflow": {"kind": "component_stopped", "component": name, "pid": state["pids"][name]}}


def import_error_message(filename: str, message: list[str], state: dict) -> dict:
    """A DAG file of the dags folder Airflow cannot import (the housekeeper): Airflow drops every DAG it made, so
    whatever those DAGs did stops without a failed run to post. `message` is the exception's lines."""
    from newsflow.service import SCHEDULED_FILE

    scheduled = filename.rpartition("/")[2] == SCHEDULED_FILE
    stops = ("no scheduled run starts until the sources file is mended" if scheduled else
             "the DAGs it makes are gone and none of their runs starts until it is mended")
    lines = [f"newsflow: the DAG file {filename} does not import; {stops}"]
    lines += [f"  {line}" for line in message[:TEXT_LINES]]
    if len(message) > TEXT_LINES:
        lines.append(f"  … and {len(message) - TEXT_LINES} more lines")
    if state.get("url"):
        lines.append(state["url"])
    return {"text": "\n".join(lines), "newsflow": {"kind": "dag_import_error", "file": filename,
                                                  "error": "\n".join(message), "stops": stops}}


def disk_message(what: str, path: str, free: int, total: int, limit: int, state: dict, low: bool) -> dict:
    """A disk newsflow writes whose free space fell under NEWSFLOW_DISK_LOW_GB (`low`), or rose again well above it
    (the housekeeper). A full disk fails every load, fetch and Airflow's own writes: told before, not after."""
    from newsflow.cleanup import human_bytes

    said = (f"newsflow: LOW DISK: {human_bytes(free)} free of {human_bytes(total)} on the disk of the {what} "
            f"({path}), under {limit / 1024**3:g} GB; loads, fetches and Airflow fail when it fills" if low else
            f"newsflow: the disk of the {what} ({path}) has {human_bytes(free)} free of {human_bytes(total)} again")
    text = said + (f"\n{state['url']}" if state.get("url") else "")
    return {"text": text, "newsflow": {"kind": "disk_low" if low else "disk_low_cleared", "disk": what,
                                       "path": path, "free_bytes": free, "total_bytes": total, "limit_bytes": limit}}


def import_error_cleared_message(filename: str, state: dict) -> dict:
    """The DAG file import_error_message told of imports again (Airflow reports no error for it any more)."""
    text = f"newsflow: the DAG file {filename} imports again" + (f"\n{state['url']}" if state.get("url") else "")
    return {"text": text, "newsflow": {"kind": "dag_import_error_cleared", "file": filename}}


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
    failed = failed_tasks(context)
    last = [ti.task_id] if getattr(ti, "task_id", None) else []
    post(settings.webhook, run_message(getattr(dag, "dag_id", "?"), str(context.get("run_id")),
                                       context.get("reason"), failed or last, airflow_ui_url(), last_only=not failed),
         timeout=settings.timeout_s)


def airflow_ui_url() -> str | None:
    """The address users open the Airflow UI at ([api] base_url), for the links in alerts; None when unset."""
    from airflow.sdk.configuration import conf

    return conf.get("api", "base_url", fallback=None) or None
