"""One whole news_ingest run through Airflow against a server that misbehaves in every way we know: it must finish
in bounded time and memory, load exactly the good pages and account for every URL with the right reason."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsflow.warehouse import connect
from tests.support.faultserver import ENCODED_TEXT, FaultServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

GOOD = ["/ok/1", "/ok/2", "/etag", "/retry-after", "/gzip-ok", "/deflate", "/redirect-ok", "/no-content-type",
        "/jsonld-bomb", "/refresh/shell", "/refresh/reload", "/refresh/ie-comment", "/cookie-bounce"] + [
    f"/enc/{encoding}/{where}" for encoding in sorted(ENCODED_TEXT)
    for where in ("header", "meta", "none", "default-header")
]
BAD = {
    "/status/404": ("failed", "http_404"),
    "/status/500": ("failed", "http_500"),
    "/always-503": ("failed", "http_503"),
    "/stall-headers": ("failed", "timeout"),
    "/stall-body": ("failed", "timeout"),
    "/trickle": ("failed", "timeout"),
    "/reset": ("failed", "connection_error"),
    "/gzip-bomb": ("failed", "too_large"),
    "/endless": ("failed", "too_large"),
    "/gzip-truncated": ("failed", "truncated_body"),
    "/gzip-corrupt": ("failed", "corrupt_encoding"),
    "/redirect-loop": ("failed", "too_many_redirects"),
    "/redirect-private": ("skipped", "refused_address"),
    "/redirect-metadata": ("skipped", "refused_address"),
    "/redirect-localhost?port=1": ("skipped", "refused_address"),
    "/redirect-file": ("skipped", "bad_scheme_redirect"),
    "/refresh/loop": ("failed", "too_many_redirects"),
    "/wall/cloudflare-503": ("failed", "blocked:cloudflare"),
    "/gate/consent-story": ("failed", "blocked:gate"),
    "/refresh/private": ("skipped", "refused_address"),
    "/pdf": ("skipped", "not_html"),
    "/json": ("skipped", "not_html"),
    "/random-bytes": ("skipped", "not_html"),
    "/private/secret": ("skipped", "robots_disallowed"),
    "/ok/1?utm_source=feed&utm_medium=rss": ("skipped", "duplicate"),
    "/empty": ("rejected", None),
    "/link-farm": ("failed", "extract_timeout"),
}
# links that redirect: each article is stored where it landed, under that page's URL
LANDED = {"/redirect-ok": "/ok/after-redirect", "/refresh/shell": "/ok/after-refresh"}
NON_HTTP = {"file:///etc/passwd": ("skipped", "bad_scheme"), "gopher://example.com/": ("skipped", "bad_scheme")}


def test_hostile_server_run(tmp_path, airflow_home):
    with FaultServer() as server:
        urls = [server.url(p) for p in GOOD] + [server.url(p) for p in BAD] + list(NON_HTTP)
        (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (tmp_path / "sources.yaml").write_text(
            "settings:\n"
            f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
            "  min_host_interval_s: 0\n  host_concurrency: 8\n  connect_timeout_s: 2\n  read_timeout_s: 2\n"
            "  total_timeout_s: 4\n  max_tries: 3\n  backoff_base_s: 0.1\n  backoff_max_s: 2\n  max_bytes: 3000000\n"
            # the link farm takes ~16 CPU s; the first page ~1.3 (the extractor's lazy set-up)
            "  extract_time_limit_s: 2.5\n"
            "sources:\n  - {name: hostile, kind: urls, urls_file: urls.txt, timezone: Europe/London}\n",
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
            "NEWSFLOW_WAREHOUSE": str(tmp_path / "data" / "warehouse"),
        }
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "newsflow.cli", "ingest", "--sources", str(tmp_path / "sources.yaml")],
            env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
        )
        wall = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    con = connect(tmp_path / "data" / "warehouse", read_only=True)
    rows = con.execute("select url, outcome, reason from fetch_log where url_kind = 'article'").fetchall()
    got = {url.replace(server.base, ""): (outcome, reason) for url, outcome, reason in rows}
    assert len(rows) == len(urls)  # exactly one row per discovered URL
    for path in GOOD:
        assert got[path][0] == "loaded", (path, got[path])
    for path, (outcome, reason) in {**BAD, **NON_HTTP}.items():
        assert got[path][0] == outcome, (path, got[path])
        if reason:
            assert got[path][1] == reason, (path, got[path])
    loaded = {u.replace(server.base, "") for (u,) in con.execute("select url from articles").fetchall()}
    assert loaded == {LANDED.get(p, p) for p in GOOD}
    landed = con.execute("select url, final_url from fetch_log where url_kind = 'article' and outcome = 'loaded' "
                         "and final_url is not null").fetchall()
    assert {u.replace(server.base, ""): f.replace(server.base, "") for u, f in landed} == LANDED
    aliases = con.execute("select alias_url, a.url from article_aliases join articles as a using (article_id)")
    assert {u.replace(server.base, ""): f.replace(server.base, "") for u, f in aliases.fetchall()} == LANDED
    titles = {t for (t,) in con.execute("select title from articles").fetchall()}
    for _lang, title, _text in ENCODED_TEXT.values():
        assert title in titles  # every legacy encoding decoded right, whatever declared it
    assert con.execute("select status from runs").fetchall() == [("succeeded",)]
    # bounded: the report for issue 3 quotes these numbers
    print(json.dumps({"hostile_run_wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb)}))
    assert peak_mb < 1536
