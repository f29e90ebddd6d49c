"""How the joint pre-review goes: per department, the median days from request to signed answer."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import DEPARTMENT_NAMES, Department
from auction_listings.models import ReviewRequest
from storage.db import utcnow

__all__ = ["DepartmentMedian", "ReviewTimes", "review_times"]


@dataclass(frozen=True)
class DepartmentMedian:
    department: str
    name_zh: str
    name_en: str
    median_days: float | None
    count: int


@dataclass(frozen=True)
class ReviewTimes:
    requested: int
    answered: int
    per_department: list[DepartmentMedian]
    window_days: int = 365


async def review_times(session: AsyncSession, days: int = 365, now: dt.datetime | None = None) -> ReviewTimes:
    """Requests of the last ``days``: how many, how many answered, and each department's median."""
    since = (now or utcnow()) - dt.timedelta(days=days)
    requested = int(await session.scalar(select(func.count()).select_from(ReviewRequest)
                                         .where(ReviewRequest.requested_at >= since)) or 0)
    rows = (await session.execute(
        select(ReviewRequest.department, ReviewRequest.requested_at, ReviewRequest.answered_at)
        .where(ReviewRequest.requested_at >= since, ReviewRequest.answered_at.is_not(None)))).all()
    by_dept: dict[str, list[float]] = {}
    for dept, asked, answered in rows:
        if answered is None:
            continue
        by_dept.setdefault(dept, []).append(max(0.0, (answered - asked).total_seconds() / 86400))
    per = []
    for dept in Department:
        values = by_dept.get(dept.value, [])
        zh, en = DEPARTMENT_NAMES[dept]
        per.append(DepartmentMedian(dept.value, zh, en, round(statistics.median(values), 1) if values else None,
                                    len(values)))
    return ReviewTimes(requested=requested, answered=len(rows), per_department=[d for d in per if d.count])
