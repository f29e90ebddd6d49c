"""Connects the back-office queue to the title transfer. The composition root's job: the
queue does not know transfers and transfers do not know the queue; this file only connects
them, the work is each side's own.

* A step that needs its department (ready, in progress, blocked) has an open queue item;
  a finished step (done, not applicable) has its item closed. This follows
  ``StepChanged`` (which names the asset kind), and is re-checked at start-up for anything
  an event missed (e.g. demo data loaded without the portal running).
* Completing the item completes the step; claiming the item starts a ready step (both in
  the same transaction). The step's own event then finds the item already in agreement
  and does nothing.
* :class:`TransferStepAdapter` tells the queue how to show a step item (subject, facts,
  links), how to verify forms that name a transfer (tracking number and verification code,
  throttled like the tracking page, or the signed-in buyer) and what the dashboards show
  (the sale → certificate medians).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from backoffice import forms, kinds, notify, service
from backoffice.digest import DigestJob
from backoffice.errors import HandlerRefused
from backoffice.models import WorkItem
from backoffice.registry import (
    Claim,
    Fact,
    Figure,
    Link,
    MetricsSection,
    SourceAdapter,
    StaffPage,
    Verified,
    registry,
)
from portal.case_wiring import CaseStatsRefresher, wire_case_queue
from portal.lot_wiring import wire_lots
from portal.templating import STATE_LABELS
from storage.context import AppContext
from storage.events import hub
from title_transfer import controllers as transfer_controllers
from title_transfer import forms as transfer_forms
from title_transfer import service as transfers
from title_transfer.access import may_act_on
from title_transfer.events import StepChanged
from title_transfer.service import TransitionError
from title_transfer.stats import transfer_times
from title_transfer.workflow import SATISFIED, StepState, step_names

log = logging.getLogger("portal.queue")
SOURCE = "transfer_step"
KIND = "transfer_step"
OPEN_STEP = frozenset({StepState.ready, StepState.in_progress, StepState.blocked})


async def on_step_changed(session: AsyncSession, event: StepChanged) -> None:
    """Keep the step's queue item in agreement with the step (idempotent)."""
    state = event.state
    if state not in OPEN_STEP and state not in SATISFIED:
        return  # waiting on another step: nothing for the department to do yet
    await _follow(session, event)


async def _follow(session: AsyncSession, event: StepChanged) -> WorkItem | None:
    """The step's item made to agree with the step (opened for any unfinished step)."""
    state = event.state
    name_zh, name_en = step_names(event.asset_kind, event.step_key)
    data = {"tracking_number": event.tracking_no, "transfer_id": event.transfer_id,
            "step_id": event.step_id, "step_key": event.step_key, "step_state": state.value,
            "step_name_zh": name_zh, "step_name_en": name_en}
    done_zh = "已在过户步骤页面办结" if state == StepState.done else "已在过户步骤页面标记为不适用"
    done_en = "completed on the step page" if state == StepState.done else "marked not applicable on the step page"
    return await service.follow_source(
        session, source_type=SOURCE, source_id=event.step_id, kind=KIND, department=event.department,
        open_=state not in SATISFIED, citizen_id=event.buyer_id, subject=f"{event.tracking_no} · {name_zh}",
        data=data, due=kinds.end_of_day(event.due_on), note_zh=done_zh, note_en=done_en,
    )


async def complete_step(session: AsyncSession, item: WorkItem, actor: Principal, note: str | None) -> None:
    """Completing the queue item completes the transfer step, in the same transaction."""
    try:
        await transfers.complete_step(session, _step_id(item), actor, note)
    except TransitionError as exc:
        raise HandlerRefused(exc.message_zh, exc.message_en) from None


async def start_step(session: AsyncSession, item: WorkItem, actor: Principal) -> None:
    """Claiming the item of a ready step starts the step (the buyer sees "in progress")."""
    try:
        await transfers.start_step(session, _step_id(item), actor)
    except TransitionError as exc:
        raise HandlerRefused(exc.message_zh, exc.message_en) from None


def _step_id(item: WorkItem) -> int:
    assert item.source_id is not None
    return item.source_id


class TransferStepAdapter(SourceAdapter):
    """The title transfer, as the queue sees it: step items and forms that name a transfer."""

    source_type = SOURCE
    reference_field = transfer_forms.TRACKING_FIELD
    code_field = transfer_forms.CODE_FIELD

    def subject(self, item: WorkItem, lang: str) -> str | None:
        data = item.data or {}
        name = data.get("step_name_zh") if lang == "zh" else data.get("step_name_en")
        return f"{data.get('tracking_number', '')} · {name or data.get('step_key', '')}"

    def facts(self, item: WorkItem) -> list[Fact]:
        data = item.data or {}
        state_zh, state_en = STATE_LABELS.get(data.get("step_state", ""), ("", ""))
        no = str(data.get("tracking_number", ""))
        facts = [Fact("查询号", "Tracking number", no, no),
                 Fact("步骤", "Step", str(data.get("step_name_zh", "")), str(data.get("step_name_en", ""))),
                 Fact("步骤状态", "Step state", state_zh, state_en)]
        # What a citizen's request that joined this item added (one job, one item).
        for request in data.get("requests", []):
            labels = forms.labels(str(request.get("kind", "")))
            for name in request.get("fields", []):
                if name in labels and data.get(name) not in (None, ""):
                    value = str(data[name])
                    zh_value = forms.choice_label(str(request["kind"]), name, value, "zh")
                    en_value = forms.choice_label(str(request["kind"]), name, value, "en")
                    facts.append(Fact(labels[name][0], labels[name][1], zh_value, en_value))
        return facts

    def staff_link(self, item: WorkItem) -> Link | None:
        data = item.data or {}
        return Link(f"/staff/transfers/{data.get('tracking_number')}#step-{data.get('step_key')}",
                    "打开过户步骤页面", "Open the step page",
                    "在此办结即办结该步骤;在步骤页面办结也会同时关闭本事项。",
                    "Completing here completes the step; completing the step there closes this item.")

    def citizen_link(self, item: WorkItem) -> Link | None:
        return Link(f"/track/{(item.data or {}).get('tracking_number')}", "查看整个过户进度", "See the whole transfer")

    async def verify(self, ctx: Any, claim: Claim) -> Verified | None:
        record = await may_act_on(ctx.engine, ctx.code_checker, claim.reference, claim.code,
                                  claim.citizen_id, claim.client_key)
        if record is None:
            return None
        return Verified(reference=record.view.tracking_no, owner_id=record.buyer_id, title=record.view.title)

    def refusal(self, claim: Claim) -> tuple[str, str]:
        if claim.code is None:
            return ("该查询号不在您的账户下,请填写成交确认书上的查询码。",
                    "This tracking number is not in your account: give the query code from the sale "
                    "confirmation.")
        return ("查询号与查询码不匹配,请核对成交确认书。",
                "The tracking number and query code do not match; check the sale confirmation.")

    async def joins(self, session: AsyncSession, kind: str, data: dict[str, Any],
                    verified: Verified) -> WorkItem | None:
        """A utility handover request is the transfer's utility step; a delivery appointment its delivery step.

        The step's item is opened now if the step still waits on another one: the department
        sees the request at once, and completes it when the step can be completed.
        """
        step = None
        if kind == "utility_handover" and data.get("utility_type"):
            step = await transfers.open_step_for(session, verified.reference, utility=str(data["utility_type"]))
        elif kind == "delivery_appointment":
            step = await transfers.open_step_for(session, verified.reference, step_key="delivery")
        return await _follow(session, step) if step is not None else None

    async def joined(self, session: AsyncSession, item: WorkItem, kind: str) -> None:
        await transfers.note_request(session, _step_id(item), reference=item.reference,
                                     url=f"/my/submissions/{item.reference}")

    async def metrics(self, session: AsyncSession) -> list[MetricsSection]:
        times = await transfer_times(session)
        certificate = MetricsSection(
            heading_zh="从成交到领取不动产权证书", heading_en="From sale to title certificate",
            hint_zh="改革的衡量标准:改革前,成交后约需20天才能领到不动产权证书。过户按近一年统计。",
            hint_en="The reform's measure: before it, the title certificate took about 20 days after the sale. "
                    "Transfers of the last year.",
            chart_title_zh="成交到领取不动产权证书(中位数,天)", chart_title_en="Sale to title certificate (median, days)",
            figures=[Figure("改革前", "Before the reform", times.baseline_days, None, "muted"),
                     Figure("现在", "Now", times.sale_to_certificate_days, times.certificates, "ok")],
            counted_zh="统计的过户数:", counted_en="Transfers counted:", counted=times.certificates,
        )
        steps = MetricsSection(
            heading_zh="各步骤在成交后第几天完成", heading_en="Each step, in days after the sale",
            chart_title_zh="成交后各步骤完成用时(中位数,天)", chart_title_en="Days from sale to each step done (median)",
            figures=[Figure(s.name_zh, s.name_en, s.median_days, s.count) for s in times.per_step],
        )
        return [certificate, steps]


async def reconcile_steps(ctx: AppContext) -> int:
    """Open items for open steps that have none; close items of finished steps. Returns how many changed."""
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        open_steps = await transfers.step_events(session, states=OPEN_STEP)
        have = await service.followed_sources(session, SOURCE, source_ids=[e.step_id for e in open_steps])
        missing = [e for e in open_steps if e.step_id not in have]
        open_items = await service.followed_sources(session, SOURCE, open_only=True)
        finished = await transfers.step_events(session, states=SATISFIED, step_ids=sorted(open_items))
        events = missing + finished
        for event in events:
            await on_step_changed(session, event)
        try:
            await session.commit()
        except IntegrityError:  # another portal process did the same at the same moment
            await session.rollback()
            return 0
    if events:
        log.info("queue: brought %d transfer-step item(s) in line with their steps", len(events))
    return len(events)


def build_sender(settings: Any) -> notify.Sender:
    queue = settings.queue
    if queue.notify_sender == "sms":
        return notify.SmsGatewaySender(queue.sms_gateway_url, queue.sms_gateway_token)
    if queue.notify_sender == "email":
        return notify.SmtpSender(queue.smtp_host, queue.smtp_port, queue.smtp_from,
                                 timeout=queue.smtp_timeout_seconds)
    return notify.LogSender()


Hook = Callable[[], Awaitable[Any]]


def wire_backoffice(ctx: AppContext) -> tuple[list[Hook], list[Hook]]:
    """Subscribe and register everything; returns (on_startup, on_shutdown) hooks for the app."""
    kinds.catalogue()  # validate the kinds file now, not in the first request
    hub.subscribe(StepChanged, on_step_changed)
    registry.on_complete(KIND, complete_step)
    registry.on_claim(KIND, start_step)
    registry.register(TransferStepAdapter())
    registry.add_staff_page(StaffPage(*transfer_controllers.STAFF_PAGE))
    wire_case_queue()  # clues naming a case; followers told of new nodes (portal/case_wiring.py)
    reconcile_lots = wire_lots(ctx)  # pre-review items, sale → transfer, lot documents (portal/lot_wiring.py)
    queue = ctx.settings.queue
    drainer = notify.Drainer(ctx.engine, build_sender(ctx.settings), queue.notify_interval_seconds,
                             batch=queue.notify_batch, lease=dt.timedelta(seconds=queue.notify_lease_seconds))
    ctx.outbox_drainer = drainer
    digests = DigestJob(ctx.engine, ctx.settings.queue.digest_interval_seconds, ctx.settings.queue.digest_hour)

    async def reconcile() -> None:
        try:
            await reconcile_steps(ctx)
        except Exception:  # noqa: BLE001 - the portal still serves; the next start tries again
            log.exception("queue: reconciling transfer-step items failed")

    case_stats = CaseStatsRefresher(ctx.engine, ctx.settings.case_stats_interval_seconds)
    return ([reconcile, reconcile_lots, drainer.start, digests.start, case_stats.start],
            [digests.stop, drainer.stop, case_stats.stop])
