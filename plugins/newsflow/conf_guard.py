"""Refuses, at trigger time, a newsflow DAG run whose conf carries a key the DAG declares no param for.

Airflow 3.3 keeps such a key as an extra untyped param (its params have no `additionalProperties` switch), so a typo
like `sources_fle` would run with the defaults. This api-server middleware answers 400 before the run exists.
"""

from __future__ import annotations

import json
import re

# the REST API's trigger and backfill endpoints; the UI's trigger form posts to the first
# (searched at the path's end: an api-server under a base URL has a prefix before /api/v2)
TRIGGER_PATH = re.compile(r"/api/v2/dags/(?P<dag_id>[^/]+)/dagRuns/?$")
BACKFILL_PATH = re.compile(r"/api/v2/backfills(/dry_run)?/?$")
NEWSFLOW_TAG = "newsflow"
MAX_BODY = 1 << 20  # a trigger body is a few hundred bytes; a bigger one is left to Airflow to answer


def conf_in_request(path: str, body: bytes) -> tuple[str, dict] | None:
    """(dag_id, conf) that this POST asks a run to start with, or None when it is not a trigger with a conf object
    (a malformed body is left to Airflow, which answers 422)."""
    trigger = TRIGGER_PATH.search(path)
    if not trigger and not BACKFILL_PATH.search(path):
        return None
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    conf = payload.get("conf" if trigger else "dag_run_conf")
    dag_id = trigger["dag_id"] if trigger else payload.get("dag_id")
    if not isinstance(conf, dict) or not conf or not isinstance(dag_id, str):
        return None
    return dag_id, conf


def unknown_keys_message(dag_id: str, conf: dict, details: dict) -> str | None:
    """The refusal for `conf` given the DAG's details (REST `GET /dags/{id}/details`), or None if it is fine or the
    DAG is not newsflow's (other teams' DAGs keep Airflow's behaviour)."""
    if NEWSFLOW_TAG not in {tag.get("name") for tag in details.get("tags") or []}:
        return None
    allowed = set(details.get("params") or {})
    unknown = sorted(set(conf) - allowed)
    if not unknown:
        return None
    return (f"unknown conf key(s) for {dag_id}: {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(allowed)) or 'no conf'}. No run was created.")


class RefuseUnknownConf:
    """Pure ASGI middleware (the request body is read once and replayed to Airflow's handler)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not (
                TRIGGER_PATH.search(scope["path"]) or BACKFILL_PATH.search(scope["path"])):
            await self.app(scope, receive, send)
            return
        messages, body = [], b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body") or len(body) > MAX_BODY:
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        asked = conf_in_request(scope["path"], body) if len(body) <= MAX_BODY else None
        refusal = None
        if asked:
            details = await dag_details(scope, asked[0])
            refusal = unknown_keys_message(asked[0], asked[1], details) if details else None
        if refusal is None:
            await self.app(scope, replay, send)
            return
        from starlette.responses import JSONResponse

        await JSONResponse({"detail": refusal}, status_code=400)(scope, replay, send)


async def dag_details(scope, dag_id: str) -> dict | None:
    """The DAG's details through the public REST API, asked of this same app in process with the caller's own
    credentials: a caller who may not read the DAG gets None here, and Airflow's own answer below."""
    from urllib.parse import quote

    import httpx

    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
               if name in (b"authorization", b"cookie")}
    prefix = scope["path"][:scope["path"].index("/api/v2/")]
    transport = httpx.ASGITransport(app=scope["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://newsflow-conf-guard") as client:
        response = await client.get(f"{prefix}/api/v2/dags/{quote(dag_id, safe='')}/details", headers=headers)
    return response.json() if response.status_code == 200 else None
