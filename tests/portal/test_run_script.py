"""`make run` on a port of one's own: the action server it starts calls the portal there.

`PORT=8080 make run` used to leave the action server calling the portal on port 8000, so
every lookup answered "the portal can't be reached". Here the portal runs on a free,
non-default port and the action server is started by the very make target `make run` uses
(bot/bot.mk's bot-run-actions, through scripts/run-all.sh) with only PORT (and, in one case,
PORTAL_SERVICE_TOKEN) set; a status lookup sent to its webhook must be answered by that
portal with that token: "no such tracking number", not "unreachable" or "credentials refused".
(Rasa itself is not started: loading a model takes longer than this suite allows.)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import ROOT, Process, free_port

BOT = ROOT / "bot"
RASA = BOT / ".venv" / "bin" / "rasa"

pytestmark = pytest.mark.skipif(not RASA.exists(), reason="the assistant's environment (bot/.venv) is not set up: "
                                                          "`make bot-venv` installs it")

NOT_FOUND = "That tracking number and query code don't match"


def _lookup(actions_port: int) -> list[str]:
    """One status lookup through the action server's webhook, as Rasa would send it."""
    tracker = {
        "sender_id": "run-script-test",
        "slots": {"tracking_number": "ZT2026999999", "verification_code": "ABCD2345"},
        "latest_message": {"text": "ZT2026999999 ABCD2345", "intent": {}, "entities": [], "metadata": {"lang": "en"}},
        "events": [], "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen",
    }
    body = json.dumps({"next_action": "action_check_transfer_status", "sender_id": "run-script-test",
                       "tracker": tracker, "domain": {}, "version": "3.6.0"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{actions_port}/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as resp:  # noqa: S310 - a local URL we built
        answer = json.load(resp)
    return [str(r.get("text")) for r in answer.get("responses", [])]


@pytest.mark.parametrize("token", [None, "a-token-of-this-checkout-7Hq2vX9pLm4R"], ids=["default-token", "own-token"])
def test_the_action_server_make_run_starts_calls_the_portal_on_its_port(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    for name in ("PORTAL_URL", "PORTAL_SERVICE_TOKEN", "BOT_ACTIONS_PORT", "MAKEFLAGS", "MAKELEVEL"):
        monkeypatch.delenv(name, raising=False)
    port, actions_port = free_port(), free_port()
    assert 8000 not in (port, actions_port)
    common = {"PORT": str(port), **({"PORTAL_SERVICE_TOKEN": token} if token else {})}
    portal_env = {**common, "DATABASE_URL": database_url, "PORTAL_ENV": "development",
                  "PORTAL_SECRET_FILE": str(tmp_path / "secret"), "DOCUMENT_DIR": str(tmp_path / "docs"),
                  "RASA_URL": "http://127.0.0.1:9"}
    portal = Process("portal", [sys.executable, "-m", "portal", "serve"], env=portal_env,
                     log_path=tmp_path / "portal.log", stop_signal=signal.SIGTERM)
    # The target scripts/run-all.sh starts, given only what `make run` passes on: PORT and the token.
    actions = Process("action server", ["make", "--no-print-directory", "-f", "bot/bot.mk", "bot-run-actions",
                                        f"BOT_ACTIONS_PORT={actions_port}"],
                      env=common, log_path=tmp_path / "actions.log", new_session=True, stop_signal=signal.SIGTERM)
    with portal.start(), actions.start():
        try:
            portal.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
            actions.wait_http(f"http://127.0.0.1:{actions_port}/health", timeout=40)
            replies = _lookup(actions_port)
        finally:
            if actions.proc is not None and actions.proc.poll() is None:
                os.killpg(actions.pid, signal.SIGTERM)  # make, its shell and the action server
    assert any(NOT_FOUND in r for r in replies), (replies, actions.tail())

