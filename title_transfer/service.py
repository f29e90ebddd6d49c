"""Creating a transfer for a confirmed sale, and moving its steps on.

Every change runs in the caller's transaction, leaves an audit row per changed step and
publishes ``transfer.step_changed`` so other domains (the back-office queue) can follow
without this package knowing them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from auction_listings.models import Lot, Sale
from storage.audit import record_audit
from storage.errors import BilingualError
from storage.events import hub
from storage.workdays import WorkCalendar, default_calendar
from title_transfer import codes
from title_transfer.models import Transfer, TransferStep
from title_transfer.tax import HomeCount, Location, Party, PropertyUse, SaleFacts, TaxClause, estimate
from title_transfer.workflow import SATISFIED, AssetKind, StepState, schedule, waiting_on, workflows

STEP_CHANGED = "transfer.step_changed"
MAX_TEXT = 1000


class TransitionError(BilingualError):
    """A step change that is not allowed; ``status`` is the HTTP status it maps to."""

    status = 409


class NotYourDepartment(TransitionError):
    status = 403


class StaleForm(TransitionError):
    status = 409


class InvalidInput(TransitionError):
    status = 400


class UnknownStep(TransitionError):
    status = 404


def sale_facts(sale: Sale, lot: Lot) -> SaleFacts:
    return SaleFacts(
        price=Decimal(sale.price),
        sale_date=sale.confirmed_on,
        use=PropertyUse(lot.property_use),
        area_m2=Decimal(lot.area_m2),
        clause=TaxClause(lot.tax_clause),
        location=Location(lot.location),
        buyer=Party(sale.buyer_type),
        buyer_homes=HomeCount(sale.buyer_homes),
        seller=Party(lot.seller_type),
        seller_acquired_on=lot.seller_acquired_on,
        seller_purchase_price=Decimal(lot.seller_purchase_price) if lot.seller_purchase_price is not None else None,
        seller_only_home=lot.seller_only_home,
    )


def _estimate_json(sale: Sale, lot: Lot) -> dict[str, Any] | None:
    import msgspec

    if lot.asset_kind != AssetKind.real_estate:
        return None
    return msgspec.to_builtins(estimate(sale_facts(sale, lot)))


async def next_tracking_no(session: AsyncSession, year: int) -> str:
    prefix = f"ZT{year:04d}"
    current = await session.scalar(
        select(func.max(Transfer.tracking_no)).where(Transfer.tracking_no.like(f"{prefix}%"))
    )
    seq = int(current[len(prefix) :]) + 1 if current else 1
    return codes.format_tracking_no(year, seq)


@dataclass(frozen=True)
class NewTransfer:
    transfer: Transfer
    code: str  # shown once, printed on the sale confirmation; only its digest is stored


async def reissue_code(session: AsyncSession, transfer: Transfer, *, secret: str, actor: Principal) -> str:
    """A new verification code (e.g. the printed one leaked): the old code and every grant made with it end.

    Returns the new code, shown once to the member of staff who reissued it; only its digest is kept.
    """
    code = codes.new_code()
    before = transfer.code_version
    transfer.code_digest = codes.code_digest(secret, transfer.tracking_no, code)
    transfer.code_version = before + 1
    record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="transfer",
                 subject_id=transfer.id, action="reissue_code",
                 before={"code_version": before}, after={"code_version": transfer.code_version})
    await session.flush()
    return code


async def create_transfer(
    session: AsyncSession,
    sale: Sale,
    *,
    secret: str,
    actor: Principal | None = None,
    tracking_no: str | None = None,
    code: str | None = None,
    calendar: WorkCalendar | None = None,
) -> NewTransfer:
    """Open the one-stop transfer for a confirmed sale, with steps from the asset kind's template."""
    calendar = calendar or default_calendar()
    lot = sale.lot
    template = workflows()[AssetKind(lot.asset_kind)]
    tracking_no = tracking_no or await next_tracking_no(session, sale.confirmed_on.year)
    code = code or codes.new_code()
    due = schedule(template, sale.confirmed_on, {}, calendar)
    states: dict[str, StepState] = {}
    steps: list[TransferStep] = []
    for position, tmpl in enumerate(template.steps):
        if tmpl.utility == "gas" and not lot.has_gas:
            state = StepState.not_applicable
        elif tmpl.depends_on:
            state = StepState.waiting
        else:
            state = StepState.ready
        states[tmpl.key] = state
        details: dict[str, Any] | None = None
        if tmpl.utility:
            details = {"utility": tmpl.utility, "arrears_clause": lot.utility_arrears_clause}
        steps.append(TransferStep(
            key=tmpl.key,
            position=position,
            department=tmpl.department.value,
            state=state.value,
            due_on=due[tmpl.key],
            details=details,
        ))
    transfer = Transfer(
        tracking_no=tracking_no,
        code_digest=codes.code_digest(secret, tracking_no, code),
        sale_id=sale.id,
        buyer_id=sale.buyer_id,
        asset_kind=lot.asset_kind,
        title=lot.title,
        started_on=sale.confirmed_on,
        tax_estimate=_estimate_json(sale, lot),
        steps=steps,
    )
    session.add(transfer)
    await session.flush()
    record_audit(
        session,
        actor_id=actor.user_id if actor else None,
        actor_label=actor.label if actor else "system",
        subject_type="transfer",
        subject_id=transfer.id,
        action="create",
        after={"tracking_no": tracking_no, "sale_id": sale.id, "steps": {k: v.value for k, v in states.items()}},
    )
    for step in transfer.steps:
        if step.state == StepState.ready:
            await hub.publish(session, STEP_CHANGED, _event(transfer, step, None))
    return NewTransfer(transfer, code)


def _event(transfer: Transfer, step: TransferStep, before: str | None) -> dict[str, Any]:
    return {
        "transfer_id": transfer.id,
        "tracking_no": transfer.tracking_no,
        "buyer_id": transfer.buyer_id,
        "step_id": step.id,
        "step_key": step.key,
        "department": step.department,
        "before": before,
        "state": step.state,
        "due_on": step.due_on.isoformat(),
    }


async def load_transfer(session: AsyncSession, tracking_no: str, *, for_update: bool = False) -> Transfer | None:
    stmt = select(Transfer).where(Transfer.tracking_no == tracking_no)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


def _clean_text(value: str | None, field_zh: str, field_en: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"请填写{field_zh}。", f"Please give a {field_en}.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"{field_zh}最多{MAX_TEXT}字,当前{len(text)}字。",
            f"The {field_en} may be at most {MAX_TEXT} characters (it has {len(text)}).",
        )
    return text or None


ACTIONS = ("start", "complete", "block", "unblock", "not_applicable")


async def move_step(
    session: AsyncSession,
    transfer: Transfer,
    step_key: str,
    action: str,
    actor: Principal,
    *,
    expected_revision: int,
    note: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> TransferStep:
    """Apply one staff action to one step, then bring the rest of the transfer up to date."""
    calendar = calendar or default_calendar()
    now = now or dt.datetime.now(dt.UTC)
    template = workflows()[AssetKind(transfer.asset_kind)]
    by_key = {s.key: s for s in transfer.steps}
    step = by_key.get(step_key)
    if step is None:
        raise UnknownStep("没有这个步骤。", f"This transfer has no step {step_key!r}.")
    if action not in ACTIONS:
        raise InvalidInput("不支持的操作。", f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
    if not actor.works_for(step.department):
        raise NotYourDepartment(
            "该步骤不属于您所在的部门,无法操作。",
            "This step belongs to another department; you cannot change it.",
        )
    if expected_revision != step.revision:
        raise StaleForm(
            "该步骤已被他人更新(或表单已提交过),请刷新后查看当前状态。",
            "This step changed since you opened the form (or the form was already sent). Reload to see its state.",
        )
    states = {s.key: StepState(s.state) for s in transfer.steps}
    state = states[step_key]
    before = {k: s.state for k, s in by_key.items()}
    names = {t.key: t for t in template.steps}

    def blocked_by() -> list[str]:
        return waiting_on(template, step_key, states)

    if action == "start":
        if state is not StepState.ready:
            pending = blocked_by()
            if pending:
                raise TransitionError(
                    "前置步骤尚未完成:" + "、".join(names[k].name_zh for k in pending),
                    "Waiting on: " + ", ".join(names[k].name_en for k in pending),
                )
            raise TransitionError("只有“可办理”的步骤才能开始。", f"Only a ready step can be started (this one is {state}).")
        step.state = StepState.in_progress
        step.started_at = now
    elif action == "complete":
        if state not in (StepState.ready, StepState.in_progress):
            pending = blocked_by()
            if state is StepState.waiting and pending:
                raise TransitionError(
                    "前置步骤尚未完成,不能办结:" + "、".join(names[k].name_zh for k in pending),
                    "Cannot complete: still waiting on " + ", ".join(names[k].name_en for k in pending),
                )
            raise TransitionError("该步骤当前状态不能办结。", f"A step that is {state} cannot be completed.")
        step.note = _clean_text(note, "办结说明", "note", required=False)
        step.state = StepState.done
        step.started_at = step.started_at or now
        step.completed_at = now
        step.completed_on = now.date()
    elif action == "block":
        if state not in (StepState.waiting, StepState.ready, StepState.in_progress):
            raise TransitionError("该步骤当前状态不能标记受阻。", f"A step that is {state} cannot be blocked.")
        step.blocked_reason = _clean_text(reason, "受阻原因(买受人可见)", "reason the buyer can read", required=True)
        step.state_before_block = state.value
        step.state = StepState.blocked
    elif action == "unblock":
        if state is not StepState.blocked:
            raise TransitionError("该步骤未处于受阻状态。", "This step is not blocked.")
        step.blocked_reason = None
        resumed = step.state_before_block or StepState.ready
        step.state_before_block = None
        states[step_key] = StepState(resumed)
        step.state = resumed if resumed == StepState.in_progress else (
            StepState.waiting if blocked_by() else StepState.ready
        )
    elif action == "not_applicable":
        if state in SATISFIED:
            raise TransitionError("该步骤已办结或已不适用。", "This step is already done or not applicable.")
        step.note = _clean_text(reason, "不适用原因", "reason", required=True)
        step.state = StepState.not_applicable
        step.completed_at = now
        step.completed_on = now.date()

    states[step_key] = StepState(step.state)
    _refresh(transfer, template, states, calendar)
    transfer.version += 1
    if all(s.state in SATISFIED for s in transfer.steps):
        transfer.completed_on = transfer.completed_on or now.date()

    for key, s in by_key.items():
        if s.state != before[key]:
            record_audit(
                session,
                actor_id=actor.user_id,
                actor_label=actor.label,
                subject_type="transfer_step",
                subject_id=s.id,
                action=action if key == step_key else "auto_" + ("ready" if s.state == StepState.ready else s.state),
                before={"state": before[key]},
                after={
                    "state": s.state,
                    "note": s.note if key == step_key else None,
                    "blocked_reason": s.blocked_reason,
                    "tracking_no": transfer.tracking_no,
                },
            )
            await hub.publish(session, STEP_CHANGED, _event(transfer, s, before[key]))
    await session.flush()
    return step


def _refresh(transfer: Transfer, template: Any, states: dict[str, StepState], calendar: WorkCalendar) -> None:
    """Waiting steps whose dependencies are all satisfied become ready; due dates follow actual dates."""
    for s in transfer.steps:
        if s.state == StepState.waiting and not waiting_on(template, s.key, states):
            s.state = StepState.ready
            states[s.key] = StepState.ready
    finished = {s.key: s.completed_on for s in transfer.steps if s.completed_on is not None}
    due = schedule(template, transfer.started_on, finished, calendar)
    for s in transfer.steps:
        if s.state not in SATISFIED and s.due_on != due[s.key]:
            s.due_on = due[s.key]
