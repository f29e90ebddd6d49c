"""Step transitions: dependencies, departments, stale forms, audit — on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditEntry
from storage.events import hub
from tests.conftest import Factory
from title_transfer.models import Transfer
from title_transfer.service import (
    STEP_CHANGED,
    InvalidInput,
    NotYourDepartment,
    StaleForm,
    TransitionError,
    UnknownStep,
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
    seen: list[dict] = []

    async def listener(_s: AsyncSession, payload: dict) -> None:
        seen.append(payload)

    hub.subscribe(STEP_CHANGED, listener)
    try:
        new, _ = await factory.transfer()
        await _do(session, factory, new.transfer, "balance_paid", "complete", "court")
    finally:
        hub._handlers[STEP_CHANGED].remove(listener)
    mine = [p for p in seen if p["tracking_no"] == new.transfer.tracking_no]
    assert [(p["step_key"], p["state"]) for p in mine] == [
        ("balance_paid", "ready"), ("balance_paid", "done"), ("ruling_served", "ready")]
