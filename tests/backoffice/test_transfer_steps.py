"""A transfer step owned by a department is a queue item; the step page and the item agree,
both ways, and neither causes the other to act twice."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import service
from portal import queue_wiring
from storage.events import hub
from tests.backoffice.helpers import Client, audit_actions, form_value, fresh, post, sign_in, step_item
from tests.conftest import Factory
from title_transfer.events import StepChanged
from title_transfer.models import TransferStep
from title_transfer.service import STEP_CHANGED
from title_transfer.workflow import AssetKind, StepState


async def _steps(session: AsyncSession, transfer_id: int) -> dict[str, TransferStep]:
    rows = await session.scalars(select(TransferStep).where(TransferStep.transfer_id == transfer_id)
                                 .execution_options(populate_existing=True))
    return {s.key: s for s in rows.all()}


def _step_revision(page: str, key: str) -> str:
    block = page.split(f'id="step-{key}"', 1)[1]
    return block.split('name="revision" value="', 1)[1].split('"', 1)[0]


async def test_a_ready_step_is_an_item_in_its_departments_queue(client: Client, factory: Factory,
                                                                 session: AsyncSession) -> None:
    new, buyer = await factory.transfer()
    steps = await _steps(session, new.transfer.id)
    item = await step_item(session, steps["balance_paid"].id)
    assert item is not None and item.department == "court" and item.state == "new"
    assert item.citizen_id == buyer.id and item.data["tracking_number"] == new.transfer.tracking_no
    assert await step_item(session, steps["ruling_served"].id) is None  # still waiting: nothing to do yet


async def test_completing_the_item_completes_the_step_and_the_step_page_agrees(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    steps = await _steps(session, new.transfer.id)
    item = await step_item(session, steps["balance_paid"].id)
    assert item is not None
    court = await factory.user("staff", "court")
    await sign_in(client, court)

    page = await client.get(f"/staff/items/{item.reference}")
    assert "/staff/transfers/" in page.text
    claimed = await post(client, f"/staff/items/{item.reference}/claim",
                         {"version": form_value(page.text, f"/staff/items/{item.reference}/claim", "version")})
    assert claimed.status_code == 303
    assert (await _steps(session, new.transfer.id))["balance_paid"].state == "in_progress"  # claiming starts it

    page = await client.get(f"/staff/items/{item.reference}")
    done = await post(client, f"/staff/items/{item.reference}/complete",
                      {"confirm": "yes", "version": form_value(page.text, f"/staff/items/{item.reference}/complete", "version"),
                       "note": "尾款已到账"})
    assert done.status_code == 303, done.text

    steps = await _steps(session, new.transfer.id)
    assert steps["balance_paid"].state == "done" and steps["balance_paid"].note == "尾款已到账"
    assert steps["ruling_served"].state == "ready"
    step_page = await client.get(f"/staff/transfers/{no}")
    assert step_page.status_code == 200
    assert 'id="step-balance_paid"' in step_page.text
    assert "state-done" in step_page.text.split('id="step-balance_paid"')[0].rsplit("<li", 1)[1]
    item = await fresh(session, item.id)
    assert item.state == "done"
    # The step's own "done" event found the item closed already: no second close, no loop.
    assert await audit_actions(session, item.id) == ["open", "claim", "source_update", "complete"]
    nxt = await step_item(session, steps["ruling_served"].id)
    assert nxt is not None and nxt.state == "new"


async def test_completing_on_the_step_page_closes_the_item(client: Client, factory: Factory,
                                                           session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    steps = await _steps(session, new.transfer.id)
    item = await step_item(session, steps["balance_paid"].id)
    assert item is not None
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    page = await client.get(f"/staff/transfers/{no}")
    resp = await post(client, f"/staff/transfers/{no}/steps/balance_paid",
                      {"action": "complete", "confirm": "yes", "revision": _step_revision(page.text, "balance_paid")})
    assert resp.status_code == 303
    item = await fresh(session, item.id)
    assert item.state == "done" and item.closed_at is not None
    assert await audit_actions(session, item.id) == ["open", "close_by_source"]
    # The queue now says so too, and completing it there is refused plainly, changing nothing.
    item_page = await client.get(f"/staff/items/{item.reference}")
    assert "已办结" in item_page.text and f"/staff/items/{item.reference}/complete" not in item_page.text
    again = await post(client, f"/staff/items/{item.reference}/complete", {"confirm": "yes", "version": str(item.version)})
    assert again.status_code == 409
    assert await audit_actions(session, item.id) == ["open", "close_by_source"]


async def test_a_blocked_step_cannot_be_completed_from_the_queue(client: Client, factory: Factory,
                                                                 session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    steps = await _steps(session, new.transfer.id)
    item = await step_item(session, steps["balance_paid"].id)
    assert item is not None
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    page = await client.get(f"/staff/items/{item.reference}")
    await post(client, f"/staff/items/{item.reference}/claim",
               {"version": form_value(page.text, f"/staff/items/{item.reference}/claim", "version")})
    step_page = await client.get(f"/staff/transfers/{no}")
    blocked = await post(client, f"/staff/transfers/{no}/steps/balance_paid",
                         {"action": "block", "confirm": "yes", "reason": "尾款未足额", "revision": _step_revision(step_page.text,
                                                                                          "balance_paid")})
    assert blocked.status_code == 303
    item = await fresh(session, item.id)
    assert item.state == "claimed" and item.data["step_state"] == "blocked"

    page = await client.get(f"/staff/items/{item.reference}")
    refused = await post(client, f"/staff/items/{item.reference}/complete",
                         {"confirm": "yes", "version": form_value(page.text, f"/staff/items/{item.reference}/complete", "version")})
    assert refused.status_code == 409 and ("受阻" in refused.text or "blocked" in refused.text)
    assert (await fresh(session, item.id)).state == "claimed"
    assert (await _steps(session, new.transfer.id))["balance_paid"].state == "blocked"
    # A step item can be neither declined nor forwarded: the step page owns those decisions.
    assert (await post(client, f"/staff/items/{item.reference}/reject",
                       {"confirm": "yes", "version": str(item.version), "reason": "x"})).status_code == 400
    assert (await post(client, f"/staff/items/{item.reference}/forward",
                       {"version": str(item.version), "to": "tax"})).status_code == 400


async def test_the_step_event_is_idempotent(client: Client, factory: Factory, session: AsyncSession) -> None:
    new, buyer = await factory.transfer()
    steps = await _steps(session, new.transfer.id)
    step = steps["balance_paid"]
    event = StepChanged(transfer_id=new.transfer.id, tracking_no=new.transfer.tracking_no, buyer_id=buyer.id,
                        asset_kind=AssetKind.real_estate, step_id=step.id, step_key=step.key, department="court",
                        before=None, state=StepState.ready, due_on=step.due_on)
    for _ in range(3):
        await queue_wiring.on_step_changed(session, event)
    done = msgspec.structs.replace(event, before=StepState.ready, state=StepState.done)
    await queue_wiring.on_step_changed(session, done)
    await queue_wiring.on_step_changed(session, done)
    await session.commit()
    items = (await session.scalars(select(service.WorkItem).where(service.WorkItem.source_type == "transfer_step",
                                                                  service.WorkItem.source_id == step.id))).all()
    assert len(items) == 1
    assert await audit_actions(session, items[0].id) == ["open", "close_by_source"]


async def test_start_up_brings_items_in_line_with_steps_an_event_missed(app: Litestar, factory: Factory,
                                                                        session: AsyncSession) -> None:
    hub.unsubscribe(STEP_CHANGED, queue_wiring.on_step_changed)
    try:
        new, _ = await factory.transfer()  # no subscriber: no item
    finally:
        hub.subscribe(STEP_CHANGED, queue_wiring.on_step_changed)
    steps = await _steps(session, new.transfer.id)
    assert await step_item(session, steps["balance_paid"].id) is None
    changed = await queue_wiring.reconcile_steps(app.state.ctx)
    assert changed >= 1
    assert (await step_item(session, steps["balance_paid"].id)) is not None
    assert await queue_wiring.reconcile_steps(app.state.ctx) == 0  # and nothing left to do
    await app.state.ctx.engine.dispose()


async def test_the_buyer_answers_a_question_on_a_step(client: Client, factory: Factory, session: AsyncSession) -> None:
    new, buyer = await factory.transfer()
    steps = await _steps(session, new.transfer.id)
    item = await step_item(session, steps["balance_paid"].id)
    assert item is not None
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    page = await client.get(f"/staff/items/{item.reference}")
    await post(client, f"/staff/items/{item.reference}/claim",
               {"version": form_value(page.text, f"/staff/items/{item.reference}/claim", "version")})
    page = await client.get(f"/staff/items/{item.reference}")
    asked = await post(client, f"/staff/items/{item.reference}/correction",
                       {"version": form_value(page.text, f"/staff/items/{item.reference}/correction", "version"),
                        "body": "请上传尾款转账凭证。"})
    assert asked.status_code == 303
    await sign_in(client, buyer)
    mine = await client.get("/my/submissions")
    assert item.reference in mine.text
    page = await client.get(f"/my/submissions/{item.reference}")
    assert "请上传尾款转账凭证。" in page.text
    version = form_value(page.text, f"/my/submissions/{item.reference}/answer", "_version")
    empty = await post(client, f"/my/submissions/{item.reference}/answer", {"_version": version, "_body": " "})
    assert empty.status_code == 400
    answered = await post(client, f"/my/submissions/{item.reference}/answer",
                          {"_version": version, "_body": "已通过网银转账,凭证已上传。"})
    assert answered.status_code == 303
    assert (await fresh(session, item.id)).state == "new"


async def test_a_vehicle_step_item_is_named_after_the_vehicle_step(app: Litestar, client: Client, factory: Factory,
                                                                   session: AsyncSession) -> None:
    """Both workflows have a step "delivery": the vehicle's item is 车辆交付, whichever path opened it."""
    from title_transfer.service import load_transfer, move_step

    new, _ = await factory.transfer(asset_kind="vehicle")
    no = new.transfer.tracking_no
    for key, dept in (("balance_paid", "court"), ("ruling_served", "court"), ("violations_cleared", "vehicles"),
                      ("vehicle_registration", "vehicles")):
        session.expunge_all()
        transfer = await load_transfer(session, no)
        assert transfer is not None
        step = next(s for s in transfer.steps if s.key == key)
        staff = factory.principal(await factory.user("staff", dept))
        await move_step(session, transfer, key, "complete", staff, expected_revision=step.revision)
        await session.commit()
    delivery = (await _steps(session, new.transfer.id))["delivery"]
    item = await step_item(session, delivery.id)
    assert item is not None and item.state == "new"
    assert item.data["step_name_zh"] == "车辆交付" and item.data["step_name_en"] == "Vehicle delivered"
    assert item.subject == f"{no} · 车辆交付"
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    page = await client.get(f"/staff/items/{item.reference}")
    assert "车辆交付" in page.text and "交付(腾退、交钥匙)" not in page.text
