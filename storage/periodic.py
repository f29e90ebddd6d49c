"""A background task that runs one round of work every ``interval`` seconds in a portal process.

A failed round is logged and tried again at the next interval; ``interval <= 0`` never starts
it (e.g. when cron does the work instead). Used for the outbox drain and the purge of expired
sessions and counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("portal")


class Periodic:
    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed round is logged and tried again
                log.exception("%s failed", self.name)
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = ["Periodic"]
