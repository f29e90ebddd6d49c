"""The transfer API's answer, byte for byte: what the assistant (and any other client) parses.

Pins the body's shape (field order, compact UTF-8 JSON, how dates, times and amounts are
written, the free texts' language fields) and that it is exactly Litestar's JSON encoding of
the transfer's view as read, whatever the read or the response path do to be cheaper.
"""

from __future__ import annotations

import json
import re

from litestar import Litestar
from litestar.serialization import encode_json
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.principal import Principal
from tests.conftest import TEST_TOKEN, Factory
from title_transfer.access import make_citizen_token
from title_transfer.read import fetch_transfer
from title_transfer.service import load_transfer, move_step

Client = AsyncTestClient[Litestar]

TOP_KEYS = ["tracking_no", "asset_kind", "title", "started_on", "completed_on", "progress", "steps", "next_steps",
            "tax_estimate", "version", "url", "price", "address", "title_en", "address_en", "court"]
STEP_KEYS = ["id", "key", "name_zh", "name_en", "action_zh", "action_en", "department", "department_name_zh",
             "department_name_en", "state", "due_date", "waiting_on", "blocked_reason", "completed_at", "note",
             "overdue", "revision", "utility", "details", "documents", "blocked_reason_lang", "blocked_reason_zh",
             "blocked_reason_en", "note_lang", "note_zh", "note_en"]


async def _move(session: AsyncSession, tracking_no: str, key: str, action: str, who: Principal, **kw) -> None:  # type: ignore[no-untyped-def]
    transfer = await load_transfer(session, tracking_no, for_update=True)
    assert transfer is not None
    step = next(s for s in transfer.steps if s.key == key)
    await move_step(session, transfer, key, action, who, expected_revision=step.revision, **kw)
    await session.commit()


async def test_the_service_callers_answer_byte_for_byte(client: Client, factory: Factory, session: AsyncSession,
                                                        engine: AsyncEngine, settings) -> None:  # type: ignore[no-untyped-def]
    new, buyer = await factory.transfer(title_en="Test flat, Zhuji", address_en="1 Test Road, Zhuji")
    no = new.transfer.tracking_no
    court = factory.principal(await factory.user("staff", "court"))
    await _move(session, no, "balance_paid", "complete", court, note="尾款已到账。", text_lang="zh",
                translations={"en": "Balance received."})
    waiting = {s.key for s in (await load_transfer(session, no)).steps if s.state == "ready"}  # type: ignore[union-attr]
    blocked_key = sorted(waiting)[0]
    staff = factory.principal(await factory.user("staff", next(
        s.department for s in (await load_transfer(session, no)).steps if s.key == blocked_key)))  # type: ignore[union-attr]
    await _move(session, no, blocked_key, "block", staff, reason="Waiting for the bank's letter.", text_lang="en")

    headers = {"Authorization": f"Bearer {TEST_TOKEN}", "X-Citizen-Token": make_citizen_token(settings.secret_key, buyer.id)}
    resp = await client.get(f"/api/v1/transfers/{no}", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()

    # Exactly the view as read, encoded as Litestar encodes a returned Struct: compact, UTF-8, no escapes.
    record = await fetch_transfer(engine, no)
    assert record is not None
    assert resp.content == encode_json(record.view)
    assert resp.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    assert list(body) == TOP_KEYS
    assert all(list(step) == STEP_KEYS for step in body["steps"])
    assert body["url"] == f"/track/{no}" and body["title_en"] == "Test flat, Zhuji"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", body["started_on"]) and body["completed_on"] is None
    assert re.fullmatch(r"\d+\.\d\d", body["price"])  # an amount is a string with its cents
    assert body["progress"] == {"done": 1, "total": len(body["steps"])}
    assert body["next_steps"] == [s["key"] for s in body["steps"] if s["state"] in ("ready", "in_progress", "blocked")]
    assert isinstance(body["tax_estimate"], dict) and body["tax_estimate"]

    paid = next(s for s in body["steps"] if s["key"] == "balance_paid")
    assert paid["state"] == "done" and paid["overdue"] is False and paid["waiting_on"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", paid["completed_at"])  # UTC, written with Z
    assert (paid["note"], paid["note_lang"], paid["note_zh"], paid["note_en"]) == (
        "尾款已到账。", "zh", "尾款已到账。", "Balance received.")
    assert (paid["blocked_reason"], paid["blocked_reason_lang"], paid["blocked_reason_zh"],
            paid["blocked_reason_en"]) == (None, None, None, None)
    assert paid["department_name_zh"] and paid["department_name_en"] and paid["name_zh"] and paid["action_en"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", paid["due_date"])

    blocked = next(s for s in body["steps"] if s["key"] == blocked_key)
    assert (blocked["state"], blocked["blocked_reason"], blocked["blocked_reason_lang"], blocked["blocked_reason_en"],
            blocked["blocked_reason_zh"]) == ("blocked", "Waiting for the bank's letter.", "en",
                                              "Waiting for the bank's letter.", None)
    waiting_steps = [s for s in body["steps"] if s["state"] == "waiting"]
    assert waiting_steps and all(s["waiting_on"] for s in waiting_steps)
    assert all(s["waiting_on"] == [] for s in body["steps"] if s["state"] != "waiting")
