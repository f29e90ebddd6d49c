"""How long each step of a case usually takes, measured from the cases' own nodes.

For every pair (node, the node that followed it in a case) the 25th, 50th and 75th
percentiles of the time between them, kept in ``case_node_stat`` and refreshed by
:func:`refresh_node_stats` (``python -m portal case-stats``, after a bulk import, and by the
portal's periodic housekeeping). The progress page reads the table: it shows the next node's
likely window (p25–p75 after the latest node), never a promise, and nothing at all while a
transition has fewer than :data:`MIN_SAMPLES` cases behind it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseNode, CaseNodeStat
from storage.db import utcnow

MIN_SAMPLES = 5

_PG = text(
    "SELECT prev_key, node_key, count(*) AS n, "
    "percentile_disc(0.25) WITHIN GROUP (ORDER BY since_prev_seconds) AS p25, "
    "percentile_disc(0.5) WITHIN GROUP (ORDER BY since_prev_seconds) AS p50, "
    "percentile_disc(0.75) WITHIN GROUP (ORDER BY since_prev_seconds) AS p75 "
    "FROM case_node WHERE prev_key IS NOT NULL AND since_prev_seconds IS NOT NULL GROUP BY prev_key, node_key"
)


async def _measure(session: AsyncSession) -> list[tuple[str, str, int, int, int, int]]:
    if session.get_bind().dialect.name == "postgresql":
        rows = (await session.execute(_PG)).all()
        return [(r.prev_key, r.node_key, int(r.n), int(r.p25), int(r.p50), int(r.p75)) for r in rows]
    samples: dict[tuple[str, str], list[int]] = defaultdict(list)
    result = await session.stream(select(CaseNode.prev_key, CaseNode.node_key, CaseNode.since_prev_seconds)
                                  .where(CaseNode.prev_key.is_not(None), CaseNode.since_prev_seconds.is_not(None)))
    async for prev, node, since in result:
        if prev is not None and since is not None:
            samples[(prev, node)].append(int(since))
    out = []
    for (prev, node), values in samples.items():
        values.sort()
        if len(values) == 1:
            p25 = p50 = p75 = values[0]
        else:
            q = statistics.quantiles(values, n=4, method="inclusive")
            p25, p50, p75 = int(q[0]), int(q[1]), int(q[2])
        out.append((prev, node, len(values), p25, p50, p75))
    return out


async def refresh_node_stats(session: AsyncSession) -> int:
    """Recompute every transition's percentiles (replaces the table's rows). Does not commit."""
    measured = await _measure(session)
    now = utcnow()
    await session.execute(delete(CaseNodeStat))
    if measured:
        await session.execute(insert(CaseNodeStat), [
            {"prev_key": prev, "node_key": node, "samples": n, "p25_seconds": p25, "median_seconds": p50,
             "p75_seconds": p75, "computed_at": now, "created_at": now, "updated_at": now}
            for prev, node, n, p25, p50, p75 in measured])
    return len(measured)


class Transition:
    __slots__ = ("samples", "p25", "median", "p75")

    def __init__(self, samples: int, p25: int, median: int, p75: int) -> None:
        self.samples = samples
        self.p25 = dt.timedelta(seconds=p25)
        self.median = dt.timedelta(seconds=median)
        self.p75 = dt.timedelta(seconds=p75)


async def transitions_from(session: AsyncSession, prev_key: str) -> dict[str, Transition]:
    rows = (await session.execute(select(CaseNodeStat.node_key, CaseNodeStat.samples, CaseNodeStat.p25_seconds,
                                         CaseNodeStat.median_seconds, CaseNodeStat.p75_seconds)
                                  .where(CaseNodeStat.prev_key == prev_key))).all()
    return {r[0]: Transition(r[1], r[2], r[3], r[4]) for r in rows}


async def stat_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(CaseNodeStat)) or 0)


__all__ = ["MIN_SAMPLES", "Transition", "refresh_node_stats", "stat_count", "transitions_from"]
