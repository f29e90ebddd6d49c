"""Connects the back-office queue to the title transfer. The composition root's job: the
queue does not know transfers and transfers do not know the queue.

* A step that needs its department (ready, in progress, blocked) has an open queue item;
  a finished step (done, not applicable) has its item closed. This follows
  ``StepChanged`` (which names the asset kind), and is re-checked at start-up for anything an event missed
  (e.g. demo data loaded without the portal running).
* Completing the item completes the step (``move_step(..., "complete")``) in the same
  transaction; claiming the item starts a ready step. The step's own event then finds the
  item already in agreement and does nothing.
* Forms that name a transfer are checked against its tracking number and verification
  code (throttled like the tracking page), or against the signed-in buyer.
* The dashboards get the sale → certificate medians from the transfer tables.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from backoffice import kinds, notify, service
from backoffice.errors import HandlerRefused
from backoffice.models import OPEN_STATES, WorkItem
from backoffice.registry import StepMedian, TransferCheck, TransferMatch, TransferMetrics, registry
from storage.context import AppContext
from storage.events import hub
from title_transfer.events import StepChanged
from title_transfer.models import Transfer, TransferStep
from title_transfer.read import fetch_transfer
from title_transfer.service import TransitionError, move_step
from title_transfer.workflow import SATISFIED, AssetKind, StepState, step_names, workflows

log = logging.getLogger("portal.queue")
SOURCE = "transfer_step"
KIND = "transfer_step"
OPEN_STEP = frozenset({StepState.ready, StepState.in_progress, StepState.blocked})
CERTIFICATE_STEP = "certificate_issued"


async def on_step_changed(session: AsyncSession, event: StepChanged) -> None:
    """Keep the step's queue item in agreement with the step (idempotent)."""
    state = event.state
    if state not in OPEN_STEP and state not in SATISFIED:
        return  # waiting on another step: nothing for the department to do yet
    name_zh, name_en = step_names(event.asset_kind, event.step_key)
    data = {"tracking_number": event.tracking_no, "transfer_id": event.transfer_id,
            "step_id": event.step_id, "step_key": event.step_key, "step_state": state.value,
            "step_name_zh": name_zh, "step_name_en": name_en}
    done_zh = "已在过户步骤页面办结" if state == StepState.done else "已在过户步骤页面标记为不适用"
    done_en = "completed on the step page" if state == StepState.done else "marked not applicable on the step page"
    await service.follow_source(
        session, source_type=SOURCE, source_id=event.step_id, kind=KIND, department=event.department,
        open_=state in OPEN_STEP, citizen_id=event.buyer_id, subject=f"{event.tracking_no} · {name_zh}",
        data=data, due=kinds.end_of_day(event.due_on), note_zh=done_zh, note_en=done_en,
    )


async def _transfer_of(session: AsyncSession, item: WorkItem) -> tuple[Transfer, TransferStep]:
    step = await session.scalar(select(TransferStep).where(TransferStep.id == item.source_id)
                                .execution_options(populate_existing=True))
    if step is None:
        raise HandlerRefused("找不到对应的过户步骤。", "The transfer step of this item no longer exists.")
    transfer = await session.scalar(select(Transfer).where(Transfer.id == step.transfer_id).with_for_update()
                                    .execution_options(populate_existing=True))
    assert transfer is not None
    step = next(s for s in transfer.steps if s.id == item.source_id)
    return transfer, step


async def complete_step(session: AsyncSession, item: WorkItem, actor: Principal, note: str | None) -> None:
    """Completing the queue item completes the transfer step, in the same transaction."""
    transfer, step = await _transfer_of(session, item)
    if step.state in SATISFIED:
        return  # already finished on the step page: the two agree
    try:
        await move_step(session, transfer, step.key, "complete", actor, expected_revision=step.revision, note=note)
    except TransitionError as exc:
        raise HandlerRefused(exc.message_zh, exc.message_en) from None


async def start_step(session: AsyncSession, item: WorkItem, actor: Principal) -> None:
    """Claiming the item of a ready step starts the step (the buyer sees "in progress")."""
    transfer, step = await _transfer_of(session, item)
    if step.state != StepState.ready:
        return
    try:
        await move_step(session, transfer, step.key, "start", actor, expected_revision=step.revision)
    except TransitionError as exc:
        raise HandlerRefused(exc.message_zh, exc.message_en) from None


async def verify_transfer(ctx: AppContext, check: TransferCheck) -> TransferMatch | None:
    record = await fetch_transfer(ctx.engine, check.tracking_no)
    if check.code:
        # Throttled (shared by both domains) propagates to the queue's caller as it is.
        ok = await ctx.code_checker.check(record, check.tracking_no, check.code, check.client_key)
        if not ok or record is None:
            return None
    elif record is None or check.citizen_id is None or record.buyer_id != check.citizen_id:
        return None
    return TransferMatch(tracking_no=record.view.tracking_no, buyer_id=record.buyer_id, title=record.view.title)


def _any_step_names(key: str) -> tuple[str, str]:
    for kind in workflows():
        zh, en = step_names(kind, key)
        if (zh, en) != (key, key):
            return zh, en
    return key, key


async def transfer_metrics(session: AsyncSession, days: int = 365) -> TransferMetrics:
    """Median days from the sale to each step's completion, over transfers started in the last year."""
    since = dt.date.today() - dt.timedelta(days=days)
    rows = (await session.execute(
        select(Transfer.asset_kind, Transfer.started_on, TransferStep.key, TransferStep.completed_on)
        .join(TransferStep, TransferStep.transfer_id == Transfer.id)
        .where(Transfer.started_on >= since, TransferStep.state == StepState.done.value,
               TransferStep.completed_on.is_not(None))
    )).all()
    by_step: dict[str, list[int]] = {}
    for _kind, started, key, completed in rows:
        if completed is None:
            continue
        by_step.setdefault(key, []).append((completed - started).days)
    order = [s.key for t in workflows().values() for s in t.steps]
    per_step = []
    for key in dict.fromkeys(order):
        values = by_step.get(key, [])
        zh, en = _any_step_names(key)
        per_step.append(StepMedian(key, zh, en, statistics.median(values) if values else None, len(values)))
    certs = by_step.get(CERTIFICATE_STEP, [])
    return TransferMetrics(sale_to_certificate_days=statistics.median(certs) if certs else None,
                           certificates=len(certs), per_step=per_step)


async def reconcile_steps(ctx: AppContext) -> int:
    """Open items for open steps that have none; close items of finished steps. Returns how many changed."""
    item = WorkItem
    open_states = [s.value for s in OPEN_STATES]
    stmt = (
        select(TransferStep, Transfer.tracking_no, Transfer.buyer_id, Transfer.asset_kind)
        .join(Transfer, Transfer.id == TransferStep.transfer_id)
        .outerjoin(item, and_(item.source_type == SOURCE, item.source_id == TransferStep.id))
        .where(or_(
            and_(TransferStep.state.in_([s.value for s in OPEN_STEP]), item.id.is_(None)),
            and_(TransferStep.state.in_([s.value for s in SATISFIED]), item.state.in_(open_states)),
        ))
        .limit(5000)
    )
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        rows = (await session.execute(stmt)).all()
        for step, tracking_no, buyer_id, asset_kind in rows:
            await on_step_changed(session, StepChanged(
                transfer_id=step.transfer_id, tracking_no=tracking_no, buyer_id=buyer_id,
                asset_kind=AssetKind(asset_kind), step_id=step.id, step_key=step.key, department=step.department,
                before=None, state=StepState(step.state), due_on=step.due_on,
            ))
        try:
            await session.commit()
        except IntegrityError:  # another portal process did the same at the same moment
            await session.rollback()
            return 0
    if rows:
        log.info("queue: brought %d transfer-step item(s) in line with their steps", len(rows))
    return len(rows)


def build_sender(settings: Any) -> notify.Sender:
    queue = settings.queue
    if queue.notify_sender == "sms":
        return notify.SmsGatewaySender(queue.sms_gateway_url, queue.sms_gateway_token)
    if queue.notify_sender == "email":
        return notify.SmtpSender(queue.smtp_host, queue.smtp_port, queue.smtp_from)
    return notify.LogSender()


Hook = Callable[[], Awaitable[Any]]


def wire_backoffice(ctx: AppContext) -> tuple[list[Hook], list[Hook]]:
    """Subscribe and register everything; returns (on_startup, on_shutdown) hooks for the app."""
    kinds.catalogue()  # validate the kinds file now, not in the first request
    hub.subscribe(StepChanged, on_step_changed)
    registry.on_complete(KIND, complete_step)
    registry.on_claim(KIND, start_step)
    registry.set_transfer_verifier(verify_transfer)
    registry.set_transfer_metrics(transfer_metrics)
    drainer = notify.Drainer(ctx.engine, build_sender(ctx.settings), ctx.settings.queue.notify_interval_seconds)
    ctx.extras["outbox_drainer"] = drainer

    async def reconcile() -> None:
        try:
            await reconcile_steps(ctx)
        except Exception:  # noqa: BLE001 - the portal still serves; the next start tries again
            log.exception("queue: reconciling transfer-step items failed")

    return [reconcile, drainer.start], [drainer.stop]
