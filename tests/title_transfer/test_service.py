"""Step transitions: dependencies, departments, stale forms, audit — on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auction_listings.models import Lot, Sale
from portal.sales import confirmed_sale
from storage.audit import AuditEntry
from storage.events import hub
from tests.conftest import Factory, unique
from title_transfer.events import StepChanged
from title_transfer.models import Transfer
from title_transfer.service import (
    STEP_CHANGED,
    InvalidInput,
    NotYourDepartment,
    StaleForm,
    TransitionError,
    UnknownStep,
    create_transfer,
    load_transfer,
    move_step,
)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


async def _fresh(session: AsyncSession, tracking_no: str) -> Transfer:
    session.expunge_all()
    transfer = await load_transfer(session, tracking_no)
    assert transfer is not None
    return transfer


def _step(transfer: Transfer, key: str):  # type: ignore[no-untyped-def]
    return next(s for s in transfer.steps if s.key == key)


async def _do(session: AsyncSession, factory: Factory, transfer: Transfer, key: str, action: str, dept: str,
              **kw: str) -> None:
    staff = factory.principal(await factory.user("staff", dept))
    await move_step(session, transfer, key, action, staff, expected_revision=_step(transfer, key).revision,
                    now=NOW, **kw)
    await session.commit()


async def test_new_transfer_starts_with_only_the_balance_ready(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    states = {s.key: s.state for s in new.transfer.steps}
    assert states["balance_paid"] == "ready"
    assert {k for k, v in states.items() if v == "waiting"} == set(states) - {"balance_paid"}
    assert new.transfer.tax_estimate is not None and new.transfer.tax_estimate["buyer_total"]


async def test_a_lot_without_gas_has_the_gas_step_not_applicable(factory: Factory) -> None:
    new, _ = await factory.transfer(has_gas=False)
    assert _step(new.transfer, "gas_handover").state == "not_applicable"


async def test_completing_the_ruling_makes_five_parallel_steps_ready(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    t = new.transfer
    await _do(session, factory, t, "balance_paid", "complete", "court")
    await _do(session, factory, t, "ruling_served", "complete", "court", note="served")
    t = await _fresh(session, t.tracking_no)
    ready = {s.key for s in t.steps if s.state == "ready"}
    assert ready == {"assistance_notice", "water_handover", "electricity_handover", "gas_handover", "delivery"}
    assert _step(t, "ruling_served").note == "served"


async def test_a_step_cannot_be_completed_before_its_dependencies(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    with pytest.raises(TransitionError, match="waiting on Balance received"):
        await _do(session, factory, new.transfer, "ruling_served", "complete", "court")
    await session.rollback()
    t = await _fresh(session, new.transfer.tracking_no)
    assert _step(t, "ruling_served").state == "waiting"


async def test_another_department_cannot_move_a_step(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    with pytest.raises(NotYourDepartment):
        await _do(session, factory, new.transfer, "balance_paid", "complete", "tax")


async def test_admin_may_move_any_step(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    admin = factory.principal(await factory.user("admin"))
    t = new.transfer
    # Steps of two different departments (the court's, then the water utility's), by one admin.
    for key, action in (("balance_paid", "complete"), ("ruling_served", "complete"), ("water_handover", "start")):
        await move_step(session, t, key, action, admin, expected_revision=_step(t, key).revision, now=NOW)
        await session.commit()
        t = await _fresh(session, t.tracking_no)
    assert _step(t, "balance_paid").department != _step(t, "water_handover").department
    assert (_step(t, "balance_paid").state, _step(t, "ruling_served").state, _step(t, "water_handover").state) \
        == ("done", "done", "in_progress")


async def test_a_stale_form_is_refused_and_changes_nothing(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    staff = factory.principal(await factory.user("staff", "court"))
    rev = _step(new.transfer, "balance_paid").revision
    await move_step(session, new.transfer, "balance_paid", "start", staff, expected_revision=rev)
    await session.commit()
    with pytest.raises(StaleForm):  # the same form sent again
        await move_step(session, new.transfer, "balance_paid", "start", staff, expected_revision=rev)


async def test_block_needs_a_reason_and_unblock_restores_the_state(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    t = new.transfer
    await _do(session, factory, t, "balance_paid", "start", "court")
    with pytest.raises(InvalidInput):
        await _do(session, factory, t, "balance_paid", "block", "court", reason="   ")
    await session.rollback()
    t = await _fresh(session, t.tracking_no)
    await _do(session, factory, t, "balance_paid", "block", "court", reason="付款凭证不清晰 / receipt unreadable")
    t = await _fresh(session, t.tracking_no)
    assert _step(t, "balance_paid").state == "blocked"
    assert _step(t, "balance_paid").blocked_reason == "付款凭证不清晰 / receipt unreadable"
    await _do(session, factory, t, "balance_paid", "unblock", "court")
    t = await _fresh(session, t.tracking_no)
    assert _step(t, "balance_paid").state == "in_progress"
    assert _step(t, "balance_paid").blocked_reason is None


async def test_oversized_note_is_refused(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    with pytest.raises(InvalidInput, match="at most 1000"):
        await _do(session, factory, new.transfer, "balance_paid", "complete", "court", note="x" * 1001)


async def test_unknown_step_and_action(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    staff = factory.principal(await factory.user("staff", "court"))
    with pytest.raises(UnknownStep):
        await move_step(session, new.transfer, "teleport", "complete", staff, expected_revision=1)
    with pytest.raises(InvalidInput):
        await _do(session, factory, new.transfer, "balance_paid", "explode", "court")


async def test_not_applicable_satisfies_dependents(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer(asset_kind="vehicle", property_use="non_residential", area_m2=0)
    t = new.transfer
    await _do(session, factory, t, "balance_paid", "complete", "court")
    await _do(session, factory, t, "ruling_served", "complete", "court")
    await _do(session, factory, t, "violations_cleared", "not_applicable", "vehicles", reason="无违章无抵押")
    t = await _fresh(session, t.tracking_no)
    assert _step(t, "vehicle_registration").state == "ready"


async def test_finishing_every_step_completes_the_transfer(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer(asset_kind="vehicle", property_use="non_residential", area_m2=0)
    t = new.transfer
    for key, dept in (("balance_paid", "court"), ("ruling_served", "court"), ("violations_cleared", "vehicles"),
                      ("vehicle_registration", "vehicles"), ("delivery", "court")):
        t = await _fresh(session, t.tracking_no)
        assert t.completed_on is None
        await _do(session, factory, t, key, "complete", dept)
    t = await _fresh(session, t.tracking_no)
    assert t.completed_on == NOW.date()
    assert t.tax_estimate is None  # vehicles have no real-estate tax estimate


async def test_every_change_is_audited_with_before_and_after(factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    t = new.transfer
    await _do(session, factory, t, "balance_paid", "complete", "court", note="到账")
    step_ids = {s.key: s.id for s in t.steps}
    rows = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject_type == "transfer_step", AuditEntry.subject_id.in_(step_ids.values())))).all()
    by_subject = {r.subject_id: r for r in rows}
    done = by_subject[step_ids["balance_paid"]]
    assert done.action == "complete" and done.before == {"state": "ready"} and done.after["state"] == "done"
    assert done.actor_label.startswith("staff:")
    auto = by_subject[step_ids["ruling_served"]]
    assert auto.action == "auto_ready" and auto.after["state"] == "ready"


async def test_changes_are_published_for_other_domains(factory: Factory, session: AsyncSession) -> None:
    seen: list[StepChanged] = []

    async def listener(_s: AsyncSession, event: StepChanged) -> None:
        seen.append(event)

    hub.subscribe(STEP_CHANGED, listener)
    try:
        new, _ = await factory.transfer()
        await _do(session, factory, new.transfer, "balance_paid", "complete", "court")
    finally:
        hub.unsubscribe(STEP_CHANGED, listener)
    mine = [p for p in seen if p.tracking_no == new.transfer.tracking_no]
    assert all(p.asset_kind == "real_estate" for p in mine)
    assert [(p.step_key, p.state) for p in mine] == [
        ("balance_paid", "ready"), ("balance_paid", "done"), ("ruling_served", "ready")]


async def _new_sale(session: AsyncSession, buyer_id: int, day: dt.date) -> int:
    lot = Lot(lot_no=unique("LOT-"), title="并发 Concurrent", asset_kind="vehicle", address="诸暨",
              court="诸暨市人民法院", appraisal=Decimal(100), starting_price=Decimal(70))
    session.add(lot)
    await session.flush()
    sale = Sale(lot_id=lot.id, buyer_id=buyer_id, price=Decimal(90), confirmed_on=day)
    session.add(sale)
    await session.commit()
    return sale.id


async def test_tracking_numbers_are_distinct_when_sales_are_confirmed_at_once(factory: Factory, engine: AsyncEngine,
                                                                                session: AsyncSession) -> None:
    """Twenty sales confirmed at the same moment, each in its own transaction: twenty numbers.

    Concurrent on PostgreSQL (a sequence per year); one after another on SQLite, which runs
    one writer at a time anyway (a counter row bumped by an atomic upsert).
    """
    buyer = await factory.user("buyer")
    day = dt.date(2031, 3, 3)
    sales = [await _new_sale(session, buyer.id, day) for _ in range(20)]

    async def confirm(sale_id: int) -> str:
        async with AsyncSession(engine, expire_on_commit=False) as own:
            sale = await own.get(Sale, sale_id)
            assert sale is not None
            created = await create_transfer(own, confirmed_sale(sale), secret="s" * 32)
            await own.commit()
            return created.transfer.tracking_no

    if engine.dialect.name == "postgresql":
        numbers = list(await asyncio.gather(*(confirm(s) for s in sales)))
    else:
        numbers = [await confirm(s) for s in sales]
    assert len(set(numbers)) == 20
    assert all(n.startswith("ZT2031") and len(n) == 12 for n in numbers)
    assert sorted(int(n[6:]) for n in numbers) == list(range(1, 21))  # none twice, none skipped
    # A number taken by hand (demo data, an import) is never handed out again in a new year.
    later = await _new_sale(session, buyer.id, dt.date(2033, 1, 5))
    async with AsyncSession(engine, expire_on_commit=False) as own:
        sale = await own.get(Sale, later)
        assert sale is not None
        taken = Transfer(tracking_no="ZT2033000007", code_digest="x", sale_id=later, buyer_id=buyer.id,
                         asset_kind="vehicle", title="t", started_on=dt.date(2033, 1, 5))
        own.add(taken)
        await own.commit()
    other = await _new_sale(session, buyer.id, dt.date(2033, 2, 1))
    assert await confirm(other) == "ZT2033000008"


async def test_every_action_is_allowed_from_exactly_the_states_its_transition_names(factory: Factory,
                                                                                     session: AsyncSession) -> None:
    """The transition table beside the workflow data is what move_step enforces, state by state."""
    from title_transfer.workflow import TRANSITIONS, StepState

    new, _ = await factory.transfer()
    staff = factory.principal(await factory.user("staff", "court"))
    tried = 0
    for action, transition in TRANSITIONS.items():
        for state in StepState:
            transfer = await _fresh(session, new.transfer.tracking_no)
            step = _step(transfer, "delivery")  # waits on ruling_served, which is not done
            step.state = state.value
            step.state_before_block = StepState.waiting.value if state is StepState.blocked else None
            await session.flush()
            savepoint = await session.begin_nested()
            try:
                await move_step(session, transfer, "delivery", action, staff, expected_revision=step.revision,
                                note="n", reason="r", now=NOW)
                moved = True
            except TransitionError as exc:
                moved = False
                if state is StepState.waiting and action in ("start", "complete"):
                    assert "成交裁定书送达" in exc.message_zh and "Sale ruling served" in exc.message_en
            await savepoint.rollback()
            assert moved == (state in transition.allowed_from), (action, state)
            tried += 1
            await session.rollback()
    assert tried == len(TRANSITIONS) * len(StepState)
