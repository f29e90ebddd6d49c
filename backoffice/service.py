"""Every change to a work item other than taking and finishing it (backoffice.claims):
open, reply, ask for a correction (补正), reject, forward; the citizen's replies, answers and
disputes; items that follow another domain's objects.

Each change is a conditional UPDATE on the version just read (backoffice.records), plus its
audit row and, where the citizen should hear of it, an outbox row, all in the caller's
transaction. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import Department
from accounts.principal import Principal
from backoffice import forms, kinds
from backoffice.claims import DEFAULT_LEASE_SECONDS, claim, claim_next, complete, extend, release
from backoffice.errors import NOT_FOUND, InvalidAction, WrongState
from backoffice.models import OPEN_STATES, ItemMessage, ItemState, MessageKind, WorkItem
from backoffice.records import (
    SUBJECT,
    SYSTEM,
    Actor,
    cas,
    check_staff,
    clean_body,
    commit_change,
    get,
    load,
    message,
    queue_state,
    record,
    require_holder,
    snapshot,
    stale,
)
from storage.db import utcnow

# The whole queue API in one place for callers (controllers, other domains, tests).
__all__ = ["Actor", "SYSTEM", "SUBJECT", "WorkItem", "DEFAULT_LEASE_SECONDS", "open_item", "claim", "claim_next",
           "extend", "release", "complete", "reply", "request_correction", "reject", "forward", "citizen_item", "citizen_reply",
           "answer_correction", "dispute", "find_by_source", "follow_source", "join_item", "thread", "load",
           "check_staff"]


# --- opening items -----------------------------------------------------------------------------


async def open_item(
    session: AsyncSession,
    *,
    kind: str,
    department: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    citizen_id: int | None = None,
    subject: str = "",
    channel: str = "web",
    language: str = "zh",
    due: dt.datetime | None = None,
    priority: int | None = None,
    source_type: str | None = None,
    source_id: int | None = None,
    transcript: list[dict[str, str]] | None = None,
    notify_citizen: bool = True,
    now: dt.datetime | None = None,
) -> WorkItem:
    """Put a new item in ``department``'s queue (any domain may call this; it does not commit)."""
    spec = kinds.kind(kind)
    if spec is None:
        raise ValueError(f"unknown kind {kind!r}")
    Department(department)
    now = now or utcnow()
    item = WorkItem(
        kind=kind, department=department, state=ItemState.new.value,
        priority=spec.priority if priority is None else priority, subject=subject[:200], data=data or {},
        channel=channel, language=language if language in ("zh", "en") else "zh", citizen_id=citizen_id,
        source_type=source_type, source_id=source_id,
        due_at=due or kinds.due_at(now, spec.sla_working_days), version=1, created_at=now, updated_at=now,
    )
    session.add(item)
    await session.flush()
    if transcript:
        await message(session, item, actor, MessageKind.transcript, data={"lines": transcript}, visible=True, now=now)
    await record(session, item, actor, "open", None, event="item.received" if notify_citizen else None, kind=kind,
                 channel=channel, source_type=source_type, source_id=source_id)
    return item


async def join_item(session: AsyncSession, item: WorkItem, *, kind: str, actor: Actor, data: dict[str, Any],
                    citizen_id: int | None, channel: str = "web", transcript: list[dict[str, str]] | None = None,
                    now: dt.datetime | None = None) -> WorkItem:
    """A citizen's form that asks for the work ``item`` already does joins it (one job, one item).

    Its fields are added to the item's data (what the item already holds stays), the form
    is a "submitted" message in the thread, and the citizen is told the item's reference.
    """
    now = now or utcnow()
    merged = {**{k: v for k, v in data.items() if k not in (item.data or {})}, **(item.data or {})}
    requests = [*merged.get("requests", []), {"kind": kind, "channel": channel, "at": now.isoformat(),
                                               "fields": sorted(k for k in data if k not in (item.data or {}))}]
    merged["requests"] = requests
    for key in ("contact_phone", "account_holder_name"):  # the citizen's latest contact is the one to use
        if data.get(key):
            merged[key] = data[key]
    before = snapshot(item)
    await commit_change(session, item, now, data=merged,
                        **({"citizen_id": citizen_id} if item.citizen_id is None and citizen_id else {}))
    if transcript:
        await message(session, item, actor, MessageKind.transcript, data={"lines": transcript}, now=now)
    await message(session, item, actor, MessageKind.submitted, data={"kind": kind, "fields": data}, now=now)
    await record(session, item, actor, "join_request", before, event="item.received", kind=kind, channel=channel)
    return item


# --- staff actions ----------------------------------------------------------------------------


async def reply(session: AsyncSession, item_id: int, principal: Principal, body: str, *,
                expected_version: int | None = None, lease_seconds: int = DEFAULT_LEASE_SECONDS,
                now: dt.datetime | None = None) -> WorkItem:
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version)
    text = clean_body(body, required=True, what=("回复内容", "reply"))
    before = snapshot(item)
    await commit_change(session, item, now, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
    await message(session, item, Actor.staff(principal), MessageKind.reply, text, now=now)
    await record(session, item, Actor.staff(principal), "reply", before, event="item.reply", body=text)
    return item


async def request_correction(session: AsyncSession, item_id: int, principal: Principal, body: str,
                             fields: list[str] | None = None, *, expected_version: int | None = None,
                             now: dt.datetime | None = None) -> WorkItem:
    """Ask the citizen to correct or complete something (补正); the item waits for them."""
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version)
    text = clean_body(body, required=True, what=("补正要求", "request"))
    allowed = forms.correctable(item.kind)
    wanted = [f for f in dict.fromkeys(fields or []) if f in allowed and f != "verification_code"]
    if item.citizen_id is None:
        raise InvalidAction("提交人未登录账户,无法在线补正;请电话联系。",
                            "The submitter has no account to answer in; please phone them.")
    before = snapshot(item)
    await commit_change(session, item, now, state=ItemState.waiting_citizen.value, claimed_by=None,
                         claimed_by_label=None, lease_expires_at=None, correction_fields=wanted)
    await message(session, item, Actor.staff(principal), MessageKind.correction_request, text, {"fields": wanted}, now=now)
    await record(session, item, Actor.staff(principal), "request_correction", before,
                 event="item.correction_requested", body=text, fields=wanted)
    return item


async def reject(session: AsyncSession, item_id: int, principal: Principal, reason: str, *,
                 expected_version: int | None = None, now: dt.datetime | None = None) -> WorkItem:
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version)
    if item.source_type is not None:
        raise InvalidAction("该事项来自其他业务,请在其办理页面标记受阻或不适用。",
                            "This item comes from another workflow: block it or mark it not "
                            "applicable on its own page.")
    text = clean_body(reason, required=True, what=("不予办理的理由", "reason"))
    before = snapshot(item)
    await commit_change(session, item, now, state=ItemState.rejected.value, closed_at=now, lease_expires_at=None,
                         resolution=text, correction_fields=None)
    await message(session, item, Actor.staff(principal), MessageKind.rejected, text, now=now)
    await record(session, item, Actor.staff(principal), "reject", before, event="item.rejected", reason=text)
    return item


async def forward(session: AsyncSession, item_id: int, principal: Principal, to_department: str,
                  note: str | None = None, *, expected_version: int | None = None,
                  now: dt.datetime | None = None) -> WorkItem:
    """Hand the item to another department's queue (unclaimed there)."""
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version)
    spec = kinds.kind(item.kind)
    if spec is None or not spec.forwardable or item.source_type is not None:
        raise InvalidAction("这类事项不能转交其他部门。", "Items of this kind cannot be forwarded.")
    try:
        target = Department(to_department).value
    except ValueError:
        raise InvalidAction("请选择要转交的部门。", "Choose the department to forward to.") from None
    if target == item.department:
        raise InvalidAction("已在该部门,无需转交。", "The item is already with that department.")
    text = clean_body(note, required=False, what=("转交说明", "note"))
    before = snapshot(item)
    await commit_change(session, item, now, department=target, state=queue_state(item), claimed_by=None,
                         claimed_by_label=None, lease_expires_at=None)
    await message(session, item, Actor.staff(principal), MessageKind.forwarded, text,
             {"from": before["department"], "to": target}, visible=False, now=now)
    await record(session, item, Actor.staff(principal), "forward", before, event="item.forwarded",
                 event_payload={"department": target}, note=text or None)
    return item


# --- the citizen's side -------------------------------------------------------------------------


async def citizen_item(session: AsyncSession, item_id: int, citizen_id: int) -> WorkItem:
    """The item if it concerns this citizen; otherwise the same "not found" as a missing one."""
    item = await load(session, item_id)
    if item is None or item.citizen_id != citizen_id:
        raise NOT_FOUND
    return item


async def citizen_reply(session: AsyncSession, item_id: int, citizen: Actor, body: str, *,
                        expected_version: int | None = None, now: dt.datetime | None = None) -> WorkItem:
    now = now or utcnow()
    assert citizen.id is not None
    item = await citizen_item(session, item_id, citizen.id)
    if not item.is_open:
        raise WrongState("这条事项已办结;如有异议请提出异议。", "This item is closed; dispute it if you disagree.")
    if expected_version is not None and expected_version != item.version:
        raise stale()
    text = clean_body(body, required=True, what=("留言", "message"))
    before = snapshot(item)
    # The version moves on, so staff acting on what they saw before this message is told to look again.
    await commit_change(session, item, now)
    await message(session, item, citizen, MessageKind.citizen_reply, text, now=now)
    await record(session, item, citizen, "citizen_reply", before, body=text)
    return item


async def answer_correction(session: AsyncSession, item_id: int, citizen: Actor, changes: dict[str, Any],
                            body: str | None, *, expected_version: int | None = None,
                            now: dt.datetime | None = None) -> WorkItem:
    """The citizen's answer to a 补正 request: corrected fields (validated by the kind's schema) and a note."""
    now = now or utcnow()
    assert citizen.id is not None
    item = await citizen_item(session, item_id, citizen.id)
    if not item.is_open or item.correction_fields is None:
        raise WrongState("目前没有需要您补正的内容。", "Nothing is waiting for a correction from you.")
    if expected_version is not None and expected_version != item.version:
        raise stale()
    asked = [name for name in item.correction_fields if name != forms.DOCUMENT_FIELD]
    text = clean_body(body, required=not item.correction_fields, what=("补正说明", "answer"))
    data = dict(item.data or {})
    updated: dict[str, Any] = {}
    if asked and item.kind in forms.FORMS:
        # Only the asked fields, each on its own: another field gone stale since (a preferred
        # date now past) must neither block the answer nor let it through unchecked.
        answers = {name: changes[name] if name in changes else data.get(name) for name in asked}
        source = forms.validate_fields(item.kind, answers, asked, identified=True)
        for name in asked:
            if name in source and source[name] != data.get(name, ""):
                updated[name] = {"before": data.get(name, ""), "after": source[name]}
                data[name] = source[name]
    before = snapshot(item)
    state = item.state if item.state == ItemState.claimed else queue_state(item)
    await commit_change(session, item, now, state=state, data=data, correction_fields=None,
                         subject=forms.subject_line(item.kind, data)[:200] or item.subject)
    await message(session, item, citizen, MessageKind.correction_answer, text, {"changed": updated}, now=now)
    await record(session, item, citizen, "answer_correction", before, body=text, changed=updated)
    return item


async def dispute(session: AsyncSession, item_id: int, citizen: Actor, reason: str, *,
                  now: dt.datetime | None = None) -> WorkItem:
    """Reopen a closed item with the citizen's dispute attached (within the dispute window)."""
    now = now or utcnow()
    assert citizen.id is not None
    item = await citizen_item(session, item_id, citizen.id)
    spec = kinds.kind(item.kind)
    if item.is_open:
        raise WrongState("这条事项仍在办理中,可直接留言。", "This item is still open; write a message instead.")
    if spec is None or not spec.disputable:
        raise InvalidAction("这类事项不能在线提出异议,请使用“转人工服务”。",
                            "Items of this kind cannot be disputed online; use “Talk to a person”.")
    window = kinds.catalogue().dispute_window_days
    if item.closed_at is not None and now - item.closed_at > dt.timedelta(days=window):
        raise WrongState(f"办结已超过{window}天,不能在线提出异议。",
                         f"It is more than {window} days since this was closed; it cannot be disputed online.")
    text = clean_body(reason, required=True, what=("异议理由", "reason"))
    dispute_kind = kinds.kind("dispute")
    before = snapshot(item)
    await commit_change(
        session, item, now, state=ItemState.reopened.value, reopened_at=now, closed_at=None, claimed_by=None,
        claimed_by_label=None, lease_expires_at=None,
        priority=max(item.priority, kinds.catalogue().dispute_priority),
        due_at=kinds.due_at(now, dispute_kind.sla_working_days if dispute_kind else 3),
    )
    await message(session, item, citizen, MessageKind.dispute, text, now=now)
    await record(session, item, citizen, "dispute", before, event="item.reopened", reason=text)
    return item


# --- items that follow another domain's objects --------------------------------------------------


async def find_by_source(session: AsyncSession, source_type: str, source_id: int) -> WorkItem | None:
    return await session.scalar(
        select(WorkItem).where(WorkItem.source_type == source_type, WorkItem.source_id == source_id)
        .execution_options(populate_existing=True)
    )


async def follow_source(
    session: AsyncSession,
    *,
    source_type: str,
    source_id: int,
    kind: str,
    department: str,
    open_: bool,
    citizen_id: int | None = None,
    subject: str = "",
    data: dict[str, Any] | None = None,
    due: dt.datetime | None = None,
    note_zh: str = "",
    note_en: str = "",
    now: dt.datetime | None = None,
) -> WorkItem | None:
    """Make the item for (source_type, source_id) agree with its source, idempotently.

    ``open_``: the source needs the department → an open item exists (created if missing;
    its data and due date follow the source). Otherwise the source is finished → its item
    is closed as done, unless it is already closed (then nothing happens: this is how an
    item completed from the queue ignores the event its own completion caused).
    """
    now = now or utcnow()
    item = await find_by_source(session, source_type, source_id)
    if open_:
        if item is None:
            return await open_item(session, kind=kind, department=department, actor=SYSTEM, data=data,
                                   citizen_id=citizen_id, subject=subject, channel="system", due=due,
                                   source_type=source_type, source_id=source_id, notify_citizen=False, now=now)
        changes: dict[str, Any] = {}
        if data is not None:
            data = {**(item.data or {}), **data}  # keep what joined requests added
        if data is not None and data != item.data:
            changes["data"] = data
        if due is not None and due != item.due_at:
            changes["due_at"] = due
        if changes:
            before = snapshot(item)
            if not await cas(session, item, now, **changes):
                raise stale()
            await record(session, item, SYSTEM, "source_update", before, changes=sorted(changes))
        return item
    if item is None or not item.is_open:
        return item
    before = snapshot(item)
    if not await cas(session, item, now, state=ItemState.done.value, closed_at=now, lease_expires_at=None,
                      resolution=None, correction_fields=None,
                      **({"data": {**(item.data or {}), **data}} if data else {})):
        raise stale()
    # The system's own words, in both languages apart: each reader sees theirs (never "中文 / English").
    await message(session, item, SYSTEM, MessageKind.system, "", {"text_zh": note_zh, "text_en": note_en}, now=now)
    await record(session, item, SYSTEM, "close_by_source", before, note=note_en or None)
    return item


async def followed_sources(session: AsyncSession, source_type: str, *, source_ids: list[int] | None = None,
                           open_only: bool = False) -> dict[int, bool]:
    """Source ids of this type that have an item (among ``source_ids`` if given) → whether it is open."""
    open_states = [st.value for st in OPEN_STATES]
    stmt = select(WorkItem.source_id, WorkItem.state).where(WorkItem.source_type == source_type,
                                                            WorkItem.source_id.is_not(None))
    if open_only:
        stmt = stmt.where(WorkItem.state.in_(open_states))
    found: dict[int, bool] = {}
    chunks = [None] if source_ids is None else [source_ids[i:i + 500] for i in range(0, len(source_ids), 500)]
    for chunk in chunks:
        rows = await session.execute(stmt if chunk is None else stmt.where(WorkItem.source_id.in_(chunk)))
        found.update({source_id: state in open_states for source_id, state in rows.all() if source_id is not None})
    return found


async def thread(session: AsyncSession, item: WorkItem, *, citizen_view: bool) -> list[ItemMessage]:
    stmt = select(ItemMessage).where(ItemMessage.item_id == item.id).order_by(ItemMessage.id)
    if citizen_view:
        stmt = stmt.where(ItemMessage.visible_to_citizen.is_(True))
    return list((await session.scalars(stmt)).all())
