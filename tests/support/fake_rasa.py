"""Rasa's REST webhook as a small real HTTP server in a thread of the calling process: the chat
tests' Rasa and ``python -m bench.instructions --chat``'s.

``GET /`` answers the portal's "is the assistant up" probe; every ``POST`` is answered with
``reply(body)`` as JSON and its body kept in ``received``. Keep-alive (HTTP/1.1), as Rasa's
Sanic does."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], list[dict[str, Any]]]


class FakeRasa:
    def __init__(self, reply: Reply) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(b"Hello from Rasa", "text/plain")

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                outer.received.append(body)
                self._answer(json.dumps(reply(body)).encode(), "application/json")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
