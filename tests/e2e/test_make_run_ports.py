"""`make run` with the assistant's ports moved: Rasa calls the action server where it listens.

bot/endpoints.yml named port 5055 outright, so `BOT_ACTIONS_PORT=5195 make run` (needed when
5055 is taken) started the action server on 5195 while Rasa kept calling 5055: every turn
answered "I can't answer that" and nothing reached the portal. Here Rasa is started by the
very make target `make run` uses (bot/bot.mk's bot-run-rasa) with the ports moved, and a
recorder listens where the action server should be: the first message must reach it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, Process, free_port

pytestmark = pytest.mark.e2e

RASA = ROOT / "bot" / ".venv" / "bin" / "rasa"
MODEL = ROOT / "bot" / "models" / "bot.tar.gz"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = json.loads(body or b"{}").get("next_action", "")
        self.seen.append((self.path, str(action)))
        answer = json.dumps({"events": [], "responses": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), _Recorder.seen
    finally:
        server.shutdown()


def test_rasa_started_by_make_calls_the_action_server_on_the_port_given(
        recorder: tuple[int, list[tuple[str, str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (RASA.exists() and MODEL.exists()):
        if os.environ.get("CI"):
            pytest.fail("the bot is not built: run `make train` first")
        pytest.skip("bot/.venv or the trained model missing (make train)")
    for name in ("MAKEFLAGS", "MAKELEVEL", "BOT_ACTIONS_PORT", "BOT_RASA_PORT"):
        monkeypatch.delenv(name, raising=False)
    actions_port, seen = recorder
    rasa_port = free_port()
    assert 5055 not in (actions_port, rasa_port)
    rasa = Process("rasa", ["make", "--no-print-directory", "-f", "bot/bot.mk", "bot-run-rasa",
                            f"BOT_RASA_PORT={rasa_port}", f"BOT_ACTIONS_PORT={actions_port}"],
                   log_path=tmp_path / "rasa.log", new_session=True, stop_signal=signal.SIGTERM)
    with rasa.start():
        try:
            rasa.wait_http(f"http://127.0.0.1:{rasa_port}/", timeout=180, accept=lambda status, _b: status < 500)
            # a tracking number and code: the assistant's custom actions take them (the language
            # of a plain greeting is detected inside Rasa's own process and calls no action)
            for text in ("ZT2026000001 ABCD2345", "查一下我的过户进度"):
                resp = httpx.post(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                                  json={"sender": "ports-test", "message": text}, timeout=60)
                assert resp.status_code == 200, resp.text
        finally:
            if rasa.proc is not None and rasa.proc.poll() is None:
                os.killpg(rasa.pid, signal.SIGTERM)  # make, its shell and Rasa
    assert seen, f"Rasa never called the action server on port {actions_port}: {rasa.tail()}"
    assert all(path == "/webhook" for path, _ in seen), seen
