"""A loopback webhook receiver: records every JSON body posted to it and answers with the status it is told to,
as Slack's or Mattermost's incoming webhooks would (200 and "ok"; 4xx with a reason when refused)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook:
    """`with Webhook() as hook:` post to `hook.url`; `hook.posts` holds each request's decoded JSON body."""

    def __init__(self, status: int = 200, answer: bytes = b"ok", headers: dict | None = None, delay_s: float = 0.0):
        self.status, self.answer, self.extra_headers, self.delay_s = status, answer, headers or {}, delay_s
        self.posts: list[dict] = []
        self.headers: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.headers.append(dict(self.headers))
                hook.posts.append(json.loads(body.decode("utf-8")))
                time.sleep(hook.delay_s)  # a slow endpoint: the post is taken, the answer comes late
                self.send_response(hook.status)
                self.send_header("Content-Length", str(len(hook.answer)))
                for name, value in hook.extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(hook.answer)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/T000/B000/secret-token"

    def __enter__(self) -> Webhook:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
