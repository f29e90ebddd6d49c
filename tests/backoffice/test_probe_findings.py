"""Issue 9's low findings about forms: a correction answer stored raw, and a deeply nested
submission body answered with a 500."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import forms, service
from backoffice.service import Actor
from portal.settings import Settings
from tests.backoffice.helpers import BEARER, Client, fresh
from tests.conftest import Factory


async def test_a_correction_is_cleaned_even_when_an_unasked_field_no_longer_validates(
        factory: Factory, session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    staff = factory.principal(await factory.user("staff", "water"))
    # Filed when its preferred date was still ahead; that day has passed since.
    item = await service.open_item(
        session, kind="utility_handover", department="water", actor=Actor.citizen(citizen.id, "buyer"),
        citizen_id=citizen.id, data={"tracking_number": "ZT2026000001", "utility_type": "water",
                                     "account_holder_name": "张三", "contact_phone": "13812345678",
                                     "preferred_date": "2020-01-01", "notes": ""})
    await session.commit()
    await service.claim(session, item.id, staff)
    await service.request_correction(session, item.id, staff, "请核对电话和户名。",
                                     ["contact_phone", "account_holder_name"])
    await session.commit()

    await service.answer_correction(session, item.id, Actor.citizen(citizen.id, "buyer"),
                                    {"contact_phone": "+86 139-0000\x00 1111", "account_holder_name": " 李\x00四\x07 "},
                                    "已改")
    await session.commit()
    data = (await fresh(session, item.id)).data
    assert data["contact_phone"] == "13900001111"
    assert data["account_holder_name"] == "李四"
    assert data["preferred_date"] == "2020-01-01"  # not asked: left as it was


async def test_an_invalid_asked_field_is_refused_though_an_unasked_one_is_stale(
        factory: Factory, session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    staff = factory.principal(await factory.user("staff", "water"))
    item = await service.open_item(
        session, kind="utility_handover", department="water", actor=Actor.citizen(citizen.id, "buyer"),
        citizen_id=citizen.id, data={"tracking_number": "ZT2026000001", "utility_type": "water",
                                     "account_holder_name": "张三", "contact_phone": "13812345678",
                                     "preferred_date": "2020-01-01", "notes": ""})
    await session.commit()
    await service.claim(session, item.id, staff)
    await service.request_correction(session, item.id, staff, "请核对电话。", ["contact_phone"])
    await session.commit()
    item_id = item.id
    try:
        await service.answer_correction(session, item_id, Actor.citizen(citizen.id, "buyer"),
                                        {"contact_phone": "12345"}, "已改")
    except forms.FormInvalid as exc:
        assert [e.field for e in exc.errors] == ["contact_phone"]
    else:  # pragma: no cover - the bug
        raise AssertionError("an invalid phone number was accepted")
    await session.rollback()
    assert (await fresh(session, item_id)).data["contact_phone"] == "13812345678"


async def test_a_deeply_nested_submission_is_a_400_not_a_500(client: Client, settings: Settings) -> None:
    headers = {**BEARER, "Idempotency-Key": f"test-{uuid.uuid4()}", "X-Chat-Sender": "nest"}
    for where in ("data", "transcript", "extra"):
        nested = "[" * 1000 + "]" * 1000
        raw = ('{"kind": "asset_clue", "channel": "chat", "language": "zh", "' + where + '": ' + nested + "}").encode()
        resp = await client.post("/api/v1/submissions", content=raw,
                                 headers={**headers, "Content-Type": "application/json"})
        assert resp.status_code == 400, (where, resp.status_code, resp.text[:200])
        assert "nest" in resp.json()["detail"]
    deep_object = ('{"kind": "asset_clue", "data": ' + '{"a": ' * 600 + "1" + "}" * 600 + "}").encode()
    resp = await client.post("/api/v1/submissions", content=deep_object,
                             headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and "nest" in resp.json()["detail"]
