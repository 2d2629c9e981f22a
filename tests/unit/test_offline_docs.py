"""Offline Data Docs: the vendored assets, the URL rewriting on a fake site at two depths, and (with chromium) a
real Data Docs site rendered with the network cut off."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from newsflow import offline_docs as od

GX_TEMPLATES = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"
CHROMIUM = "/usr/bin/chromium"

# tag lines as GX 1.24 templates (page.j2, index_page.j2, js_script_imports.j2, top_navbar.j2) render them
HEAD = """\
    <link rel="stylesheet" href="https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css">
    <link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
    <link rel="stylesheet" type="text/css" href="https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css">
    <link rel="stylesheet" type="text/css" href="https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css">
    <link rel="stylesheet" type="text/css" href="https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css">
    <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css" />
    <style>
  .navbar-brand a {
    background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') 0 0 no-repeat;
  }
    </style>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-embed@6"></script>
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css">

<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q" crossorigin="anonymous"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM" crossorigin="anonymous"></script>
<script src="https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js"></script>
<script src="https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js"></script>
<script src="https://cdn.example.org/not-vendored.js"></script>
<link rel="shortcut icon" href="./static/images/favicon.ico" type="image/x-icon"/>
"""
BODY = """\
<a href="https://greatexpectations.io">Great Expectations</a>
          <img
            class="NO-CACHE"
            src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261120T120000.000000Z&amp;dataContextId=1234"
            alt="Great Expectations"
            style="width: auto; height: 50px"
          />
"""
PAGE = "<!DOCTYPE html>\n<html>\n<head>\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
LOAD_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
LOAD_URL = re.compile(r"""\s(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)["']?\s*\)""")


def load_urls(html: str) -> list[str]:
    return [m.group(1) for tag in LOAD_TAG.findall(html) for m in LOAD_URL.finditer(tag)]


def assert_offline(docs: Path) -> int:
    """No remote URL in a script/link/img tag or CSS url() of any page; every local one resolves. Returns the
    number of _vendor references checked."""
    checked = 0
    for page in docs.rglob("*.html"):
        if "_vendor" in page.parts:
            continue
        html = page.read_text(encoding="utf-8")
        urls = load_urls(html) + CSS_URL.findall(html)
        remote = [u for u in urls if od.is_remote(u)]
        assert not remote, (page, remote)
        assert "integrity=" not in html and "crossorigin" not in html
        for url in urls:
            if url.startswith(("data:", "#")):
                continue
            target = (page.parent / unquote(url.split("?")[0])).resolve()
            assert target.is_file(), (page, url)
            if "_vendor" in url:
                checked += 1
                assert target.is_relative_to((docs / "_vendor").resolve())
    return checked


# --- the vendored files ------------------------------------------------------------------------------------------

def test_vendor_tree_is_small_and_licensed():
    files = [p for p in od.VENDOR_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2_500_000
    for rel in set(od.CDN_FILES.values()) | {od.LOGO}:
        assert (od.VENDOR_DIR / rel).is_file(), rel
    packages = {Path(rel).parts[:2] for rel in od.CDN_FILES.values()}  # (package, version)
    for package in packages:
        assert list((od.VENDOR_DIR.joinpath(*package)).glob("LICENSE*")), package
    # font-awesome: all.min.css and the woff2 webfonts it points at (first in every src list; browsers stop there)
    fa = od.VENDOR_DIR / "fontawesome-free" / "6.6.0"
    woff2 = set(re.findall(r"url\(\.\./webfonts/([\w-]+\.woff2)\)", (fa / "css" / "all.min.css").read_text()))
    assert woff2 and woff2 == {p.name for p in (fa / "webfonts").iterdir()}


@pytest.mark.parametrize("rel, sri", [
    ("popper.js/1.12.9/dist/umd/popper.min.js", "ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q"),
    ("bootstrap/4.3.1/dist/js/bootstrap.min.js", "JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM"),
])
def test_vendored_files_match_the_sri_hashes_gx_pins(rel, sri):
    digest = hashlib.sha384((od.VENDOR_DIR / rel).read_bytes()).digest()
    assert base64.b64encode(digest).decode() == sri


def test_every_cdn_url_in_the_gx_templates_is_vendored():
    urls = set()
    for template in GX_TEMPLATES.glob("*.j2"):
        urls.update(u for u in load_urls(template.read_text(encoding="utf-8")) if od.is_remote(u))
    assert len(urls) >= 16  # GX 1.24 templates: 9 scripts + 7 stylesheets (two filter-control css variants)
    missing = sorted(u for u in urls if od.vendored_file(u) is None)
    assert not missing, f"GX templates reference CDN files that are not vendored: {missing}"
    assert od.vendored_file("https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1") \
        == od.LOGO


# --- the rewriting ---------------------------------------------------------------------------------------------

def make_site(root: Path) -> list[Path]:
    pages = [root / "index.html", root / "validations" / "suite" / "run" / "20261120T120000Z" / "batch.html"]
    for page, favicon in zip(pages, ("./static", "../../../static"), strict=True):  # GX's favicon.j2 is one
        page.parent.mkdir(parents=True, exist_ok=True)                           # level short on validations
        page.write_text(PAGE.format(head=HEAD.replace("./static", favicon), body=BODY), encoding="utf-8")
    (root / "static" / "images").mkdir(parents=True)
    (root / "static" / "images" / "favicon.ico").write_bytes(b"\0")
    styles = root / "static" / "styles"
    styles.mkdir()
    (styles / "site.css").write_text(
        ".x { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png'); }"
        "\n.y { background: url(data:image/png;base64,AAAA); }\n",
        encoding="utf-8",
    )
    return pages


def test_make_offline_rewrites_pages_at_two_depths(tmp_path):
    docs = tmp_path / "data_docs"
    index, deep = make_site(docs)
    per_page = 6 + 1 + 9 + 1 + 1 + 1  # links, style url(), scripts (+1 unknown), font-awesome link, img
    assert od.make_offline(docs) == 2 * per_page + 1 + 1  # + the site stylesheet + the deep favicon
    assert assert_offline(docs) == 2 * (per_page - 1)  # every reference but the dropped unknown script
    index_html, deep_html = index.read_text(), deep.read_text()
    assert 'src="_vendor/jquery/3.7.1/dist/jquery.min.js"' in index_html
    assert 'src="../../../../_vendor/jquery/3.7.1/dist/jquery.min.js"' in deep_html
    assert "url('../../../../_vendor/newsflow/logo.svg')" in deep_html
    assert 'src="../../../../_vendor/newsflow/logo.svg"' in deep_html and "dataContextId" not in deep_html
    assert "not-vendored.js" not in index_html and "<script></script>" not in index_html
    assert '<a href="https://greatexpectations.io">' in index_html  # a navigation link, not a load
    assert 'href="./static/images/favicon.ico"' in index_html  # local references are left alone...
    assert 'href="../../../../static/images/favicon.ico"' in deep_html  # ...unless they dangle
    assert index_html.count("<script") == 9
    css = (docs / "static" / "styles" / "site.css").read_text()
    assert "url('../../_vendor/newsflow/logo.svg')" in css and "url(data:image/png;base64,AAAA)" in css
    assert (docs / "_vendor" / "bootstrap" / "4.3.1" / "LICENSE").is_file()
    # the font-awesome stylesheet's own relative url()s resolve inside the copied tree
    fa_css = docs / "_vendor" / "fontawesome-free" / "6.6.0" / "css" / "all.min.css"
    for url in set(re.findall(r"url\((\.\./webfonts/[\w-]+\.woff2)\)", fa_css.read_text())):
        assert (fa_css.parent / url).is_file()
    # idempotent
    assert od.make_offline(docs) == 0
    assert index.read_text() == index_html


def test_make_offline_needs_a_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        od.make_offline(tmp_path / "missing")


# --- a real site in a real browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_docs(tmp_path_factory) -> Path:
    from newsflow import quality_checks as qc
    from tests.unit.test_quality_checks import NOW, make_warehouse

    root = tmp_path_factory.mktemp("offline")
    warehouse = make_warehouse(root / "w", days=10)
    qc.run_quality_checks("q1", warehouse=warehouse, data_dir=root / "data", now=NOW)
    index = qc.build_data_docs(root / "data")  # make_offline runs inside
    return index.parent


def test_build_data_docs_output_is_offline(real_docs):
    pages = [p for p in real_docs.rglob("*.html") if "_vendor" not in p.parts]
    assert len(pages) >= 3  # index, expectation suite, validation result
    assert assert_offline(real_docs) >= 3 * 17


class Devtools:
    """Just enough of the Chrome DevTools protocol (over `websockets`) to load a page and collect its events."""

    def __init__(self, profile: Path):
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--host-resolver-rules=MAP * ~NOTFOUND",  # any attempt to reach the network fails loudly
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                 "about:blank"]
        self.proc = subprocess.Popen([CHROMIUM, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.skip("chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        from websockets.sync.client import connect

        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None).__enter__()
        self.ids = 0
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self.ids += 1
        message = {"id": self.ids, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == self.ids:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def drain(self, seconds: float):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                break

    def load(self, url: str) -> tuple[str, list[dict]]:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Log", "Runtime"):
            self.send(f"{domain}.enable", session)
        self.events.clear()
        self.send("Page.navigate", session, url=url)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            assert time.monotonic() < deadline, "page did not load"
            self.drain(0.2)
        self.drain(1.5)  # late loads (web fonts, images)
        return session, [e for e in self.events if e.get("sessionId") == session]

    def evaluate(self, session: str, expression: str):
        return self.send("Runtime.evaluate", session, expression=expression, returnByValue=True)["result"]["value"]

    def close(self):
        if getattr(self, "ws", None):
            self.ws.__exit__(None, None, None)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_real_data_docs_render_in_chromium_without_failed_loads(real_docs, tmp_path):
    """`--dump-dom` alone cannot show failed loads (chromium logs only console.* calls to stderr, not "Failed to
    load resource"), so the page is loaded over the DevTools protocol with the same headless flags, and every
    failed request, console error, uncaught exception and non-file request is collected."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed: the browser render check needs it")
    pytest.importorskip("websockets.sync.client", reason="the DevTools protocol client needs websockets>=12")
    validation = next(p for p in (real_docs / "validations").rglob("*.html"))
    browser = Devtools(tmp_path / "profile")
    try:
        for page in (real_docs / "index.html", validation):
            session, events = browser.load(page.as_uri())
            failed = [e["params"] for e in events if e.get("method") == "Network.loadingFailed"]
            requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
            errors = [e["params"]["entry"] for e in events
                      if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
            errors += [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"
                       and e["params"]["type"] == "error"]
            exceptions = [e["params"]["exceptionDetails"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
            assert not failed, (page, failed)
            assert not errors, (page, errors)
            assert not exceptions, (page, exceptions)
            remote = [u for u in requests if not u.startswith(("file:", "data:"))]
            assert not remote, (page, remote)
            assert any("/_vendor/bootstrap/4.3.1/" in u for u in requests), requests
            # the libraries are there and did their work
            assert browser.evaluate(session, "typeof jQuery.fn.bootstrapTable === 'function' && "
                                             "typeof jQuery.fn.datepicker === 'function' && "
                                             "typeof jQuery.fn.tooltip === 'function' && typeof Popper === 'function' "
                                             "&& typeof vegaEmbed === 'function'")
            assert browser.evaluate(session, "document.querySelectorAll('.bootstrap-table').length") >= 1
            assert browser.evaluate(session, "document.querySelector('nav img').naturalWidth") > 0
    finally:
        browser.close()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
