"""Taking work and finishing it: claim, claim next, release, complete.

Two staff can never hold the same item:

* PostgreSQL: "claim next" is one statement that locks the most urgent row nobody else has
  locked (``FOR UPDATE SKIP LOCKED``, so concurrent claimers pass each other by instead of
  queueing) and claims it, returning the row as it was before.
* SQLite (no row locks; one writer at a time): read the candidates, then claim with a
  conditional UPDATE on the version read; a lost race changes nothing and the next
  candidate is tried.
* Claim by id, release and every other change: a conditional UPDATE on the version read.

A claim is a lease (``lease_expires_at``). While it lasts nobody else can take the item;
once it has run out anyone in the department may, and the previous holder's next action
is refused with a message that says who holds it now.

Completing is one conditional UPDATE that checks everything at once (open, claimed by
this person, their department, the version they saw); only when it does not apply is the
item read, to say why. The kind's completion handler runs after the item is marked done,
in the same transaction: an event the handler causes that tries to close this same item
finds it closed and does nothing.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import bindparam, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import Department
from accounts.principal import Principal
from backoffice.errors import NotYourDepartment, WrongState
from backoffice.models import QUEUE_STATES, ItemState, MessageKind, WorkItem, on_postgres, table
from backoffice.records import (
    Actor,
    ItemRef,
    cas,
    check_staff,
    clean_body,
    commit_change,
    get,
    held_by_other,
    iso,
    item_ref,
    message,
    queue_state,
    record,
    ref_columns,
    require_holder,
    snapshot,
    stale,
)
from backoffice.registry import registry
from storage.db import utcnow

DEFAULT_LEASE_SECONDS = 900
_NOW = bindparam("now", type_=DateTimeUTC(timezone=True))


async def _claimed(session: AsyncSession, item: WorkItem | ItemRef, principal: Principal, before: dict[str, Any],
                   first: bool) -> None:
    """What follows a won claim: the audit row, the citizen told (the first time), the kind's claim handler."""
    await record(session, item, Actor.staff(principal), "claim", before, event="item.claimed" if first else None,
                 lease_expires_at=iso(item.lease_expires_at))
    handler = registry.claim.get(item.kind)
    if handler is not None:
        assert isinstance(item, WorkItem)
        await handler(session, item, principal)


async def _take(session: AsyncSession, item: WorkItem, principal: Principal, now: dt.datetime,
                lease_seconds: int) -> bool:
    before = snapshot(item)
    first = item.first_claimed_at is None
    won = await cas(
        session, item, now, state=ItemState.claimed.value, claimed_by=principal.user_id,
        claimed_by_label=principal.display_name[:120], lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
        first_claimed_at=item.first_claimed_at or now,
    )
    if won:
        await _claimed(session, item, principal, before, first)
    return won


async def claim(session: AsyncSession, item_id: int, principal: Principal, *,
                lease_seconds: int = DEFAULT_LEASE_SECONDS, expected_version: int | None = None,
                now: dt.datetime | None = None) -> WorkItem:
    """Take the item (or renew your claim). Another person's live claim wins; an expired one does not."""
    now = now or utcnow()
    item = await get(session, item_id)
    check_staff(item, principal)
    if item.held_by(principal.user_id) and expected_version is not None and expected_version != item.version:
        return item  # the same click twice: it is already yours
    if not item.is_open:
        raise WrongState("这条事项已办结,不能认领。", "This item is closed; it cannot be claimed.")
    if item.state == ItemState.claimed and item.claimed_by != principal.user_id and item.lease_live(now):
        raise held_by_other(item)
    if expected_version is not None and expected_version != item.version:
        raise stale()
    if not await _take(session, item, principal, now, lease_seconds):
        item = await get(session, item_id)
        if item.state == ItemState.claimed and item.claimed_by != principal.user_id:
            raise held_by_other(item)
        raise stale()
    return item


def departments_for(principal: Principal, department: str | None = None) -> list[str]:
    if department is not None:
        if not principal.works_for(department):
            raise NotYourDepartment("您不能认领其他部门的事项。", "You cannot take items of another department.")
        return [department]
    if principal.is_admin:
        return [d.value for d in Department]
    if principal.is_staff and principal.department:
        return [principal.department]
    raise NotYourDepartment("仅限部门工作人员。", "Department staff only.")


async def claim_next(session: AsyncSession, principal: Principal, *, department: str | None = None,
                     lease_seconds: int = DEFAULT_LEASE_SECONDS,
                     now: dt.datetime | None = None) -> WorkItem | ItemRef | None:
    """The most urgent item nobody holds in the principal's department(s), claimed; None when there is none."""
    now = now or utcnow()
    departments = departments_for(principal, department)
    if on_postgres(session):
        return await _claim_next_locked(session, principal, departments, now, lease_seconds)
    # SQLite (WAL): a transaction that read first and then writes fails at once with "database is
    # locked" when another claimer committed in between (its snapshot is stale; busy_timeout does
    # not apply). A no-op write first takes the write lock, so claimers queue on busy_timeout.
    await session.execute(update(WorkItem).where(false()).values(version=WorkItem.version))
    stmt = (
        select(WorkItem)
        .where(WorkItem.department.in_(departments), WorkItem.state.in_([s.value for s in QUEUE_STATES]),
               or_(WorkItem.state != ItemState.claimed.value, WorkItem.lease_expires_at < now))
        .order_by(WorkItem.priority.desc(), WorkItem.due_at, WorkItem.id)
        .limit(8).execution_options(populate_existing=True)
    )
    for _attempt in range(5):
        candidates = list((await session.scalars(stmt)).all())
        if not candidates:
            return None
        for item in candidates:
            if await _take(session, item, principal, now, lease_seconds):
                return item
    return None


@lru_cache(maxsize=1)
def _claim_next_statement() -> Any:
    """Built once; SQLAlchemy then only looks up its compiled form."""
    t = table(WorkItem)
    picked = (
        select(t.c.id, t.c.state, t.c.claimed_by, t.c.version, t.c.first_claimed_at)
        .where(t.c.department.in_(bindparam("departments", expanding=True)),
               t.c.state.in_([s.value for s in QUEUE_STATES]),
               or_(t.c.state != ItemState.claimed.value, t.c.lease_expires_at < _NOW))
        .order_by(t.c.priority.desc(), t.c.due_at, t.c.id).limit(1)
        .with_for_update(skip_locked=True).cte("picked")
    )
    return (
        update(t).where(t.c.id == picked.c.id)
        .values(state=ItemState.claimed.value, claimed_by=bindparam("uid"), claimed_by_label=bindparam("label"),
                lease_expires_at=bindparam("until", type_=DateTimeUTC(timezone=True)),
                first_claimed_at=func.coalesce(t.c.first_claimed_at, _NOW), version=t.c.version + 1, updated_at=_NOW)
        .returning(*ref_columns(), picked.c.state.label("old_state"), picked.c.claimed_by.label("old_claimed_by"),
                   picked.c.version.label("old_version"), picked.c.first_claimed_at.label("old_first_claimed_at"))
    )


async def _claim_next_locked(session: AsyncSession, principal: Principal, departments: list[str],
                             now: dt.datetime, lease_seconds: int) -> WorkItem | ItemRef | None:
    row = (await session.execute(_claim_next_statement(), {
        "departments": departments, "now": now, "uid": principal.user_id, "label": principal.display_name[:120],
        "until": now + dt.timedelta(seconds=lease_seconds)})).first()
    if row is None:
        return None
    item: WorkItem | ItemRef = item_ref(row)
    # The row was locked when read: these are exactly its values before the claim.
    before = {"state": row.old_state, "department": item.department, "claimed_by": row.old_claimed_by,
              "version": row.old_version}
    if item.kind in registry.claim:
        item = await get(session, item.id)  # a handler gets the session's own object
    await _claimed(session, item, principal, before, row.old_first_claimed_at is None)
    return item


async def extend(session: AsyncSession, item_id: int, principal: Principal, *,
                 lease_seconds: int = DEFAULT_LEASE_SECONDS, expected_version: int | None = None,
                 now: dt.datetime | None = None) -> WorkItem:
    """The holder keeps the item ``lease_seconds`` more from now (also after the lease ran out, if nobody took it)."""
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version)
    before = snapshot(item)
    await commit_change(session, item, now, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
    await record(session, item, Actor.staff(principal), "extend", before, lease_expires_at=iso(item.lease_expires_at))
    return item


async def release(session: AsyncSession, item_id: int, principal: Principal, *,
                  expected_version: int | None = None, now: dt.datetime | None = None) -> WorkItem:
    """Give the item back to the queue (administrators may release anyone's claim)."""
    now = now or utcnow()
    item = await get(session, item_id)
    require_holder(item, principal, expected_version, allow_admin=True)
    before = snapshot(item)
    await commit_change(session, item, now, state=queue_state(item), claimed_by=None, claimed_by_label=None,
                        lease_expires_at=None)
    await record(session, item, Actor.staff(principal), "release", before)
    return item


@lru_cache(maxsize=2)
def _complete_statement(with_version: bool) -> Any:
    t = table(WorkItem)
    conditions = [t.c.id == bindparam("item_id"), t.c.state == ItemState.claimed.value,
                  t.c.claimed_by == bindparam("uid"), t.c.department.in_(bindparam("departments", expanding=True))]
    if with_version:
        conditions.append(t.c.version == bindparam("expected"))
    return (
        update(t).where(*conditions)
        .values(state=ItemState.done.value, closed_at=_NOW, lease_expires_at=None, resolution=bindparam("note"),
                correction_fields=None, version=t.c.version + 1, updated_at=_NOW)
        .returning(*ref_columns())
    )


async def complete(session: AsyncSession, item_id: int, principal: Principal, note: str | None = None, *,
                   expected_version: int | None = None, now: dt.datetime | None = None) -> WorkItem | ItemRef:
    """Finish the item; the kind's completion handler (if any) runs in the same transaction."""
    now = now or utcnow()
    text = clean_body(note, required=False, what=("办结说明", "note"))
    params = {"item_id": item_id, "uid": principal.user_id, "now": now, "note": text or None,
              "departments": [d.value for d in Department] if principal.is_admin else [principal.department or ""]}
    if expected_version is not None:
        params["expected"] = expected_version
    row = (await session.execute(_complete_statement(expected_version is not None), params)).first()
    if row is None:  # find out why, and say so
        current = await get(session, item_id)
        require_holder(current, principal, expected_version)
        raise stale()
    item: WorkItem | ItemRef = item_ref(row)
    before = {"state": ItemState.claimed.value, "department": item.department, "claimed_by": principal.user_id,
              "version": item.version - 1}
    handler = registry.completion.get(item.kind)
    if handler is not None:
        item = await get(session, item_id)
    if text:
        await message(session, item, Actor.staff(principal), MessageKind.completed, text, now=now)
    await record(session, item, Actor.staff(principal), "complete", before, event="item.done", note=text or None)
    if handler is not None:
        assert isinstance(item, WorkItem)
        await handler(session, item, principal, text or None)
    return item


__all__ = ["claim", "claim_next", "extend", "release", "complete", "departments_for", "DEFAULT_LEASE_SECONDS"]
