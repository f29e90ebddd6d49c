"""Counting failures per key in a shared store, to slow down guessing.

Backed by any Litestar store (the database store by default, Redis when configured), so
the counters hold across processes and replicas.
"""

from __future__ import annotations

from litestar.stores.base import Store


class Throttle:
    def __init__(self, store: Store, *, limit: int, window_seconds: int) -> None:
        self.store = store
        self.limit = limit
        self.window = window_seconds

    async def retry_after(self, keys: list[str]) -> int:
        """Seconds to wait if any key has reached the limit, else 0."""
        worst = 0
        for key in keys:
            raw = await self.store.get(key)
            if raw is not None and int(raw) >= self.limit:
                worst = max(worst, await self.store.expires_in(key) or self.window)
        return worst

    async def fail(self, keys: list[str]) -> None:
        for key in keys:
            raw = await self.store.get(key)
            count = int(raw) + 1 if raw is not None else 1
            remaining = await self.store.expires_in(key) if raw is not None else None
            await self.store.set(key, str(count).encode(), expires_in=remaining or self.window)

    async def reset(self, keys: list[str]) -> None:
        for key in keys:
            await self.store.delete(key)
