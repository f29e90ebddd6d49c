"""Creating a transfer for a confirmed sale, and moving its steps on.

Every change runs in the caller's transaction, leaves an audit row per changed step and
publishes :class:`~title_transfer.events.StepChanged` so other domains (the back-office queue) can follow
without this package knowing them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from storage.audit import record_audit
from storage.errors import BilingualError
from storage.events import hub
from storage.workdays import WorkCalendar, default_calendar
from title_transfer import codes
from title_transfer.events import StepChanged
from title_transfer.models import Transfer, TransferStep, tracking_counter
from title_transfer.tax import HomeCount, Location, Party, PropertyUse, SaleFacts, TaxClause, estimate
from title_transfer.texts import FIELDS, written_in
from title_transfer.workflow import (
    SATISFIED,
    TRANSITIONS,
    AssetKind,
    StepState,
    Transition,
    WorkflowTemplate,
    schedule,
    waiting_on,
    workflows,
)

STEP_CHANGED = StepChanged  # the event class other domains subscribe to
MAX_TEXT = 1000
TRACKING_LOCK = 0x5A54_0000  # advisory lock key space for creating a year's tracking sequence


class TransitionError(BilingualError):
    """A step change that is not allowed; ``status_code`` is the HTTP status it maps to."""

    status_code = 409
    code = "transition_error"


class NotYourDepartment(TransitionError):
    status_code = 403
    code = "not_your_department"


class StaleForm(TransitionError):
    status_code = 409
    code = "stale_form"


class InvalidInput(TransitionError):
    status_code = 400
    code = "invalid_input"


class UnknownStep(TransitionError):
    status_code = 404
    code = "unknown_step"


class ConfirmedSale(msgspec.Struct, frozen=True, kw_only=True):
    """A confirmed sale as the transfer needs it: a value handed over by whoever records sales
    (the composition root builds it from the listings' rows), never their tables."""

    sale_id: int
    buyer_id: int
    price: Decimal
    confirmed_on: dt.date
    asset_kind: AssetKind
    title: str
    address: str | None = None
    title_en: str | None = None
    address_en: str | None = None
    court: str | None = None
    has_gas: bool = True
    utility_arrears_clause: str = "proceeds"
    # What the tax estimate needs (real estate).
    property_use: PropertyUse = PropertyUse.residential
    area_m2: Decimal = Decimal(0)
    tax_clause: TaxClause = TaxClause.by_law
    location: Location = Location.city
    buyer_type: Party = Party.individual
    buyer_homes: HomeCount = HomeCount.only_home
    seller_type: Party = Party.individual
    seller_acquired_on: dt.date | None = None
    seller_purchase_price: Decimal | None = None
    seller_only_home: bool = False


def sale_facts(sale: ConfirmedSale) -> SaleFacts:
    return SaleFacts(
        price=sale.price,
        sale_date=sale.confirmed_on,
        use=sale.property_use,
        area_m2=sale.area_m2,
        clause=sale.tax_clause,
        location=sale.location,
        buyer=sale.buyer_type,
        buyer_homes=sale.buyer_homes,
        seller=sale.seller_type,
        seller_acquired_on=sale.seller_acquired_on,
        seller_purchase_price=sale.seller_purchase_price,
        seller_only_home=sale.seller_only_home,
    )


def _estimate_json(sale: ConfirmedSale) -> dict[str, Any] | None:
    if sale.asset_kind != AssetKind.real_estate:
        return None
    return msgspec.to_builtins(estimate(sale_facts(sale)))


def _tracking_seq_name(year: int) -> str:
    return f"transfer_tracking_{year:04d}_seq"


def _tracking_prefix(year: int) -> str:
    return f"ZT{year:04d}"


async def _highest_taken(session: AsyncSession, year: int) -> int:
    prefix = _tracking_prefix(year)
    current = await session.scalar(
        select(func.max(Transfer.tracking_no)).where(Transfer.tracking_no.like(f"{prefix}%"))
    )
    return int(current[len(prefix):]) if current else 0


async def next_tracking_no(session: AsyncSession, year: int) -> str:
    """The year's next tracking number, unique under concurrency (ZT + year + 6 digits).

    PostgreSQL: a sequence per year (``nextval`` never hands out a value twice, and does not
    wait on other transactions), created the first time the year needs one, starting after
    any number already taken. SQLite: a counter row per year, bumped by one atomic upsert.
    """
    if not 1000 <= year <= 9999:
        raise ValueError(f"year {year} out of range")
    if session.get_bind().dialect.name == "postgresql":
        name = _tracking_seq_name(year)
        if await session.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is None:
            # First number of the year: one creator at a time; the others find it made.
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRACKING_LOCK + year})
            start = await _highest_taken(session, year) + 1
            await session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {start} MINVALUE 1"))
        seq = int(await session.scalar(text(f"SELECT nextval('{name}')")))
    else:
        start = await _highest_taken(session, year)
        stmt = (sqlite_insert(tracking_counter).values(year=year, last_value=start + 1)
                .on_conflict_do_update(index_elements=["year"],
                                       set_={"last_value": tracking_counter.c.last_value + 1})
                .returning(tracking_counter.c.last_value))
        seq = int((await session.execute(stmt)).scalar_one())
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
    sale: ConfirmedSale,
    *,
    secret: str,
    actor: Principal | None = None,
    tracking_no: str | None = None,
    code: str | None = None,
    calendar: WorkCalendar | None = None,
) -> NewTransfer:
    """Open the one-stop transfer for a confirmed sale, with steps from the asset kind's template."""
    calendar = calendar or default_calendar()
    template = workflows()[sale.asset_kind]
    tracking_no = tracking_no or await next_tracking_no(session, sale.confirmed_on.year)
    code = code or codes.new_code()
    due = schedule(template, sale.confirmed_on, {}, calendar)
    states: dict[str, StepState] = {}
    steps: list[TransferStep] = []
    for position, tmpl in enumerate(template.steps):
        if tmpl.utility == "gas" and not sale.has_gas:
            state = StepState.not_applicable
        elif tmpl.depends_on:
            state = StepState.waiting
        else:
            state = StepState.ready
        states[tmpl.key] = state
        details: dict[str, Any] | None = None
        if tmpl.utility:
            details = {"utility": tmpl.utility, "arrears_clause": sale.utility_arrears_clause}
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
        sale_id=sale.sale_id,
        buyer_id=sale.buyer_id,
        asset_kind=sale.asset_kind.value,
        title=sale.title,
        price=sale.price,
        address=sale.address,
        title_en=sale.title_en,
        address_en=sale.address_en,
        court=sale.court,
        started_on=sale.confirmed_on,
        tax_estimate=_estimate_json(sale),
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
        after={"tracking_no": tracking_no, "sale_id": sale.sale_id, "steps": {k: v.value for k, v in states.items()}},
    )
    for step in transfer.steps:
        if step.state == StepState.ready:
            await hub.publish(session, step_changed(transfer, step, None))
    return NewTransfer(transfer, code)


def step_changed(transfer: Transfer, step: TransferStep, before: str | None) -> StepChanged:
    return StepChanged(
        transfer_id=transfer.id,
        tracking_no=transfer.tracking_no,
        buyer_id=transfer.buyer_id,
        asset_kind=AssetKind(transfer.asset_kind),
        step_id=step.id,
        step_key=step.key,
        department=step.department,
        before=StepState(before) if before is not None else None,
        state=StepState(step.state),
        due_on=step.due_on,
    )


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


ACTIONS = tuple(TRANSITIONS)


@dataclass
class _Move:
    """One action on one step, as the effect functions below see it."""

    step: TransferStep
    state: StepState
    template: WorkflowTemplate
    states: dict[str, StepState]
    now: dt.datetime
    note: str | None
    reason: str | None

    def pending(self) -> list[str]:
        return waiting_on(self.template, self.step.key, self.states)


def _start(m: _Move) -> None:
    m.step.state = StepState.in_progress
    m.step.started_at = m.now


def _complete(m: _Move) -> None:
    m.step.note = _clean_text(m.note, "办结说明", "note", required=False)
    m.step.state = StepState.done
    m.step.started_at = m.step.started_at or m.now
    m.step.completed_at = m.now
    m.step.completed_on = m.now.date()


def _block(m: _Move) -> None:
    m.step.blocked_reason = _clean_text(m.reason, "受阻原因(买受人可见)", "reason the buyer can read", required=True)
    m.step.state_before_block = m.state.value
    m.step.state = StepState.blocked


def _unblock(m: _Move) -> None:
    m.step.blocked_reason = None
    resumed = StepState(m.step.state_before_block or StepState.ready)
    m.step.state_before_block = None
    m.states[m.step.key] = resumed
    if resumed == StepState.in_progress:
        m.step.state = resumed
    else:
        m.step.state = StepState.waiting if m.pending() else StepState.ready


def _not_applicable(m: _Move) -> None:
    m.step.note = _clean_text(m.reason, "不适用原因", "reason", required=True)
    m.step.state = StepState.not_applicable
    m.step.completed_at = m.now
    m.step.completed_on = m.now.date()


EFFECTS: dict[str, Callable[[_Move], None]] = {
    "start": _start, "complete": _complete, "block": _block, "unblock": _unblock, "not_applicable": _not_applicable,
}
assert set(EFFECTS) == set(TRANSITIONS), "every transition needs its effect"


def _refusal(transition: Transition, m: _Move) -> TransitionError:
    pending = m.pending()
    if transition.waiting_zh and pending and (transition.waiting_states is None or m.state in transition.waiting_states):
        names = {t.key: t for t in m.template.steps}
        return TransitionError(transition.waiting_zh + "、".join(names[k].name_zh for k in pending),
                               transition.waiting_en + ", ".join(names[k].name_en for k in pending))
    return TransitionError(transition.refused_zh.format(state=m.state), transition.refused_en.format(state=m.state))


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
    text_lang: str | None = None,
    translations: dict[str, str] | None = None,
) -> TransferStep:
    """Apply one staff action to one step (per ``TRANSITIONS``), then bring the rest of the transfer up to date.

    The note or reason is kept as written, in ``text_lang`` (default: the request's language);
    ``translations`` may give the same text in the other language (demo data, imports).
    """
    calendar = calendar or default_calendar()
    now = now or dt.datetime.now(dt.UTC)
    template = workflows()[AssetKind(transfer.asset_kind)]
    by_key = {s.key: s for s in transfer.steps}
    step = by_key.get(step_key)
    if step is None:
        raise UnknownStep("没有这个步骤。", f"This transfer has no step {step_key!r}.")
    transition = TRANSITIONS.get(action)
    if transition is None:
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
    before = {k: s.state for k, s in by_key.items()}
    move = _Move(step, states[step_key], template, states, now, note, reason)
    if move.state not in transition.allowed_from:
        raise _refusal(transition, move)
    written_before = {name: getattr(step, name) for name in FIELDS}
    EFFECTS[action](move)
    if any(getattr(step, name) != text for name, text in written_before.items()):
        texts = dict(step.texts or {})  # a new dict: the JSON column sees the change
        for name in FIELDS:
            if getattr(step, name) != written_before[name]:
                texts[name] = written_in(getattr(step, name), text_lang, translations)
        step.texts = {k: v for k, v in texts.items() if v is not None} or None

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
            await hub.publish(session, step_changed(transfer, s, before[key]))
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


async def step_events(session: AsyncSession, *, states: frozenset[StepState] | None = None,
                      step_ids: list[int] | None = None, limit: int = 5000) -> list[StepChanged]:
    """The present state of steps as events (``before`` None), for followers that missed some.

    Filtered by state and/or by step id; at most ``limit``, oldest transfers first.
    """
    stmt = _steps_with_transfer(limit)
    if states is not None:
        stmt = stmt.where(TransferStep.state.in_([s.value for s in states]))
    if step_ids is not None:
        if not step_ids:
            return []
        stmt = stmt.where(TransferStep.id.in_(step_ids))
    return [_present(*row) for row in (await session.execute(stmt)).all()]


def _steps_with_transfer(limit: int) -> Any:
    return (select(TransferStep, Transfer.tracking_no, Transfer.buyer_id, Transfer.asset_kind)
            .join(Transfer, Transfer.id == TransferStep.transfer_id)
            .order_by(TransferStep.transfer_id, TransferStep.position).limit(limit))


def _present(step: TransferStep, tracking_no: str, buyer_id: int, asset_kind: str) -> StepChanged:
    return StepChanged(transfer_id=step.transfer_id, tracking_no=tracking_no, buyer_id=buyer_id,
                       asset_kind=AssetKind(asset_kind), step_id=step.id, step_key=step.key,
                       department=step.department, before=None, state=StepState(step.state), due_on=step.due_on)


async def load_step(session: AsyncSession, step_id: int) -> tuple[Transfer, TransferStep]:
    """A step and its transfer, the transfer locked for the change to come (fresh from the database)."""
    step = await session.scalar(select(TransferStep).where(TransferStep.id == step_id)
                                .execution_options(populate_existing=True))
    if step is None:
        raise UnknownStep("找不到对应的过户步骤。", "The transfer step of this item no longer exists.")
    transfer = await session.scalar(select(Transfer).where(Transfer.id == step.transfer_id).with_for_update()
                                    .execution_options(populate_existing=True))
    assert transfer is not None
    return transfer, next(s for s in transfer.steps if s.id == step_id)


async def complete_step(session: AsyncSession, step_id: int, actor: Principal, note: str | None) -> None:
    """Complete a step named by id; nothing to do if it is already done or not applicable."""
    transfer, step = await load_step(session, step_id)
    if step.state in SATISFIED:
        return
    await move_step(session, transfer, step.key, "complete", actor, expected_revision=step.revision, note=note)


async def start_step(session: AsyncSession, step_id: int, actor: Principal) -> None:
    """Start a step named by id if it is ready (the buyer then sees "in progress")."""
    transfer, step = await load_step(session, step_id)
    if step.state != StepState.ready:
        return
    await move_step(session, transfer, step.key, "start", actor, expected_revision=step.revision)


async def open_step_for(session: AsyncSession, tracking_no: str, *, utility: str | None = None,
                        step_key: str | None = None) -> StepChanged | None:
    """The transfer's unfinished step a citizen's request is about (its utility, or its key), as
    its present state (one query: the steps with their transfer's facts)."""
    stmt = _steps_with_transfer(100).where(Transfer.tracking_no == tracking_no,
                                           TransferStep.state.not_in([s.value for s in SATISFIED]))
    for step, *facts in (await session.execute(stmt)).all():
        if (utility is not None and (step.details or {}).get("utility") == utility) or (
                step_key is not None and step.key == step_key):
            return _present(step, *facts)
    return None


async def note_request(session: AsyncSession, step_id: int, *, reference: str, url: str,
                       on: dt.date | None = None) -> None:
    """Show on the tracking page that the buyer's own request (``reference``) is handled as this step.

    The request's state is the step's: they are one job. The transfer's version moves on so
    that open tracking pages refresh. The version's UPDATE locks the transfer's row first, as a
    step's move does (:func:`load_step`): a move of this step waits for the note, or the note for
    the move, and the step is read after the lock.
    """
    of_step = select(TransferStep.transfer_id).where(TransferStep.id == step_id).scalar_subquery()
    await session.execute(update(Transfer).where(Transfer.id == of_step).values(version=Transfer.version + 1)
                          .execution_options(synchronize_session=False))
    step = await session.scalar(select(TransferStep).where(TransferStep.id == step_id)
                                .execution_options(populate_existing=True))
    if step is None:
        raise UnknownStep("找不到对应的过户步骤。", "The transfer step of this item no longer exists.")
    details = dict(step.details or {})
    requests = [r for r in details.get("requests", []) if r.get("reference") != reference]
    requests.append({"reference": reference, "url": url, "on": (on or dt.date.today()).isoformat()})
    details["requests"] = requests
    step.details = details
    await session.flush()
