"""Staff's daily digest: the new and the overdue items of their department, by e-mail.

Once a day (after ``hour`` o'clock China time) every active staff member with a department
and an e-mail address gets one outbox row, ``staff.digest``, holding a snapshot of what is
new (opened in the last 24 hours and not yet taken) and what is overdue (open past its due
time) in that department; the outbox sender delivers it like any other notification, so a
refused or dropped SMTP connection is retried and never loses it. A member whose
department has nothing new and nothing overdue gets nothing that day.

Several portal processes may run the job at once: on PostgreSQL a transaction-scoped
advisory lock serialises them, and each checks for a digest row already written today, so
a member gets at most one per day (SQLite has a single writer anyway).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from accounts.departments import department_name
from accounts.models import Role, User
from backoffice.kinds import CHINA
from backoffice.models import OPEN_STATES, ItemState, Notification, OutboxState, WorkItem, reference
from backoffice.notify import DIGEST_EVENT, outbox_insert
from storage.db import utcnow
from storage.periodic import Periodic

log = logging.getLogger("backoffice.digest")

LISTED = 20  # items named per section; the counts are always complete
DIGEST_LOCK = 0x6469_6765  # pg_advisory_xact_lock key shared by every process ("dige")


def local_day_start(now: dt.datetime) -> dt.datetime:
    """Midnight (China time) of ``now``'s day, in UTC."""
    day = now.astimezone(CHINA).date()
    return dt.datetime.combine(day, dt.time(0), CHINA).astimezone(dt.UTC)


def _line(item: Any) -> dict[str, str]:
    return {"ref": reference(item.id), "subject": item.subject or item.kind,
            "due": item.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")}


async def _department_news(conn: AsyncConnection, department: str, now: dt.datetime) -> dict[str, Any]:
    w = WorkItem.__table__.c
    open_ = w.state.in_([s.value for s in OPEN_STATES])
    new_where = (w.department == department, w.state == ItemState.new.value,
                 w.created_at >= now - dt.timedelta(hours=24))
    overdue_where = (w.department == department, open_, w.due_at < now)
    cols = (w.id, w.kind, w.subject, w.due_at)
    new = (await conn.execute(select(*cols).where(*new_where).order_by(w.due_at, w.id).limit(LISTED))).all()
    overdue = (await conn.execute(select(*cols).where(*overdue_where).order_by(w.due_at, w.id).limit(LISTED))).all()
    new_count = int(await conn.scalar(select(func.count()).where(*new_where)) or 0)
    overdue_count = int(await conn.scalar(select(func.count()).where(*overdue_where)) or 0)
    return {"new": [_line(r) for r in new], "overdue": [_line(r) for r in overdue],
            "new_count": new_count, "overdue_count": overdue_count}


async def enqueue_digests(engine: AsyncEngine, now: dt.datetime | None = None) -> int:
    """Write today's digest row for each staff member who has news and none yet today; returns how many."""
    now = now or utcnow()
    day_start = local_day_start(now)
    day = now.astimezone(CHINA).date().isoformat()
    u = User.__table__.c
    o = Notification.__table__.c
    written = 0
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DIGEST_LOCK})
        staff = (await conn.execute(
            select(u.id, u.department).where(u.role == Role.staff.value, u.is_active.is_(True),
                                            u.department.is_not(None), u.email.is_not(None))
            .order_by(u.id))).all()
        done = set((await conn.execute(
            select(o.recipient_id).where(o.event == DIGEST_EVENT, o.created_at >= day_start))).scalars())
        news: dict[str, dict[str, Any]] = {}
        for uid, department in staff:
            if uid in done:
                continue
            if department not in news:
                news[department] = await _department_news(conn, department, now)
            summary = news[department]
            if not (summary["new_count"] or summary["overdue_count"]):
                continue
            payload = {"day": day, "department": department, **summary,
                       "subject": f"{day} {department_name(department, 'zh')}:新事项 {summary['new_count']},"
                                  f"已逾期 {summary['overdue_count']}"}
            await conn.execute(outbox_insert(), {
                "item_id": None, "event": DIGEST_EVENT, "recipient_kind": "staff", "recipient_id": uid,
                "department": department, "phone": None, "language": "zh", "payload": payload,
                "state": OutboxState.pending.value, "attempts": 0, "available_at": now, "created_at": now,
                "sent_at": None, "last_error": None})
            written += 1
    return written


def render_digest(payload: dict[str, Any]) -> str:
    """The digest's text: Chinese first, then English, each item by reference, subject and due time."""
    dept = str(payload.get("department", ""))
    day = str(payload.get("day", ""))

    def lines(key: str) -> list[str]:
        return [f"  {i['ref']}  {i['subject']}  ({i['due']})" for i in payload.get(key, [])]

    def more(key: str) -> int:
        return int(payload.get(f"{key}_count", 0)) - len(payload.get(key, []))

    zh = [f"{day} {department_name(dept, 'zh')}待办摘要", "",
          f"新事项(24 小时内,未认领):{payload.get('new_count', 0)}", *lines("new")]
    if more("new") > 0:
        zh.append(f"  …另有 {more('new')} 项")
    zh += ["", f"已逾期:{payload.get('overdue_count', 0)}", *lines("overdue")]
    if more("overdue") > 0:
        zh.append(f"  …另有 {more('overdue')} 项")
    en = [f"{day} {department_name(dept, 'en')}: daily summary", "",
          f"New (last 24 hours, not yet taken): {payload.get('new_count', 0)}", *lines("new")]
    if more("new") > 0:
        en.append(f"  … and {more('new')} more")
    en += ["", f"Overdue: {payload.get('overdue_count', 0)}", *lines("overdue")]
    if more("overdue") > 0:
        en.append(f"  … and {more('overdue')} more")
    return "\n".join([*zh, "", "请登录工作台 /staff 办理。", "", "-----", "", *en, "",
                      "Sign in to the staff queue (/staff) to handle them."])


class DigestJob(Periodic):
    """Checks every ``interval`` seconds whether today's digests are due (after ``hour`` China time)."""

    def __init__(self, engine: AsyncEngine, interval: float, hour: int = 8) -> None:
        super().__init__("staff-digest", interval, self._round)
        self.engine = engine
        self.hour = hour

    async def _round(self) -> None:
        now = utcnow()
        if now.astimezone(CHINA).hour < self.hour:
            return
        written = await enqueue_digests(self.engine, now)
        if written:
            log.info("queued %d staff digests", written)
