"""The offline dashboard: rendered from small warehouses (and an empty one), self-contained (plotly.js inline, no
network), drawn for real by headless chromium, and served by the Airflow UI plugin's FastAPI app."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsflow.report import build_report
from newsflow.warehouse import connect, open_for_write
from tests.unit.test_quality_checks import NOW, make_warehouse

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    path = make_warehouse(root / "w")
    con = connect(path)
    con.execute("insert into rejected_articles (run_id, source, seq, url, reasons, rejected_at) values "
                "('r2', 'alpha', 0, 'http://alpha.test/bad', ['body_too_short'], now()), "
                "('r2', 'alpha', 1, 'http://alpha.test/bad2', ['future_date', 'bad_language_code'], now())")
    con.execute("insert into validation_results values ('r2', 'alpha', 'expect_x', 'body', true, 10, 0, 0, null, ?),"
                "('r2', 'alpha', 'expect_y', 'url', false, 10, 1, 10, null, ?)", [NOW, NOW])
    con.execute("insert into quality_checks values ('q1', ?, 'freshness_published_hours', 'beta', 144, '<= 48h', "
                "'fail', null), ('q1', ?, 'null_rate_title', '*', 0, '<= 0.05', 'pass', null)", [NOW, NOW])
    con.close()
    return path


@pytest.fixture(scope="module")
def dashboard(warehouse, tmp_path_factory):
    return build_report(tmp_path_factory.mktemp("out") / "dashboard.html", warehouse=warehouse, now=NOW)


def assert_self_contained(text: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text, flags=re.I)
    for tag in tags:
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag, flags=re.I), tag
    assert "cdn.plot.ly" not in text.split("</head>")[-1]
    assert text.count("<script") >= 1 and len(text) > 3_000_000  # plotly.js (several MB) is inline


def test_dashboard_is_self_contained_and_complete(dashboard):
    text = dashboard.read_text(encoding="utf-8")
    assert_self_contained(text)
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:2000] in text
    for div in ("coverage", "heatmap", "term", "validation", "rejections", "fetch"):
        assert f'id="{div}"' in text, div
    assert "Term trend: election" in text  # the most frequent long word of the titles
    assert "status-fail" in text and "freshness_published_hours" in text
    assert "body_too_short" in text and "future_date" in text
    assert "gap: zero" in text  # beta's silent days are marked on the heatmap
    assert "no data" not in text


def test_term_option_and_cli(warehouse, tmp_path):
    out = tmp_path / "d.html"
    result = subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "report", "--output", str(out), "--term", "Results",
         "--warehouse", str(warehouse)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )
    assert result.returncode == 0, result.stderr
    assert "wrote dashboard" in result.stdout
    assert "Term trend: Results" in out.read_text(encoding="utf-8")


def test_empty_warehouse_says_no_data(tmp_path):
    path = tmp_path / "empty"
    open_for_write(path).close()
    text = build_report(tmp_path / "e.html", warehouse=path, now=NOW).read_text(encoding="utf-8")
    assert_self_contained(text)
    assert text.count("no data") >= 6
    assert "0 articles from 0 sources" in text


def test_report_opens_read_only(warehouse, tmp_path):
    # a writer holding the lake open does not stop the report (readers attach read-only)
    con = connect(warehouse)
    try:
        con.execute("begin transaction")
        con.execute("delete from quality_checks")
        build_report(tmp_path / "r.html", warehouse=warehouse, now=NOW)
        con.execute("rollback")
    finally:
        con.close()


def test_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "x.html", warehouse=tmp_path / "nope")


# --- the Airflow UI plugin ---------------------------------------------------------------------------------------


@pytest.fixture
def client(dashboard, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from newsflow import ui_plugin

    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    shutil.copy(dashboard, data / "reports" / "dashboard.html")
    (data / "data_docs").mkdir()
    (data / "data_docs" / "index.html").write_text("<html>GX data docs</html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(data))
    ui_plugin.app.dependency_overrides[ui_plugin.require_user] = lambda: None
    yield TestClient(ui_plugin.app)
    ui_plugin.app.dependency_overrides.clear()


def test_plugin_serves_dashboard_and_data_docs(client, dashboard):
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == dashboard.read_text(encoding="utf-8")
    docs = client.get("/data_docs/index.html")
    assert docs.status_code == 200 and "GX data docs" in docs.text
    assert client.get("/data_docs/../../secret.txt").status_code == 404
    assert client.get("/data_docs/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get("/health").json()["dashboard"] is True


def test_plugin_before_first_run(client, tmp_path):
    (tmp_path / "data" / "reports" / "dashboard.html").unlink()
    response = client.get("/dashboard")
    assert response.status_code == 404 and "news_quality" in response.text


def test_plugin_requires_an_airflow_user():
    from fastapi.testclient import TestClient

    from newsflow import ui_plugin

    client = TestClient(ui_plugin.app)
    # a browser is sent to Airflow's login page; an API client with a bad token gets an error, not a page
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/dashboard", headers={"Authorization": "Bearer x"}).status_code in (401, 403)


def test_plugin_registration():
    from airflow.plugins_manager import AirflowPlugin

    from newsflow.ui_plugin import NewsflowUIPlugin

    assert issubclass(NewsflowUIPlugin, AirflowPlugin)
    (app,) = NewsflowUIPlugin.fastapi_apps
    assert app["url_prefix"] == "/newsflow" and app["name"] == "newsflow"
    hrefs = {v["href"] for v in NewsflowUIPlugin.external_views}
    assert hrefs == {"/newsflow/dashboard", "/newsflow/data_docs/index.html"}
    assert all(v["url_route"] for v in NewsflowUIPlugin.external_views)


# --- headless chromium ---------------------------------------------------------------------------------------------


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=180,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y --no-install-recommends chromium)")
def test_dashboard_renders_in_headless_chromium(dashboard, tmp_path):
    result = chromium(["--dump-dom", dashboard.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-3000:]
    dom = result.stdout
    for div in ("coverage", "heatmap", "term", "validation", "rejections", "fetch"):
        start = dom.index(f'id="{div}"')
        assert 'class="main-svg"' in dom[start:start + 20000], f"{div} was not drawn"
    errors = [line for line in result.stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]
    assert not errors, errors
    shot = tmp_path / "dashboard.png"
    result = chromium(["--window-size=1400,2400", f"--screenshot={shot}", dashboard.as_uri()], tmp_path / "profile2")
    assert result.returncode == 0 and shot.stat().st_size > 50_000
    if os.environ.get("NEWSFLOW_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "dashboard.png")


MOUNTED = r"""
import json, os, sys
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient

client = TestClient(create_app())
token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
anonymous = client.get("/newsflow/dashboard", follow_redirects=False)
with_cookie = client.get("/newsflow/dashboard", cookies={"_token": token})
with_bearer = client.get("/newsflow/data_docs/index.html", headers={"Authorization": "Bearer " + token})
print("RESULT " + json.dumps([[anonymous.status_code, anonymous.headers.get("location")], with_cookie.status_code,
                              len(with_cookie.text),
                              with_bearer.status_code, with_bearer.text]))
"""


def test_plugin_is_mounted_by_the_airflow_api_server(client, dashboard, tmp_path, airflow_home):
    """The real api-server app (plugins loaded from plugins/) serves the dashboard to an authenticated user only,
    and sends a browser without a session to Airflow's login page."""
    from newsflow.airflow_runner import airflow_env

    env = airflow_env({"AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}"})
    result = subprocess.run([sys.executable, "-c", MOUNTED], env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    import json

    anonymous, cookie, size, bearer, docs = json.loads(lines[-1][len("RESULT "):])
    assert anonymous[0] == 303 and anonymous[1].startswith("/auth/login?next=")
    assert cookie == 200 and size == len(dashboard.read_text(encoding="utf-8"))
    assert bearer == 200 and "GX data docs" in docs
