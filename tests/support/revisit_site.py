"""A small loopback newsroom for revisit tests: articles published an hour ago or years ago, with or without an
ETag, a page validation rejects, a page that fails once; it counts every request per path.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{published}"></head>
<body><article><h1>{title}</h1>
{paragraphs}
</article></body></html>"""

TEXT = ("The harbour authority said on Tuesday that the new ferry line would start in spring, after a year of "
        "delays caused by a shortage of parts and a long dispute over the terminal's design. ")


class RevisitSite:
    """`with RevisitSite() as site:`; paths (the first part says how the page behaves, the rest names it):
    /fresh/<name>  published an hour before the site started, no validators
    /old/<name>    published in 2018, no validators
    /etag/<name>   published an hour before the site started, strong ETag honoured with 304
    /short/<name>  dated, but too short to pass validation (rejected)
    /flaky/<name>  500 on its first request, then a fresh article
    /go/<path>     a click-tracker: 302 to /<path>
    /feed.xml      an RSS feed of /fresh/a and /old/b, with an ETag honoured with 304
    /sitemap-index.xml  an index of /sitemap-2018.xml (/old/b) and /sitemap-now.xml (/fresh/a), all three with ETags
    `edition` changes every body (a new version of each article); `moved[path] = other` makes a path answer 301 to
    another; `gone[path] = status` makes it answer that status (404, 410, 503); `hits` counts requests per path."""

    def __init__(self):
        self.started = datetime.now(UTC)
        self.edition = 1
        self.hits: Counter = Counter()
        self.moved: dict[str, str] = {}
        self.gone: dict[str, int] = {}
        self.conditional: Counter = Counter()  # requests that carried If-None-Match
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    def __enter__(self) -> RevisitSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def article_hits(self) -> int:
        return sum(n for path, n in self.hits.items() if path != "/robots.txt")

    def feed(self) -> tuple[int, bytes, dict]:
        items = "".join(f"<item><title>{p}</title><link>{self.url(p)}</link></item>" for p in ("/fresh/a", "/old/b"))
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'
        return 200, body.encode(), {"Content-Type": "application/rss+xml", "ETag": '"feed-1"'}

    def sitemap(self, path: str) -> tuple[int, bytes, dict]:
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        if path == "/sitemap-index.xml":
            children = "".join(f"<sitemap><loc>{self.url(p)}</loc></sitemap>" for p in ("/sitemap-2018.xml",
                                                                                     "/sitemap-now.xml"))
            body = f'<?xml version="1.0"?><sitemapindex xmlns="{ns}">{children}</sitemapindex>'
        else:
            page = "/old/b" if path == "/sitemap-2018.xml" else "/fresh/a"
            body = f'<?xml version="1.0"?><urlset xmlns="{ns}"><url><loc>{self.url(page)}</loc></url></urlset>'
        return 200, body.encode(), {"Content-Type": "application/xml", "ETag": f'"{path}-1"'}

    def page(self, path: str) -> tuple[int, bytes, dict]:
        if path == "/feed.xml":
            return self.feed()
        if path.startswith("/sitemap-"):
            return self.sitemap(path)
        if path in self.gone:
            return self.gone[path], b"<html><body>Not here</body></html>", {}
        if path.startswith("/go/"):
            return 302, b"", {"Location": path.removeprefix("/go")}
        if path in self.moved:
            return 301, b"", {"Location": self.url(self.moved[path])}
        kind, _, name = path.strip("/").partition("/")
        fresh = (self.started - timedelta(hours=1)).isoformat(timespec="seconds")
        published = "2018-05-21T12:00:00+00:00" if kind == "old" else fresh
        repeat = 1 if kind == "short" else 6
        if kind not in ("fresh", "old", "etag", "short", "flaky") or not name:
            return 404, b"not found", {}
        if kind == "flaky" and self.hits[path] == 1:
            return 500, b"try again", {}
        title = f"Ferry line {name} (edition {self.edition})"
        paragraphs = "\n".join(f"<p>{i + 1}. {TEXT * (1 if kind == 'short' else 2)} ({name} {i + 1})</p>"
                               for i in range(repeat))
        body = PAGE.format(title=title, published=published, paragraphs=paragraphs).encode()
        if kind == "short":
            body = body.replace(TEXT.encode(), b"Short note.")
        headers = {}
        if kind == "etag":
            headers["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        return 200, body, headers

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                site.hits[path] += 1
                if path == "/robots.txt":
                    status, body, headers = 200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"}
                else:
                    status, body, headers = site.page(path)
                    headers.setdefault("Content-Type", "text/html; charset=utf-8")
                    if self.headers.get("If-None-Match"):
                        site.conditional[path] += 1
                        if self.headers["If-None-Match"] == headers.get("ETag"):
                            status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
