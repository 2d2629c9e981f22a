"""A fast loopback news site for end-to-end benchmarks: the article-extraction-benchmark corpus replicated K times.

    .venv/bin/python bench/loopback_site.py --corpus /work/shared/corpora/article-extraction-benchmark \
        --copies 11 [--port 0] [--no-etag]

Serves `/c{copy}/{id}.html` for every corpus page and copy (text/html; charset=utf-8). Every copy differs in its
bytes: an HTML comment naming the copy right after `<head>` and a ` [copy N]` suffix on the `<title>`. Also serves
`/urls.txt` (every page URL, one a line) and a permissive `/robots.txt`. Pages carry a strong ETag and honour
`If-None-Match` with 304 (like a well-behaved news site; `--no-etag` turns that off so a rerun gets 200s).

Pages are decoded to UTF-8 once at start (the corpus is ~27 MB decoded); copies are made per request by two byte
splices, so memory does not grow with K. Runs a ThreadingHTTPServer (HTTP/1.1 keep-alive). Meant to be started as
a separate process (`start_site()` does that) so it never competes with the measured process's GIL. Prints
`PORT <n>` on stdout once it is listening.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)
_TITLE_END = re.compile(rb"</title\s*>", re.IGNORECASE)


def corpus_html_dir(corpus: Path) -> Path:
    """The folder of <id>.html.gz files, given the corpus root or the html folder itself; exits clearly if absent."""
    corpus = Path(corpus)
    for candidate in (corpus / "html", corpus):
        if candidate.is_dir() and any(candidate.glob("*.html.gz")):
            return candidate
    sys.exit(f"corpus not found: {corpus} has no html/<id>.html.gz files "
             "(expected e.g. /work/shared/corpora/article-extraction-benchmark)")


def load_pages(corpus: Path) -> dict[str, tuple[bytes, int, int]]:
    """id -> (utf-8 html, splice offset after <head>, offset of </title> or -1)."""
    sys.path.insert(0, str(ROOT / "plugins"))
    pages = {}
    for path in sorted(corpus_html_dir(corpus).glob("*.html.gz")):
        raw = gzip.decompress(path.read_bytes())
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            from newsflow.encoding import decode_html

            decoded = decode_html(raw, None)
            text = decoded if isinstance(decoded, str) else decoded[0]
        body = text.encode("utf-8")
        head = _HEAD.search(body)
        title = _TITLE_END.search(body)
        pages[path.name.removesuffix(".html.gz")] = (body, head.end() if head else 0, title.start() if title else -1)
    return pages


def page_bytes(page: tuple[bytes, int, int], copy: int) -> bytes:
    body, head_at, title_at = page
    comment = f"\n<!-- newsflow-bench copy {copy} -->\n".encode()
    suffix = f" [copy {copy}]".encode()
    if title_at >= head_at >= 0 and title_at >= 0:
        return body[:head_at] + comment + body[head_at:title_at] + suffix + body[title_at:]
    if title_at >= 0:  # </title> before <head> (malformed): splice both in order
        return body[:title_at] + suffix + body[title_at:head_at] + comment + body[head_at:]
    return body[:head_at] + comment + body[head_at:]


def make_handler(pages: dict, copies: int, etag: bool):
    ids = sorted(pages)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "newsflow-bench/1"

        def log_message(self, *args):  # silence
            pass

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
            path = self.path.split("?", 1)[0]
            if path == "/urls.txt":
                lines = [f"http://{host}/c{c}/{pid}.html" for c in range(copies) for pid in ids]
                return self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain; charset=utf-8")
            if path == "/robots.txt":
                return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            match = re.fullmatch(r"/c(\d+)/([0-9a-f]+)\.html", path)
            if not match or int(match.group(1)) >= copies or match.group(2) not in pages:
                return self._send(404, b"not found", "text/plain")
            copy, pid = int(match.group(1)), match.group(2)
            extra = {}
            if etag:
                tag = '"' + hashlib.sha1(f"{pid}/{copy}".encode()).hexdigest()[:20] + '"'
                extra["ETag"] = tag
                if self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
            return self._send(200, page_bytes(pages[pid], copy), "text/html; charset=utf-8", extra)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(corpus: Path, copies: int, port: int, etag: bool) -> None:
    pages = load_pages(corpus)
    httpd = Server(("127.0.0.1", port), make_handler(pages, copies, etag))
    print(f"PORT {httpd.server_port} PAGES {len(pages) * copies}", flush=True)
    httpd.serve_forever(poll_interval=0.5)


class LoopbackSite:
    """The site in its own process: `with LoopbackSite(corpus, copies) as site: site.port`."""

    def __init__(self, corpus: Path, copies: int, etag: bool = True):
        corpus_html_dir(corpus)  # fail here, clearly, before starting anything
        self.corpus, self.copies, self.etag = corpus, copies, etag
        self.proc = None
        self.port = None
        self.pages = None

    def __enter__(self):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--corpus", str(self.corpus), "--copies", str(self.copies)]
        if not self.etag:
            cmd.append("--no-etag")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT"):
            self.proc.kill()
            raise RuntimeError(f"loopback site did not start: {line!r}")
        parts = line.split()
        self.port, self.pages = int(parts[1]), int(parts[3])
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        time.sleep(0.1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, type=Path)
    parser.add_argument("--copies", type=int, default=11)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-etag", action="store_true", help="no ETag / 304: a rerun gets every page again")
    args = parser.parse_args(argv)
    serve(args.corpus, args.copies, args.port, not args.no_etag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
