"""The JSON API the chat assistant codes against: schemas, submissions, idempotency, errors."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accounts.identity import make_citizen_token
from backoffice import forms, submissions
from backoffice.models import SubmissionKey, WorkItem
from backoffice.service import Actor
from portal.settings import Settings
from tests.backoffice.helpers import BEARER, Client, fresh, messages, sign_in
from tests.conftest import Factory

CLUE = {"case_number": "(2024)浙0681执1234号", "asset_type": "bank_account", "description": "被执行人在某银行有账户。",
        "contact_name": "李*华", "contact_phone": "13812345678"}


def key() -> str:
    return f"test-{uuid.uuid4()}"


def as_service(citizen: int | None, settings: Settings, **extra: str) -> dict[str, str]:
    headers = {**BEARER, "Idempotency-Key": key(), "X-Chat-Sender": "sender-1", **extra}
    if citizen is not None:
        headers["X-Citizen-Token"] = make_citizen_token(settings.secret_key, citizen)
    return headers


def body(kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "data": data, "channel": "chat", "language": "zh", **extra}


async def test_the_form_schema_matches_the_contract(client: Client, settings: Settings) -> None:
    kinds = (await client.get("/api/v1/forms")).json()
    assert {k["kind"] for k in kinds} >= {"utility_handover", "asset_clue", "delivery_appointment", "talk_to_person",
                                          "document_supplement", "dispute"}
    spec = (await client.get("/api/v1/forms/utility_handover")).json()
    assert {"kind", "title_zh", "title_en", "department", "fields"} <= spec.keys()
    fields = {f["name"]: f for f in spec["fields"]}
    assert list(fields)[:3] == ["tracking_number", "verification_code", "utility_type"]
    for f in spec["fields"]:
        assert {"name", "type", "required", "max_length", "choices", "label_zh", "label_en", "help_zh",
                "help_en"} <= f.keys()
        assert f["type"] in ("string", "text", "phone", "date", "enum", "tracking_number", "case_number")
    assert fields["verification_code"]["required"] is True
    assert [c["value"] for c in fields["utility_type"]["choices"]] == ["water", "electricity", "gas"]
    assert fields["contact_phone"]["type"] == "phone" and fields["preferred_date"]["required"] is False
    named = (await client.get("/api/v1/forms/utility_handover",
                              headers={"X-Citizen-Token": make_citizen_token(settings.secret_key, 1)})).json()
    assert {f["name"]: f for f in named["fields"]}["verification_code"]["required"] is False
    assert (await client.get("/api/v1/forms/asset_clue")).json()["department"] == "court"
    missing = await client.get("/api/v1/forms/no_such_kind")
    assert missing.status_code == 404 and missing.json()["status_code"] == 404


async def test_the_assistant_submits_for_a_named_citizen(client: Client, factory: Factory, settings: Settings,
                                                         session: AsyncSession) -> None:
    creditor = await factory.user("creditor")
    headers = as_service(creditor.id, settings)
    resp = await client.post("/api/v1/submissions", json=body("asset_clue", CLUE), headers=headers)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["state"] == "new" and out["department"] == "court"
    assert out["reference"].startswith("WI-") and out["url"] == f"/my/submissions/{out['reference']}"
    item = await fresh(session, out["reference"])
    assert item.citizen_id == creditor.id and item.channel == "chat"
    # Same key, same body: the same item, 200, and still one item.
    again = await client.post("/api/v1/submissions", json=body("asset_clue", CLUE), headers=headers)
    assert again.status_code == 200 and again.json() == out
    # Same key, different body: refused.
    other = await client.post("/api/v1/submissions", json=body("asset_clue", {**CLUE, "description": "别的"}),
                              headers=headers)
    assert other.status_code == 409
    n = await session.scalar(select(func.count()).select_from(SubmissionKey).where(
        SubmissionKey.key == headers["Idempotency-Key"]))
    assert n == 1
    # The citizen follows it on the web and through the API.
    status = await client.get(f"/api/v1/submissions/{out['reference']}",
                              headers={**BEARER, "X-Citizen-Token": headers["X-Citizen-Token"]})
    assert status.status_code == 200 and status.json()["state"] == "new"
    stranger = await factory.user("creditor")
    hidden = await client.get(f"/api/v1/submissions/{out['reference']}",
                              headers={**BEARER, "X-Citizen-Token": make_citizen_token(settings.secret_key,
                                                                                       stranger.id)})
    assert hidden.status_code == 404


async def test_who_may_submit(client: Client, factory: Factory, settings: Settings) -> None:
    citizen = await factory.user("creditor")
    payload = body("asset_clue", CLUE)
    assert (await client.post("/api/v1/submissions", json=payload)).status_code == 401
    bad = {**as_service(None, settings), "Authorization": "Bearer wrong"}
    assert (await client.post("/api/v1/submissions", json=payload, headers=bad)).status_code == 401
    forged = {**as_service(None, settings), "X-Citizen-Token": "forged.token"}
    assert (await client.post("/api/v1/submissions", json=payload, headers=forged)).status_code == 403
    no_key = {k: v for k, v in as_service(citizen.id, settings).items() if k != "Idempotency-Key"}
    resp = await client.post("/api/v1/submissions", json=payload, headers=no_key)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.json()["detail"]
    # A signed-in citizen may submit with their session, but only as JSON (cross-site forms cannot send it).
    await sign_in(client, citizen)
    as_form = await client.post("/api/v1/submissions", data={"kind": "asset_clue"})
    assert as_form.status_code == 415
    ok = await client.post("/api/v1/submissions", json={"kind": "asset_clue", "data": CLUE})
    assert ok.status_code == 201 and ok.json()["department"] == "court"


async def test_errors_come_back_per_field_in_both_languages(client: Client, factory: Factory,
                                                            settings: Settings) -> None:
    citizen = await factory.user("creditor")
    data = {**CLUE, "case_number": "2024-1234", "description": "", "contact_phone": "12345", "extra": "x",
            "location": "地" * 201}
    resp = await client.post("/api/v1/submissions", json=body("asset_clue", data),
                             headers=as_service(citizen.id, settings))
    assert resp.status_code == 422
    out = resp.json()
    assert out["status_code"] == 422 and out["detail"]
    by_field = {e["field"]: e for e in out["errors"]}
    assert set(by_field) == {"case_number", "description", "contact_phone", "extra", "location"}
    assert all(e["message_zh"] and e["message_en"] for e in out["errors"])
    assert "200" in by_field["location"]["message_en"]
    unknown = await client.post("/api/v1/submissions", json=body("no_such_kind", {}),
                                headers=as_service(citizen.id, settings))
    assert unknown.status_code == 404
    not_json = await client.post("/api/v1/submissions", content=b"{not json", headers=as_service(citizen.id, settings))
    assert not_json.status_code == 400
    internal = await client.post("/api/v1/submissions", json=body("transfer_step", {}),
                                 headers=as_service(citizen.id, settings))
    assert internal.status_code == 404  # opened by the transfer workflow, never submitted
    long = await client.post("/api/v1/submissions", json=body("asset_clue", {**CLUE, "description": "字" * 10_000}),
                             headers=as_service(citizen.id, settings))
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "description"
    huge = await client.post("/api/v1/submissions", json=body("asset_clue", {**CLUE, "description": "字" * 100_000}),
                             headers=as_service(citizen.id, settings))
    assert huge.status_code == 413


async def test_utility_handover_needs_the_code_or_the_buyer(client: Client, factory: Factory, settings: Settings,
                                                            session: AsyncSession) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    data = {"tracking_number": no.lower(), "utility_type": "gas", "account_holder_name": "张*明",
            "contact_phone": "13912345678"}
    # Named buyer, no code: goes to the gas company, for that buyer.
    resp = await client.post("/api/v1/submissions", json=body("utility_handover", data),
                             headers=as_service(buyer.id, settings))
    assert resp.status_code == 201, resp.text
    assert resp.json()["department"] == "gas"
    item = await fresh(session, resp.json()["reference"])
    assert item.citizen_id == buyer.id and item.data["tracking_number"] == no
    # Someone else, no code: not theirs.
    other = await factory.user("buyer")
    resp = await client.post("/api/v1/submissions", json=body("utility_handover", data),
                             headers=as_service(other.id, settings))
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "verification_code"
    # Anyone with the code: fine, and the code is never stored.
    resp = await client.post("/api/v1/submissions",
                             json=body("utility_handover", {**data, "utility_type": "water",
                                                            "verification_code": new.code}),
                             headers=as_service(None, settings))
    assert resp.status_code == 201 and resp.json()["department"] == "water"
    item = await fresh(session, resp.json()["reference"])
    assert "verification_code" not in item.data and item.citizen_id == buyer.id
    # Wrong codes: a field error, then throttled like the tracking page.
    statuses = []
    for _ in range(21):  # 20 wrong codes per client per window
        r = await client.post("/api/v1/submissions",
                              json=body("utility_handover", {**data, "verification_code": "WRONG234"}),
                              headers=as_service(None, settings, **{"X-Chat-Sender": "guesser"}))
        statuses.append(r.status_code)
    assert statuses[0] == 422 and statuses[-1] == 429


async def test_talk_to_a_person_routes_by_topic_and_keeps_the_transcript(client: Client, factory: Factory,
                                                                         settings: Settings,
                                                                         session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    transcript = [{"who": "user", "text": "契税怎么算?"}, {"who": "bot", "text": "按面积和套数…"}]
    resp = await client.post("/api/v1/submissions", headers=as_service(citizen.id, settings), json=body(
        "talk_to_person", {"topic": "契税问题", "contact_name": "张*", "contact_phone": "13812345678"},
        transcript=transcript))
    assert resp.status_code == 201 and resp.json()["department"] == "tax"
    item = await fresh(session, resp.json()["reference"])
    thread = await messages(session, item.id)
    assert thread[0].kind == "transcript" and thread[0].data["lines"] == transcript
    default = await client.post("/api/v1/submissions", headers=as_service(citizen.id, settings), json=body(
        "talk_to_person", {"topic": "想咨询一下", "contact_name": "张*", "contact_phone": "13812345678"}))
    assert default.json()["department"] == "court"
    bad = await client.post("/api/v1/submissions", headers=as_service(citizen.id, settings), json=body(
        "talk_to_person", {"topic": "x", "contact_name": "张*", "contact_phone": "13812345678"},
        transcript=[{"who": "hacker", "text": 1}]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "transcript"


async def test_hostile_text_is_kept_verbatim_and_shown_escaped(client: Client, factory: Factory,
                                                               settings: Settings) -> None:
    citizen = await factory.user("creditor")
    nasty = "<script>alert('x')</script>' OR 1=1; DROP TABLE work_item;-- <img src=x onerror=alert(1)>"
    resp = await client.post("/api/v1/submissions", headers=as_service(citizen.id, settings),
                             json=body("asset_clue", {**CLUE, "description": nasty, "contact_name": "<b>x</b>"}))
    assert resp.status_code == 201
    ref = resp.json()["reference"]
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    page = (await client.get(f"/staff/items/{ref}")).text
    assert "<script>alert(" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(" in page and "DROP TABLE work_item" in page
    await sign_in(client, citizen)
    mine = (await client.get(f"/my/submissions/{ref}")).text
    assert "<script>alert(" not in mine and "&lt;script&gt;" in mine


async def test_concurrent_duplicates_make_exactly_one_item(engine: AsyncEngine, factory: Factory,
                                                           session: AsyncSession) -> None:
    citizen = await factory.user("creditor")
    valid = forms.validate("asset_clue", CLUE)
    the_key = key()
    digest = submissions.body_hash("asset_clue", CLUE, "chat", "zh", None, citizen.id)
    makers = async_sessionmaker(engine, expire_on_commit=False)

    async def attempt() -> tuple[int, bool]:
        async with makers() as s:
            result = await submissions.submit(s, valid, actor=Actor.citizen(citizen.id), citizen_id=citizen.id,
                                              channel="chat", language="zh", idempotency=("service", the_key, digest))
            return result.item.id, result.created

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert len({item_id for item_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    count = await session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.citizen_id == citizen.id))
    assert count == 1


@pytest.mark.parametrize("kind", ["delivery_appointment"])
async def test_an_appointment_in_the_past_is_refused(client: Client, factory: Factory, settings: Settings,
                                                     kind: str) -> None:
    new, buyer = await factory.transfer()
    resp = await client.post("/api/v1/submissions", headers=as_service(buyer.id, settings), json=body(kind, {
        "tracking_number": new.transfer.tracking_no, "preferred_date": "2020-01-01", "time_slot": "morning",
        "contact_phone": "13812345678"}))
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "preferred_date"


async def test_concurrent_duplicate_requests_over_http_file_one_item(client: Client, factory: Factory,
                                                                     settings: Settings,
                                                                     session: AsyncSession) -> None:
    citizen = await factory.user("creditor")
    headers = as_service(citizen.id, settings)
    payload = body("asset_clue", {**CLUE, "description": "并发重复提交"})
    responses = await asyncio.gather(*(client.post("/api/v1/submissions", json=payload, headers=headers)
                                       for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 200, 201]
    assert len({r.json()["reference"] for r in responses}) == 1
    count = await session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.citizen_id == citizen.id))
    assert count == 1


async def test_a_citizen_disputes_through_the_assistant(client: Client, factory: Factory, settings: Settings,
                                                        session: AsyncSession) -> None:
    citizen = await factory.user("creditor")
    created = await client.post("/api/v1/submissions", json=body("asset_clue", CLUE),
                                headers=as_service(citizen.id, settings))
    ref = created.json()["reference"]
    staff = factory.principal(await factory.user("staff", "court"))
    item = await fresh(session, ref)
    await service_claim_and_complete(session, item.id, staff)
    headers = as_service(citizen.id, settings)
    dispute = body("dispute", {"reference": ref.lower(), "reason": "线索未被核查"})
    resp = await client.post("/api/v1/submissions", json=dispute, headers=headers)
    assert resp.status_code == 201 and resp.json()["reference"] == ref and resp.json()["state"] == "reopened"
    replay = await client.post("/api/v1/submissions", json=dispute, headers=headers)
    assert replay.status_code == 200 and replay.json()["reference"] == ref
    stranger = await factory.user("creditor")
    other = await client.post("/api/v1/submissions", json=dispute, headers=as_service(stranger.id, settings))
    assert other.status_code == 404
    anonymous = await client.post("/api/v1/submissions", json=dispute, headers=as_service(None, settings))
    assert anonymous.status_code == 403


async def service_claim_and_complete(session: AsyncSession, item_id: int, staff: Any) -> None:
    from backoffice import service

    await service.claim(session, item_id, staff)
    await service.complete(session, item_id, staff, "已核查")
    await session.commit()
