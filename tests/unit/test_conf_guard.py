"""conf_guard: which trigger bodies are checked, the refusal's wording, and the middleware's body replay, on a small
Starlette app standing in for the api-server's routes (the real api-server runs it in tests/integration/test_service.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from newsflow.conf_guard import RefuseUnknownConf, conf_in_request, unknown_keys_message

INGEST = {"tags": [{"name": "newsflow"}, {"name": "ingest"}],
          "params": {"sources_file": {}, "sources": {}, "warehouse": {}}}


def test_trigger_and_backfill_bodies_name_the_dag_and_conf():
    assert conf_in_request("/api/v2/dags/news_ingest/dagRuns", b'{"conf": {"a": 1}}') == ("news_ingest", {"a": 1})
    assert conf_in_request("/airflow/api/v2/dags/d/dagRuns/", b'{"conf": {"a": 1}}') == ("d", {"a": 1})
    body = json.dumps({"dag_id": "news_ingest", "dag_run_conf": {"b": 2}}).encode()
    assert conf_in_request("/api/v2/backfills", body) == ("news_ingest", {"b": 2})
    assert conf_in_request("/api/v2/backfills/dry_run", body) == ("news_ingest", {"b": 2})


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v2/dags/d/dagRuns", b'{"conf": {}}'),            # nothing to check
    ("/api/v2/dags/d/dagRuns", b'{"logical_date": null}'),
    ("/api/v2/dags/d/dagRuns", b'{"conf": "text"}'),        # Airflow answers 422 itself
    ("/api/v2/dags/d/dagRuns", b"not json"),
    ("/api/v2/dags/d/dagRuns", b"[1, 2]"),
    ("/api/v2/dags/d/dagRuns/run_1/clear", b'{"conf": {"a": 1}}'),
    ("/api/v2/dags/d/dagRuns/list", b'{"conf": {"a": 1}}'),
    ("/api/v2/backfills", b'{"dag_run_conf": {"a": 1}}'),  # no dag_id
])
def test_other_requests_are_not_checked(path, body):
    assert conf_in_request(path, body) is None


def test_refusal_names_the_unknown_keys_and_what_the_dag_takes():
    message = unknown_keys_message("news_ingest", {"sources_fle": "x", "sources": []}, INGEST)
    assert message == ("unknown conf key(s) for news_ingest: sources_fle; it takes sources, sources_file, "
                       "warehouse. No run was created.")
    assert unknown_keys_message("news_ingest", {"sources_file": "x"}, INGEST) is None
    # another team's DAG keeps Airflow's behaviour
    assert unknown_keys_message("theirs", {"anything": 1}, {"tags": [{"name": "etl"}], "params": {}}) is None
    assert "it takes no conf" in unknown_keys_message("news_maintenance", {"x": 1},
                                                      {"tags": [{"name": "newsflow"}], "params": {}})


def _app() -> Starlette:
    async def details(request: Request):
        # a script sends a bearer token; the UI's trigger form, its session cookie
        if request.headers.get("authorization") != "Bearer good" and request.cookies.get("_token") != "good":
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        return JSONResponse(INGEST)

    async def trigger(request: Request):
        # what Airflow's handler would see: the body the middleware already read, intact
        return JSONResponse({"created": json.loads(await request.body())}, status_code=200)

    app = Starlette(routes=[Route("/api/v2/dags/{dag_id}/details", details),
                            Route("/api/v2/dags/{dag_id}/dagRuns", trigger, methods=["POST"])])
    app.add_middleware(RefuseUnknownConf)
    return app


@pytest.fixture
def client():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test")


async def _post(client, body: dict, token: str = "good") -> httpx.Response:
    async with client:
        return await client.post("/api/v2/dags/news_ingest/dagRuns", json=body,
                                 headers={"Authorization": f"Bearer {token}"})


@pytest.mark.anyio
async def test_unknown_key_gets_400_and_never_reaches_the_handler(client):
    response = await _post(client, {"conf": {"sources_fle": "config/sources.yaml"}})
    assert response.status_code == 400
    assert "sources_fle" in response.json()["detail"]
    assert "created" not in response.json()


@pytest.mark.anyio
async def test_known_keys_reach_the_handler_with_the_body_intact(client):
    body = {"conf": {"sources_file": "config/sources.yaml", "sources": ["alhadath"]}, "logical_date": None,
            "note": "x" * 200_000}
    response = await _post(client, body)
    assert response.status_code == 200 and response.json()["created"] == body


@pytest.mark.anyio
async def test_a_browser_session_is_checked_as_a_token_is(client):
    """The UI's trigger form authenticates with its cookie: the details lookup must carry it, or it is refused
    and the unknown key goes through."""
    async with client:
        response = await client.post("/api/v2/dags/news_ingest/dagRuns", json={"conf": {"sources_fle": "x"}},
                                     headers={"Cookie": "_token=good"})
    assert response.status_code == 400
    assert "sources_fle" in response.json()["detail"]


@pytest.mark.anyio
async def test_a_caller_who_may_not_read_the_dag_gets_airflows_own_answer(client):
    # the details call is made with the caller's credentials; refused, the request goes on to Airflow's handler
    # (which checks the same credentials: here the stand-in simply creates)
    response = await _post(client, {"conf": {"sources_fle": "x"}}, token="bad")
    assert response.status_code == 200


@pytest.fixture
def anyio_backend():
    return "asyncio"
