"""Fixtures: a fake portal on 127.0.0.1, the bot's domain, tracker builders."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

BOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BOT))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from actions import schemas  # noqa: E402
from tests.fake_portal import SERVICE_TOKEN, FakePortal  # noqa: E402


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted((BOT / "domain").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, value in doc.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            elif isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            else:
                merged[key] = value
    return merged


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch):
    fake = FakePortal().start()
    monkeypatch.setenv("PORTAL_URL", fake.url)
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("PORTAL_TIMEOUT_S", "0.5")
    schemas.clear_cache()
    yield fake
    fake.stop()
    schemas.clear_cache()


@pytest.fixture
def no_portal(monkeypatch: pytest.MonkeyPatch):
    """Nothing listens at PORTAL_URL: connection refused."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("PORTAL_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("PORTAL_TIMEOUT_S", "0.5")
    schemas.clear_cache()
    yield
    schemas.clear_cache()


def make_tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str | None = "inform",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    active_loop: str | None = None,
    events: list[dict[str, Any]] | None = None,
    candidates: dict[str, Any] | None = None,
    sender_id: str = "test-sender",
) -> Tracker:
    """A tracker like the one the form/validation actions receive.

    ``candidates`` are the SlotSet events Rasa appends after the form's
    ActionExecuted for the validation action to check (``slots_to_validate``).
    """
    all_slots = {"requested_slot": None, "language": None}
    all_slots.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99} if intent else {},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    evs = list(events or [])
    if active_loop and not any(e.get("event") == "active_loop" for e in evs):
        evs.append({"event": "active_loop", "name": active_loop})  # the form ran before
    evs.append({"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}})
    if candidates is not None:
        form = active_loop or "form"
        evs.append({"event": "action", "name": form})
        for name, value in candidates.items():
            evs.append({"event": "slot", "name": name, "value": value})
            all_slots[name] = value
    return Tracker.from_dict({
        "sender_id": sender_id,
        "slots": all_slots,
        "latest_message": latest,
        "events": evs,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    })


def run(action, tracker: Tracker, domain: dict[str, Any]):
    """Run an action; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return events, dispatcher.messages


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value each SlotSet event gives, by slot name."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in messages)


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]
