"""Airflow 3 UI plugin: serves the newsflow dashboard and the Great Expectations Data Docs inside the Airflow UI.

* `fastapi_apps`: a FastAPI app mounted by the api-server at `/newsflow`:
  `/newsflow/dashboard` (the latest `<data dir>/reports/dashboard.html` written by news_quality),
  `/newsflow/data_docs/...` (the static Data Docs site in `<data dir>/data_docs/`), `/newsflow/health`.
* `fastapi_root_middlewares`: `conf_guard.RefuseUnknownConf`, a 400 for a trigger whose conf has a key a newsflow
  DAG declares no param for (before the run exists).
* `external_views`: two entries in the UI's navigation ("Browse") that show those pages in an iframe.

Pages require an authenticated Airflow user (the UI's `_token` cookie or an `Authorization: Bearer` JWT), the
same check the Airflow REST API uses. A browser without a session (no bearer header) is sent to Airflow's login
page, which brings it back here; API clients get the 401. Files are read at request time from NEWSFLOW_DATA_DIR, so the api-server
needs the same data folder as the workers (a shared volume in docker-compose).

Airflow's plugin loader imports this file in every component: only light imports at module level.
"""

from __future__ import annotations

from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from newsflow.conf_guard import RefuseUnknownConf

URL_PREFIX = "/newsflow"


async def require_user(request: Request) -> None:
    """Airflow's own authentication (JWT from the UI cookie or a bearer header)."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPBearer

    credentials = await HTTPBearer(auto_error=False)(request)
    await get_user(request, None, credentials)


def login_url(next_url: str) -> str:
    """Airflow's login page (whichever auth manager is configured), coming back to `next_url` afterwards."""
    from airflow.api_fastapi.app import create_auth_manager

    return create_auth_manager().get_url_login(next_url=next_url)


async def redirect_browsers_to_login(request: Request, exc: HTTPException):
    # require_user only authenticates: 401 is no token, 403 an expired or invalid one (an old UI cookie)
    if exc.status_code in (401, 403) and request.method in ("GET", "HEAD") and "authorization" not in request.headers:
        return RedirectResponse(login_url(str(request.url)), status_code=303)
    from fastapi.exception_handlers import http_exception_handler

    return await http_exception_handler(request, exc)


def _data_dir() -> Path:
    from newsflow.config import data_dir

    return data_dir()


def dashboard_path() -> Path:
    return _data_dir() / "reports" / "dashboard.html"


def data_docs_root() -> Path:
    return _data_dir() / "data_docs"


def _missing(what: str, hint: str) -> HTMLResponse:
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>newsflow</title></head>"
        "<body style='font-family:system-ui,sans-serif;padding:2em'>"
        f"<h2>No {what} yet</h2><p>{hint}</p></body></html>"
    )
    return HTMLResponse(body, status_code=404)


def create_app() -> FastAPI:
    app = FastAPI(title="newsflow", description="newsflow dashboard and Data Docs", docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[Depends(require_user)])
    app.add_exception_handler(HTTPException, redirect_browsers_to_login)

    @app.get("/", include_in_schema=False)
    def index(request: Request):
        return RedirectResponse(url=str(request.url_for("dashboard")))

    @app.get("/health")
    def health() -> dict:
        path = dashboard_path()
        return {"dashboard": path.exists(), "data_docs": (data_docs_root() / "index.html").exists(),
                "dashboard_mtime": path.stat().st_mtime if path.exists() else None}

    # HEAD too: an uptime monitor's probe got 405 from a page a browser opens
    @app.api_route("/dashboard", methods=["GET", "HEAD"], name="dashboard")
    def dashboard():
        path = dashboard_path()
        if not path.is_file():
            return _missing("dashboard", "Run the <code>news_quality</code> DAG (it runs after every ingest) or "
                                         "<code>newsflow report --output data/reports/dashboard.html</code>.")
        return FileResponse(path, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    @app.get("/data_docs", include_in_schema=False)
    def data_docs_index(request: Request):
        return RedirectResponse(url=str(request.url_for("data_docs", path="index.html")))

    @app.api_route("/data_docs/{path:path}", methods=["GET", "HEAD"], name="data_docs")
    def data_docs(path: str):
        root = data_docs_root().resolve()
        target = (root / (path or "index.html")).resolve()
        if not target.is_relative_to(root):
            raise HTTPException(status_code=404)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            if path in ("", "index.html"):
                return _missing("Data Docs", "Run the <code>news_quality</code> DAG to validate the warehouse.")
            raise HTTPException(status_code=404)
        return FileResponse(target, headers={"Cache-Control": "no-cache"})

    return app


app = create_app()


class NewsflowUIPlugin(AirflowPlugin):
    name = "newsflow"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "newsflow"}]
    fastapi_root_middlewares = [{"middleware": RefuseUnknownConf, "name": "newsflow: refuse unknown conf keys"}]
    external_views = [
        {
            "name": "News dashboard",
            "href": f"{URL_PREFIX}/dashboard",
            "url_route": "newsflow-dashboard",
            "destination": "nav",
            "category": "browse",
        },
        {
            "name": "Data Docs (GX)",
            "href": f"{URL_PREFIX}/data_docs/index.html",
            "url_route": "newsflow-data-docs",
            "destination": "nav",
            "category": "browse",
        },
    ]
