"""Removing what has expired: server-side sessions and failure counters in the key/value table.

Every portal process runs ``Purger`` in the background (``PURGE_INTERVAL_SECONDS``, default
600; 0 turns it off, e.g. when cron runs ``python -m portal purge`` instead). The DELETE is
idempotent and uses the ``expires_at`` index, so several replicas running it at once only
repeat a cheap statement; no coordination is needed. Counters kept in Redis expire there.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.kv import KeyValueItem

log = logging.getLogger("portal.housekeeping")


async def purge_expired(engine: AsyncEngine, now: dt.datetime | None = None) -> int:
    """Delete expired key/value rows (sessions, throttle counters); returns how many went."""
    cutoff = now or dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        result = await conn.execute(
            delete(KeyValueItem).where(KeyValueItem.expires_at.is_not(None), KeyValueItem.expires_at < cutoff))
    return int(result.rowcount or 0)


class Purger:
    def __init__(self, engine: AsyncEngine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                removed = await purge_expired(self.engine)
                if removed:
                    log.info("purged %d expired sessions and counters", removed)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed round is logged and tried again
                log.exception("purging expired sessions and counters failed")
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="kv-purger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
