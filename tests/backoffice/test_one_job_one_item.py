"""One job, one item: a citizen's request about a transfer's step joins that step's queue item,
and what staff do with it is what the buyer sees on the tracking page and in the API."""

from __future__ import annotations

import re

from sqlalchemy import Engine, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backoffice import service, submissions
from backoffice.models import WorkItem
from backoffice.people import People, Person, action_name
from backoffice.records import Actor
from portal.settings import Settings
from tests.backoffice.helpers import Client, audit_actions, fresh, post, sign_in, step_item
from tests.backoffice.test_api import as_service, body
from tests.backoffice.test_transfer_steps import _steps
from tests.conftest import Factory
from title_transfer import service as transfers
from title_transfer.models import Transfer


async def _items_in(session: AsyncSession, department: str, tracking_no: str) -> int:
    rows = await session.scalars(select(WorkItem).where(WorkItem.department == department))
    return sum(1 for i in rows.all() if (i.data or {}).get("tracking_number") == tracking_no)


async def _serve_the_ruling(factory: Factory, session: AsyncSession, transfer_id: int) -> None:
    court = factory.principal(await factory.user("staff", "court"))
    for key in ("balance_paid", "ruling_served"):
        await transfers.complete_step(session, (await _steps(session, transfer_id))[key].id, court, None)
        await session.commit()


async def test_a_request_for_a_ready_step_joins_its_item_and_done_shows_on_the_tracking_page(
        client: Client, factory: Factory, session: AsyncSession, settings: Settings) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    await _serve_the_ruling(factory, session, new.transfer.id)
    water_step = (await _steps(session, new.transfer.id))["water_handover"]
    step = await step_item(session, water_step.id)
    assert step is not None and step.state == "new"

    resp = await client.post("/api/v1/submissions", headers=as_service(buyer.id, settings), json=body(
        "utility_handover", {"tracking_number": no, "utility_type": "water", "account_holder_name": "张*明",
                             "contact_phone": "13812345678"}))
    assert resp.status_code == 201, resp.text
    assert resp.json()["reference"] == step.reference and resp.json()["department"] == "water"
    assert await _items_in(session, "water", no) == 1  # no second item for the same job
    item = await fresh(session, step.id)
    assert item.data["account_holder_name"] == "张*明" and item.data["contact_phone"] == "13812345678"
    assert "join_request" in await audit_actions(session, item.id)
    water = await factory.user("staff", "water")
    await sign_in(client, water)
    staff_page = (await client.get(f"/staff/items/{step.reference}")).text
    assert "新户名" in staff_page and "张*明" in staff_page and "13812345678" in staff_page

    # The buyer sees the request beside the step, in the step's state.
    await sign_in(client, buyer)
    page = (await client.get(f"/track/{no}")).text
    block = page.split('id="step-water_handover"', 1)[1].split("\n    </li>", 1)[0]  # the step's own closing tag
    assert step.reference in block and "可办理" in block

    # A water-company clerk takes the request and completes it.
    await sign_in(client, water)
    assert (await post(client, f"/staff/items/{step.reference}/claim", {"version": str(item.version)})).status_code == 303
    item = await fresh(session, step.id)
    done = await post(client, f"/staff/items/{step.reference}/complete",
                      {"confirm": "yes", "version": str(item.version), "note": "已完成过户"})
    assert done.status_code == 303, done.text

    assert (await fresh(session, step.id)).state == "done"
    await sign_in(client, buyer)
    page = (await client.get(f"/track/{no}")).text
    block = page.split('id="step-water_handover"', 1)[1].split("\n    </li>", 1)[0]  # the step's own closing tag
    assert "已完成" in block and step.reference in block and "已完成过户" in block
    api = (await client.get(f"/api/v1/transfers/{no}")).json()
    water_view = next(s for s in api["steps"] if s["key"] == "water_handover")
    assert water_view["state"] == "done" and water_view["details"]["requests"][0]["reference"] == step.reference


async def test_a_request_joining_a_step_reads_the_transfer_once_and_its_steps_twice(
        client: Client, factory: Factory, session: AsyncSession, settings: Settings) -> None:
    """Filing the chat's utility form read the transfer three times and its steps four (17
    statements on PostgreSQL): the check of who may act on it, the step the request is about
    (the transfer with all its steps, then the step again as an event), and noting the request
    on the tracking page (the step, the transfer locked, its steps again). Now: the transfer once
    (the check), the steps once to find the step and once more after the transfer is locked."""
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    await _serve_the_ruling(factory, session, new.transfer.id)
    step = await step_item(session, (await _steps(session, new.transfer.id))["water_handover"].id)
    assert step is not None
    transfer_id = new.transfer.id
    version = await session.scalar(select(Transfer.version).where(Transfer.id == transfer_id))
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        resp = await client.post("/api/v1/submissions", headers=as_service(buyer.id, settings), json=body(
            "utility_handover", {"tracking_number": no, "utility_type": "water", "account_holder_name": "张*明",
                                 "contact_phone": "13812345678"}))
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert resp.status_code == 201 and resp.json()["reference"] == step.reference, resp.text
    reads = [s for s in sent if s.startswith("SELECT")]
    assert sum(1 for s in reads if re.search(r"\bFROM transfer\b(?!_)", s)) == 1, reads
    assert sum(1 for s in reads if re.search(r"\bFROM transfer_step\b", s)) == 2, reads
    assert len(sent) <= 13, sent
    # … and the request is still noted on the step, the transfer's version moved on (tracking pages refresh).
    water = (await _steps(session, transfer_id))["water_handover"]
    assert [r["reference"] for r in water.details["requests"]] == [step.reference]
    assert await session.scalar(select(Transfer.version).where(Transfer.id == transfer_id)) == version + 1


async def test_a_request_for_a_waiting_step_opens_the_steps_item_early_and_stays_one_item(
        client: Client, factory: Factory, session: AsyncSession, settings: Settings) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    gas_step = (await _steps(session, new.transfer.id))["gas_handover"]
    assert gas_step.state == "waiting" and await step_item(session, gas_step.id) is None

    resp = await client.post("/api/v1/submissions", headers=as_service(buyer.id, settings), json=body(
        "utility_handover", {"tracking_number": no, "utility_type": "gas", "account_holder_name": "张*明",
                             "contact_phone": "13812345678"}))
    assert resp.status_code == 201, resp.text
    item = await step_item(session, gas_step.id)
    assert item is not None and resp.json()["reference"] == item.reference

    # Completing it before the ruling is served is refused, and says what it waits on.
    gas = await factory.user("staff", "gas")
    await sign_in(client, gas)
    await post(client, f"/staff/items/{item.reference}/claim", {"version": str(item.version)})
    item = await fresh(session, item.id)
    refused = await post(client, f"/staff/items/{item.reference}/complete",
                         {"confirm": "yes", "version": str(item.version)})
    assert refused.status_code == 409 and "裁定" in refused.text
    assert (await fresh(session, item.id)).state == "claimed"

    # When the step becomes ready, the same item follows it: still one item.
    await _serve_the_ruling(factory, session, new.transfer.id)
    assert await _items_in(session, "gas", no) == 1
    item = await fresh(session, item.id)
    assert item.data["step_state"] == "ready" and item.data["contact_phone"] == "13812345678"
    count = await session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.department == "gas"))
    assert count == 1


async def test_a_request_joining_an_item_staff_just_changed_still_joins(factory: Factory, session: AsyncSession,
                                                                      engine: AsyncEngine) -> None:
    new, buyer = await factory.transfer()
    step = await step_item(session, (await _steps(session, new.transfer.id))["balance_paid"].id)
    assert step is not None
    seen = step.version
    # A clerk claims it from another connection after this request read it.
    court = factory.principal(await factory.user("staff", "court"))
    async with async_sessionmaker(engine, expire_on_commit=False)() as other:
        await service.claim(other, step.id, court)
        await other.commit()
    assert step.version == seen  # this request's copy is now behind
    joined = await submissions._join(session, step, kind="delivery_appointment", actor=Actor.citizen(buyer.id),
                                     data={"tracking_number": new.transfer.tracking_no, "contact_phone": "13812345678"},
                                     citizen_id=buyer.id, channel="web", transcript=None)
    await session.commit()
    item = await fresh(session, joined.id)
    assert item.state == "claimed" and item.data["contact_phone"] == "13812345678"
    assert (await audit_actions(session, item.id))[-1] == "join_request"


def test_people_are_named_in_words_never_ids() -> None:
    zh = People({7: Person("陈*", "staff", "tax"), 8: Person("张*明", "buyer", None)}, "zh")
    assert zh.name(7, "staff:7:陈*") == "税务局 陈*"
    assert zh.name(8, "buyer:8:张*明") == "张*明(买受人)"
    assert zh.name(None, "chat visitor") == "在线助手访客" and zh.name(5, "chat visitor") == "在线助手访客"
    assert zh.name(None, "system", "system") == "系统"
    assert zh.name(99, "citizen:99") == "市民"  # an account gone since: a word, not its id
    assert zh.name(98, "staff:98:王*") == "王*"
    en = People({8: Person("张*明", "buyer", None)}, "en")
    assert en.name(8, "x") == "张*明 (buyer)" and en.name(None, "system") == "System"
    assert action_name("source_update", "zh") == "随过户步骤更新" and action_name("claim", "en") == "Claimed"
    assert action_name("some_new_code", "en") == "Other change"


async def test_a_step_completed_on_its_page_closes_the_item_in_the_readers_language(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    court = await factory.user("staff", "court")
    step = (await _steps(session, new.transfer.id))["balance_paid"]
    item = await step_item(session, step.id)
    assert item is not None
    await transfers.complete_step(session, step.id, factory.principal(court), None)
    await session.commit()
    await sign_in(client, court)
    zh = (await client.get(f"/staff/items/{item.reference}?lang=zh")).text
    en = (await client.get(f"/staff/items/{item.reference}?lang=en")).text
    assert "已在过户步骤页面办结" in zh and "completed on the step page" not in zh
    assert "completed on the step page" in en and "已在过户步骤页面办结" not in en
