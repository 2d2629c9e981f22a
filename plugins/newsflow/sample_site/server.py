"""Loopback HTTP server for the bundled multilingual sample news site.
Serves site/ with feed-friendly headers and rewrites {{BASE}} to the address clients used."""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import signal
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SITE_DIR: Path = Path(__file__).resolve().parent / "site"

PLACEHOLDER = b"{{BASE}}"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".json": "application/json",
}
# feed readers and the discovery code sniff these names, so they get their specific types
NAMED_TYPES = {
    "rss.xml": "application/rss+xml",
    "atom.xml": "application/atom+xml",
}
TEXT_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml", "application/json")


def _content_type(path: Path) -> str:
    return NAMED_TYPES.get(path.name) or CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _resolve(url_path: str) -> Path | None:
    """Map a request path to a file under SITE_DIR, or None if there is no such file."""
    rel = url_path.lstrip("/")
    candidate = SITE_DIR / rel
    try:
        if candidate.is_dir():
            candidate = candidate / "index.html"
        elif not candidate.suffix and not candidate.is_file():
            # articles like /dailyherald/news/some-slug are stored with an .html suffix
            candidate = candidate.with_name(candidate.name + ".html")
        candidate = candidate.resolve()
        # symlinks or odd encodings must not escape the site even when '..' was not spelled out
        if not candidate.is_relative_to(SITE_DIR.resolve()) or not candidate.is_file():
            return None
    except (OSError, ValueError):
        # over-long names and the like are simply not pages of this site
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    server_version = "newsflow-sample-site/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        # tests and DAG runs start this server many times; access logs would drown their output
        return

    def _serve(self, send_body: bool) -> None:
        raw_path = urlsplit(self.path).path
        decoded = unquote(raw_path)
        if ".." in decoded.split("/") or "\\" in decoded or "\x00" in decoded:
            self._plain(HTTPStatus.BAD_REQUEST, "bad path\n", send_body)
            return
        live = getattr(self.server, "live", None)
        if live is not None and (decoded == "/live" or decoded.startswith("/live/")):
            self._serve_live(live, decoded, send_body)
            return
        target = _resolve(decoded)
        if target is None:
            self._plain(HTTPStatus.NOT_FOUND, "not found\n", send_body)
            return

        ctype = _content_type(target)
        data = target.read_bytes()
        if ctype.startswith(TEXT_TYPES):
            data = data.replace(PLACEHOLDER, self._base().encode("ascii"))
        self._send_validated(ctype, data, int(target.stat().st_mtime), send_body)

    def _serve_live(self, live, path: str, send_body: bool) -> None:
        rendered = live.render(path, self._base())
        if rendered is None:
            self._plain(HTTPStatus.NOT_FOUND, "not found\n", send_body)
            return
        ctype, data = rendered
        self._send_validated(ctype, data, None, send_body)

    def _send_validated(self, ctype: str, data: bytes, mtime: int | None, send_body: bool) -> None:
        """200 with an ETag (and Last-Modified when the document has an mtime), or 304 when the client's validator
        matches. The body depends on the Host the client used, so the ETag hashes what is actually sent."""
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        validators = [("ETag", etag)]
        if mtime is not None:
            validators.append(("Last-Modified", email.utils.formatdate(mtime, usegmt=True)))
        if self._not_modified(etag, mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name, value in validators:
                self.send_header(name, value)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in validators:
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _base(self) -> str:
        # echo the Host header so links stay reachable when the site is fetched from a container
        host = self.headers.get("Host")
        if host:
            return f"http://{host}"
        h, p = self.server.server_address[:2]
        return f"http://{h}:{p}"

    def _not_modified(self, etag: str, mtime: int | None) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            # RFC 9110: If-None-Match wins over If-Modified-Since, and GET compares weakly
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and mtime is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return mtime <= since
        return False

    def _plain(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # crawlers that hang up mid-response are normal here; the default handler prints tracebacks
        return


class SampleSite:
    """The sample site on a loopback port; use as a context manager or call start()/stop(). With `live` (a
    newsflow.sample_site.live.LiveNewsroom) it also serves the live newsroom under /live/."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, live=None) -> None:
        self.host = host
        self.port = port
        self.live = live
        self.base_url = ""
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SampleSite:
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.live = self.live
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"sample-site-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the newsflow sample news site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--live", action="store_true", help="also serve the live newsroom under /live/")
    parser.add_argument("--slot-seconds", type=int, default=20, help="each live outlet publishes once per slot")
    parser.add_argument("--silent-seconds", type=int, default=600, help="how long khabar stays silent after opening")
    args = parser.parse_args(argv)
    # Ctrl-C must stop it even when it was started with SIGINT ignored or blocked: both are inherited across exec,
    # and Python then leaves SIGINT alone. A job started in the background by a non-interactive shell ignores SIGINT,
    # and so did every process under it, CI's pytest included: its Ctrl-C test hung.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    live = None
    if args.live:
        from newsflow.sample_site.live import LiveNewsroom

        live = LiveNewsroom(slot_s=args.slot_seconds, silent_s=args.silent_seconds)
    # the whole `with` inside the try: a Ctrl-C that lands before the loop (a loaded machine can hold the main thread
    # between the print and the loop) or while the server stops is still a clean exit, not a death by SIGINT
    try:
        with SampleSite(args.host, args.port, live=live) as site:
            print(f"sample site at {site.base_url}/ (Ctrl-C to stop)", flush=True)
            # short sleeps: the kernel may deliver Ctrl-C to a server thread, and Python raises it in the main
            # thread only when the main thread's sleep ends
            while True:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
