"""Forward, decline, dispute, and forms sent twice from the web."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import service
from backoffice.errors import ItemNotFound, WrongState
from backoffice.models import WorkItem
from backoffice.service import Actor
from tests.backoffice.helpers import (
    Client,
    audit_actions,
    form_value,
    fresh,
    messages,
    outbox_events,
    post,
    ref_from,
    sign_in,
)
from tests.conftest import Factory

SUPPLEMENT = {"department": "registry", "reference": "ZT2026000001", "description": "补充身份证复印件。",
              "contact_phone": "13812345678"}


async def _submit(client: Client, kind: str, data: dict[str, str]) -> str:
    form = await client.get(f"/my/submissions/new/{kind}")
    sent = await post(client, f"/my/submissions/new/{kind}",
                      {**data, "_key": form_value(form.text, f"/my/submissions/new/{kind}", "_key")})
    assert sent.status_code == 303, sent.text
    return ref_from(sent.headers["location"])


async def _claim(client: Client, ref: str) -> str:
    page = await client.get(f"/staff/items/{ref}")
    await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page.text, f"{ref}/claim", "version")})
    return (await client.get(f"/staff/items/{ref}")).text


async def test_a_double_clicked_web_form_files_one_item(client: Client, factory: Factory,
                                                        session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    form = await client.get("/my/submissions/new/document_supplement")
    key = form_value(form.text, "/my/submissions/new/document_supplement", "_key")
    first = await post(client, "/my/submissions/new/document_supplement", {**SUPPLEMENT, "_key": key})
    second = await post(client, "/my/submissions/new/document_supplement", {**SUPPLEMENT, "_key": key})
    assert first.status_code == second.status_code == 303
    assert ref_from(first.headers["location"]) == ref_from(second.headers["location"])
    count = await session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.citizen_id == citizen.id))
    assert count == 1
    # A form with errors is shown again with what was typed and a message per field.
    bad = await post(client, "/my/submissions/new/document_supplement",
                     {**SUPPLEMENT, "description": "", "contact_phone": "abc", "_key": "k" * 20})
    assert bad.status_code == 400
    assert "补充说明" in bad.text and "11位手机号码" in bad.text and "ZT2026000001" in bad.text


async def test_forward_to_another_department(client: Client, factory: Factory, session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    ref = await _submit(client, "document_supplement", SUPPLEMENT)
    registry, tax = await factory.user("staff", "registry"), await factory.user("staff", "tax")
    await sign_in(client, registry)
    page = await _claim(client, ref)
    resp = await post(client, f"/staff/items/{ref}/forward",
                      {"version": form_value(page, f"{ref}/forward", "version"), "to": "tax", "note": "涉及税务"})
    assert resp.status_code == 303
    item = await fresh(session, ref)
    assert item.department == "tax" and item.state == "new" and item.claimed_by is None
    assert (await client.get(f"/staff/items/{ref}")).status_code == 403  # no longer the registry's
    await sign_in(client, tax)
    assert ref in (await client.get("/staff")).text
    # The note was internal: the citizen does not see it.
    await sign_in(client, citizen)
    assert "涉及税务" not in (await client.get(f"/my/submissions/{ref}")).text


async def test_decline_then_dispute_reopens_with_the_dispute_attached(client: Client, factory: Factory,
                                                                      session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    ref = await _submit(client, "document_supplement", SUPPLEMENT)
    registry = await factory.user("staff", "registry")
    await sign_in(client, registry)
    page = await _claim(client, ref)
    no_reason = await post(client, f"/staff/items/{ref}/reject",
                           {"confirm": "yes", "version": form_value(page, f"{ref}/reject", "version"), "reason": "  "})
    assert no_reason.status_code == 400
    resp = await post(client, f"/staff/items/{ref}/reject",
                      {"confirm": "yes", "version": form_value(page, f"{ref}/reject", "version"), "reason": "材料不属于本中心受理范围。"})
    assert resp.status_code == 303

    await sign_in(client, citizen)
    page = (await client.get(f"/my/submissions/{ref}")).text
    assert "不予办理" in page and "材料不属于本中心受理范围。" in page and f"{ref}/dispute" in page
    first = await post(client, f"/my/submissions/{ref}/dispute", {"_reason": "我认为属于受理范围。"})
    second = await post(client, f"/my/submissions/{ref}/dispute", {"_reason": "我认为属于受理范围。"})
    assert first.status_code == second.status_code == 303
    item = await fresh(session, ref)
    assert item.state == "reopened" and item.priority >= 2 and item.closed_at is None
    assert [m.kind for m in await messages(session, item.id)].count("dispute") == 1
    assert (await audit_actions(session, item.id))[-2:] == ["reject", "dispute"]
    assert "item.reopened" in await outbox_events(session, item.id)
    # Staff find it at the top of their queue, marked as reopened.
    await sign_in(client, registry)
    inbox = (await client.get("/staff")).text
    assert ref in inbox and "异议重办" in inbox


async def test_a_dispute_has_limits(factory: Factory, session: AsyncSession) -> None:
    citizen, stranger = Actor.citizen((await factory.user("buyer")).id), Actor.citizen((await factory.user("buyer")).id)
    staff = factory.principal(await factory.user("staff", "court"))
    item = await service.open_item(session, kind="asset_clue", department="court", actor=citizen,
                                   citizen_id=citizen.id)
    await session.commit()
    item_id = item.id
    with pytest.raises(WrongState):  # still open: write a message instead
        await service.dispute(session, item_id, citizen, "x")
    await session.rollback()
    await service.claim(session, item_id, staff)
    await service.complete(session, item_id, staff, "ok")
    await session.commit()
    with pytest.raises(ItemNotFound):  # someone else's item: the same answer as no item at all
        await service.dispute(session, item_id, stranger, "not mine")
    await session.rollback()
    late = (await fresh(session, item_id)).closed_at + dt.timedelta(days=31)
    with pytest.raises(WrongState):
        await service.dispute(session, item_id, citizen, "too late", now=late)
    await session.rollback()


async def test_a_buyer_asks_for_the_water_account_on_the_web(client: Client, factory: Factory,
                                                              session: AsyncSession) -> None:
    new, buyer = await factory.transfer()
    await sign_in(client, buyer)
    form = await client.get("/my/submissions/new/utility_handover?lang=en")
    assert "Query code" in form.text and "(optional)" in form.text  # signed in: the code is not needed
    ref = await _submit(client, "utility_handover", {
        "tracking_number": new.transfer.tracking_no, "verification_code": "", "utility_type": "water",
        "account_holder_name": "张*明", "contact_phone": "13812345678", "preferred_date": "", "notes": ""})
    item = await fresh(session, ref)
    assert item.department == "water" and item.citizen_id == buyer.id
    stranger = await factory.user("buyer")
    await sign_in(client, stranger)
    form = await client.get("/my/submissions/new/utility_handover")
    refused = await post(client, "/my/submissions/new/utility_handover", {
        "tracking_number": new.transfer.tracking_no, "utility_type": "water", "account_holder_name": "x",
        "contact_phone": "13812345678", "_key": form_value(form.text, "/my/submissions/new/utility_handover", "_key")})
    assert refused.status_code == 400 and "查询码" in refused.text
