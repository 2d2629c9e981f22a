"""The newsflow pages in the Airflow UI: a browser without a session is sent to Airflow's login page (and back),
an API client without a valid token gets an error. Real HTTP requests to the plugin's FastAPI app; a valid JWT
opening the dashboard is tested against the running api-server in tests/integration/test_service.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data" / "reports").mkdir(parents=True)
    (tmp_path / "data" / "reports" / "dashboard.html").write_text("<html>newsflow dashboard</html>")
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    from newsflow.ui_plugin import URL_PREFIX, create_app

    server = FastAPI()  # mounted as the api-server mounts plugin apps
    server.mount(URL_PREFIX, create_app())
    return TestClient(server, base_url="http://127.0.0.1:8080")


def test_browser_without_session_goes_to_login(client):
    response = client.get("/newsflow/dashboard", follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path.endswith("/login")
    assert parse_qs(target.query)["next"] == ["http://127.0.0.1:8080/newsflow/dashboard"]


def test_a_head_request_is_answered_as_a_get_is(client):
    """An uptime monitor's HEAD got 405 Method Not Allowed from pages a browser opens."""
    for path in ("/newsflow/dashboard", "/newsflow/data_docs/index.html"):
        response = client.head(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert urlsplit(response.headers["location"]).path.endswith("/login")


def test_browser_with_an_expired_cookie_goes_to_login(client):
    client.cookies.set("_token", "not-a-token")
    response = client.get("/newsflow/data_docs/index.html", follow_redirects=False)
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path.endswith("/login")


def test_api_client_with_a_bad_token_gets_an_error_not_a_redirect(client):
    response = client.get("/newsflow/dashboard", headers={"Authorization": "Bearer not-a-token"}, follow_redirects=False)
    assert response.status_code in (401, 403)
    assert response.headers["content-type"].startswith("application/json")
