"""Figures for the dashboards: queue depth and overdue items per department, median
handling time per kind, and (through the registry) the figures each source adds.

Medians are computed by PostgreSQL (percentile_cont) where it runs, in Python on SQLite.
The public page uses the medians only, never rows about a person, and hides a median
drawn from fewer than ``MIN_PUBLIC_SAMPLE`` items.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import Department
from backoffice.models import OPEN_STATES, ItemState, WorkItem, on_postgres
from backoffice.registry import MetricsSection, registry
from storage.db import utcnow

WINDOW_DAYS = 90
MIN_PUBLIC_SAMPLE = 3


@dataclass(frozen=True)
class DepartmentLoad:
    department: str
    waiting_in_queue: int  # new or reopened, nobody holds them
    claimed: int
    waiting_citizen: int
    overdue: int

    @property
    def open(self) -> int:
        return self.waiting_in_queue + self.claimed + self.waiting_citizen


@dataclass(frozen=True)
class KindMedian:
    kind: str
    median_hours: float | None
    count: int


async def queue_load(session: AsyncSession, departments: list[str] | None = None,
                     now: dt.datetime | None = None) -> list[DepartmentLoad]:
    now = now or utcnow()
    stmt = (
        select(WorkItem.department, WorkItem.state, func.count(),
               func.sum(case((WorkItem.due_at < now, 1), else_=0)))
        .where(WorkItem.state.in_([s.value for s in OPEN_STATES]))
        .group_by(WorkItem.department, WorkItem.state)
    )
    if departments is not None:
        stmt = stmt.where(WorkItem.department.in_(departments))
    counts: dict[str, dict[str, int]] = {}
    for dept, state, n, late in (await session.execute(stmt)).all():
        row = counts.setdefault(dept, {"queue": 0, "claimed": 0, "citizen": 0, "overdue": 0})
        key = {"claimed": "claimed", "waiting_citizen": "citizen"}.get(state, "queue")
        row[key] += int(n)
        row["overdue"] += int(late or 0)
    shown = departments if departments is not None else [d.value for d in Department]
    return [DepartmentLoad(d, counts.get(d, {}).get("queue", 0), counts.get(d, {}).get("claimed", 0),
                           counts.get(d, {}).get("citizen", 0), counts.get(d, {}).get("overdue", 0)) for d in shown]


async def handling_medians(session: AsyncSession, now: dt.datetime | None = None,
                           window_days: int = WINDOW_DAYS) -> list[KindMedian]:
    """Median hours from submission to done, per kind, over items done in the last ``window_days``."""
    now = now or utcnow()
    since = now - dt.timedelta(days=window_days)
    where = (WorkItem.state == ItemState.done.value, WorkItem.closed_at >= since)
    if on_postgres(session):
        seconds = func.extract("epoch", WorkItem.closed_at - WorkItem.created_at)
        stmt = (select(WorkItem.kind, func.percentile_cont(0.5).within_group(seconds), func.count())
                .where(*where).group_by(WorkItem.kind).order_by(WorkItem.kind))
        return [KindMedian(k, float(m) / 3600 if m is not None else None, int(n))
                for k, m, n in (await session.execute(stmt)).all()]
    durations: dict[str, list[float]] = {}
    stmt2 = select(WorkItem.kind, WorkItem.created_at, WorkItem.closed_at).where(*where)
    for k, created, closed in (await session.execute(stmt2)).all():
        if closed is None:
            continue
        durations.setdefault(k, []).append((closed - created).total_seconds() / 3600)
    return [KindMedian(k, statistics.median(v), len(v)) for k, v in sorted(durations.items())]


async def source_metrics(session: AsyncSession) -> list[MetricsSection]:
    """What the registered sources add to the dashboards (medians and their sample sizes only)."""
    return await registry.metrics(session)
