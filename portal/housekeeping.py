"""Removing what has expired: server-side sessions and failure counters in the key/value table,
and chat turns older than a session lives (storage/chat_log.py).

Every portal process runs ``Purger`` in the background (``PURGE_INTERVAL_SECONDS``, default
600; 0 turns it off, e.g. when cron runs ``python -m portal purge`` instead). The DELETE is
idempotent and uses the ``expires_at`` index, so several replicas running it at once only
repeat a cheap statement; no coordination is needed. Counters kept in Redis expire there.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.chat_log import ChatLog
from storage.kv import KeyValueItem
from storage.periodic import Periodic

log = logging.getLogger("portal.housekeeping")


async def purge_expired(engine: AsyncEngine, now: dt.datetime | None = None) -> int:
    """Delete expired key/value rows (sessions, throttle counters) and chat turns past their
    time; returns how many rows went."""
    cutoff = now or dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(KeyValueItem).where(KeyValueItem.expires_at.is_not(None), KeyValueItem.expires_at < cutoff))
    return int(result.rowcount or 0) + await ChatLog(engine).purge(cutoff)


class Purger(Periodic):
    """Purges expired sessions, counters and chat turns every ``interval`` seconds."""

    def __init__(self, engine: AsyncEngine, interval: float) -> None:
        super().__init__("kv-purger", interval, self._round)
        self.engine = engine

    async def _round(self) -> None:
        removed = await purge_expired(self.engine)
        if removed:
            log.info("purged %d expired sessions, counters and chat turns", removed)
