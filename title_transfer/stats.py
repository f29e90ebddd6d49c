"""How long transfers take: median days from the sale to each step's completion."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from title_transfer.models import Transfer, TransferStep
from title_transfer.workflow import StepState, step_names, workflows

CERTIFICATE_STEP = "certificate_issued"
BASELINE_DAYS = 20.0  # sale → title certificate before the reform (shared/domain.md): 20 days → 2


@dataclass(frozen=True)
class StepMedian:
    key: str
    name_zh: str
    name_en: str
    median_days: float | None
    count: int


@dataclass(frozen=True)
class TransferTimes:
    sale_to_certificate_days: float | None
    certificates: int
    per_step: list[StepMedian] = field(default_factory=list)
    baseline_days: float = BASELINE_DAYS
    window_days: int = 365


def _names(key: str) -> tuple[str, str]:
    """A step key's name in the first workflow that has it (the per-step medians span both)."""
    for kind in workflows():
        names = step_names(kind, key)
        if names != (key, key):
            return names
    return key, key


async def transfer_times(session: AsyncSession, days: int = 365, today: dt.date | None = None) -> TransferTimes:
    """Median days from the sale to each step's completion, over transfers started in the last ``days``."""
    since = (today or dt.date.today()) - dt.timedelta(days=days)
    rows = (await session.execute(
        select(Transfer.started_on, TransferStep.key, TransferStep.completed_on)
        .join(TransferStep, TransferStep.transfer_id == Transfer.id)
        .where(Transfer.started_on >= since, TransferStep.state == StepState.done.value,
               TransferStep.completed_on.is_not(None))
    )).all()
    by_step: dict[str, list[int]] = {}
    for started, key, completed in rows:
        if completed is None:
            continue
        by_step.setdefault(key, []).append((completed - started).days)
    order = [s.key for t in workflows().values() for s in t.steps]
    per_step = []
    for key in dict.fromkeys(order):
        values = by_step.get(key, [])
        zh, en = _names(key)
        per_step.append(StepMedian(key, zh, en, statistics.median(values) if values else None, len(values)))
    certs = by_step.get(CERTIFICATE_STEP, [])
    return TransferTimes(sale_to_certificate_days=statistics.median(certs) if certs else None,
                         certificates=len(certs), per_step=per_step, window_days=days)
