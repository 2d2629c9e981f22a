"""A loopback HTTP server that answers each path with fixed bytes, exactly as given: the malformed responses real
servers send (undecodable header bytes, broken framing) that aiohttp's own server refuses to produce."""

from __future__ import annotations

import socket
import threading


class RawServer:
    """`with RawServer({"/path": b"HTTP/1.1 200 OK\\r\\n..."}) as server:`; any other path is a 404 (robots.txt too)."""

    NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self, responses: dict[str, bytes]):
        self.responses = responses
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._listener.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request_line = conn.recv(65536).split(b"\r\n", 1)[0].split(b" ")
                path = request_line[1].decode("latin-1") if len(request_line) > 1 else "/"
                conn.sendall(self.responses.get(path, self.NOT_FOUND))
            except OSError:
                pass
