"""Reading an item and writing what a change leaves behind: the audit row, the citizen's
notification (outbox), a message in the thread.

Every change to an item is one conditional UPDATE of a row just read (``… WHERE id = :id
AND version = :seen``): it applies only if nobody changed the item in between, on either
database. The rows a change leaves go into the same transaction with prepared INSERTs
(on PostgreSQL the audit row and the outbox row in one statement): the queue's claim and
completion are its busiest writes, and an ORM flush per change cost more than the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from accounts.departments import DEPARTMENT_NAMES, Department
from accounts.principal import Principal
from backoffice import forms, kinds, notify
from backoffice.errors import NOT_FOUND, HeldByOther, InvalidAction, NotYourDepartment, StaleItem, WrongState
from backoffice.models import (
    CLOSED_STATES,
    ItemMessage,
    ItemState,
    MessageKind,
    WorkItem,
    on_postgres,
    reference,
    table,
)
from kernel.i18n import current_lang
from storage.audit import AuditEntry
from storage.db import utcnow

MAX_MESSAGE = 2000
SUBJECT = "work_item"


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str
    kind: str  # staff / citizen / system

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls(principal.user_id, principal.label, "staff")

    @classmethod
    def citizen(cls, user_id: int | None, label: str | None = None) -> Actor:
        return cls(user_id, label or f"citizen:{user_id}", "citizen")


SYSTEM = Actor(None, "system", "system")


@dataclass
class ItemRef:
    """What the busiest paths need of an item, straight from a RETURNING row (no ORM object)."""

    id: int
    kind: str
    department: str
    state: str
    citizen_id: int | None
    language: str
    claimed_by: int | None
    version: int
    lease_expires_at: dt.datetime | None
    first_claimed_at: dt.datetime | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES


REF_COLUMNS = ("id", "kind", "department", "state", "citizen_id", "language", "claimed_by", "version",
               "lease_expires_at", "first_claimed_at")


def ref_columns() -> list[Any]:
    t = table(WorkItem)
    return [*(t.c[name] for name in REF_COLUMNS), t.c.data["contact_phone"].as_string().label("phone")]


def item_ref(row: Any) -> ItemRef:
    m = row._mapping
    return ItemRef(**{name: m[name] for name in REF_COLUMNS},
                   data={"contact_phone": m["phone"]} if m["phone"] else {})


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(item: WorkItem | ItemRef) -> dict[str, Any]:
    return {"state": item.state, "department": item.department, "claimed_by": item.claimed_by,
            "version": item.version}


AUDIT_COLUMNS = ("at", "actor_id", "actor_label", "subject_type", "subject_id", "action", "before", "after")


def insert_with_binds(table: Any, columns: tuple[str, ...]) -> Any:
    """An INSERT whose values are named bind parameters, built once and reused."""
    return insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in columns})


@lru_cache(maxsize=2)
def _record_statement(with_outbox: bool) -> Any:
    audit = insert_with_binds(table(AuditEntry), AUDIT_COLUMNS)
    if not with_outbox:
        return audit
    # PostgreSQL: both rows in one statement (a data-modifying CTE), one round trip.
    return notify.outbox_insert().add_cte(audit.cte("audit_row"))


async def record(session: AsyncSession, item: WorkItem | ItemRef, actor: Actor, action: str,
                 before: dict[str, Any] | None, *, event: str | None = None, after: dict[str, Any] | None = None,
                 event_payload: dict[str, Any] | None = None, **extra: Any) -> None:
    """The change's audit row (the row storage.audit.record_audit writes) and, with ``event``, the
    citizen's notification, in the caller's transaction."""
    now = utcnow()
    audit = {"at": now, "actor_id": actor.id, "actor_label": actor.label[:120], "subject_type": SUBJECT,
             "subject_id": item.id, "action": action, "before": before,
             "after": {**snapshot(item), **extra} if after is None else after}
    outbox = notify.outbox_row(item, event, now, **(event_payload or {})) if event else None
    if outbox is not None and on_postgres(session):
        await session.execute(_record_statement(True), {**outbox, **audit})
        return
    await session.execute(_record_statement(False), audit)
    if outbox is not None:
        await session.execute(notify.outbox_insert(), outbox)


_MESSAGE_INSERT = insert(table(ItemMessage))


async def message(session: AsyncSession, item: WorkItem | ItemRef, actor: Actor, kind: MessageKind, body: str = "",
                  data: dict[str, Any] | None = None, *, visible: bool = True,
                  now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    if body and not (data and "lang" in data):
        # Kept as written: the language it was written in (the writer's page), shown beside it to a
        # reader of the other language.
        data = {**(data or {}), "lang": current_lang.get()}
    await session.execute(_MESSAGE_INSERT, {
        "item_id": item.id, "kind": kind.value, "author_kind": actor.kind, "author_id": actor.id,
        "author_label": actor.label[:120], "body": body, "data": data, "visible_to_citizen": visible,
        "created_at": now, "updated_at": now,
    })


def clean_body(body: str | None, *, required: bool, what: tuple[str, str] = ("内容", "message")) -> str:
    text = forms.clean_text(body or "", multiline=True)
    if required and not text:
        raise InvalidAction(f"请填写{what[0]}。", f"Please write the {what[1]}.")
    if len(text) > MAX_MESSAGE:
        raise InvalidAction(f"{what[0]}最多{MAX_MESSAGE}字(当前{len(text)}字)。",
                            f"The {what[1]} may be at most {MAX_MESSAGE} characters (it has {len(text)}).")
    return text


async def cas(session: AsyncSession, item: WorkItem, now: dt.datetime, **changes: Any) -> bool:
    """Apply ``changes`` only if the row still has the version we read; keep the object in step."""
    t = table(WorkItem)
    new_version = item.version + 1
    result = await session.execute(
        update(t).where(t.c.id == item.id, t.c.version == item.version)
        .values(**changes, version=new_version, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for key, value in {**changes, "version": new_version, "updated_at": now}.items():
        set_committed_value(item, key, value)
    return True


async def commit_change(session: AsyncSession, item: WorkItem, now: dt.datetime, **changes: Any) -> None:
    if not await cas(session, item, now, **changes):
        raise stale()


async def load(session: AsyncSession, item_id: int) -> WorkItem | None:
    """The item as it is now in the database (never a stale copy from this session)."""
    return await session.scalar(
        select(WorkItem).where(WorkItem.id == item_id).execution_options(populate_existing=True)
    )


async def get(session: AsyncSession, item_id: int) -> WorkItem:
    item = await load(session, item_id)
    if item is None:
        raise NOT_FOUND
    return item


def _dept(dept: str, lang: str) -> str:
    zh, en = DEPARTMENT_NAMES[Department(dept)]
    return zh if lang == "zh" else en


def check_staff(item: WorkItem, principal: Principal) -> None:
    if not principal.works_for(item.department):
        raise NotYourDepartment(
            f"这条事项属于{_dept(item.department, 'zh')},您无权查看或办理。",
            f"This item belongs to the {_dept(item.department, 'en')}; you cannot see or act on it.",
        )


def stale() -> StaleItem:
    return StaleItem("这条事项在您打开后已有变化(或表单已提交过),请查看当前状态后再操作。",
                     "This item changed since you opened it (or the form was already sent); check its state and try "
                     "again.")


def held_by_other(item: WorkItem) -> HeldByOther:
    until = item.lease_expires_at.astimezone(kinds.CHINA).strftime("%H:%M") if item.lease_expires_at else "?"
    who = item.claimed_by_label or "?"
    return HeldByOther(f"{who} 正在办理这条事项(认领至 {until});请换一条,或等认领到期。",
                       f"{who} is working on this item (claimed until {until}); take another or wait for the claim "
                       "to run out.")


def require_holder(item: WorkItem, principal: Principal, expected_version: int | None, *,
                   allow_admin: bool = False) -> None:
    """The item is open, claimed, by this person (or an administrator, where allowed), as they saw it."""
    check_staff(item, principal)
    if not item.is_open:
        raise WrongState("这条事项已办结。", "This item is already closed.")
    if item.state != ItemState.claimed:
        if allow_admin and principal.is_admin:
            raise WrongState("这条事项无人认领。", "Nobody holds this item.")
        raise WrongState("请先认领这条事项再办理。", "Claim this item before acting on it.")
    if item.claimed_by != principal.user_id and not (allow_admin and principal.is_admin):
        who = item.claimed_by_label or "?"
        raise HeldByOther(f"这条事项现由 {who} 办理(您的认领可能已到期被他人接手)。",
                          f"{who} holds this item now (your claim may have run out and been taken over).")
    if expected_version is not None and expected_version != item.version:
        raise stale()


def queue_state(item: WorkItem) -> str:
    """Where an item goes back to when nobody holds it: reopened (after a dispute) or new."""
    return (ItemState.reopened if item.reopened_at is not None else ItemState.new).value


__all__ = ["Actor", "SYSTEM", "ItemRef", "record", "message", "snapshot", "cas", "commit_change", "load", "get",
           "check_staff", "require_holder", "stale", "held_by_other", "clean_body", "queue_state", "MessageKind"]
