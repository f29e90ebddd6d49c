"""A tiny in-process registry that lets one domain react to another without importing it.

Domains publish named events inside their own transaction; the composition root
(portal.app) subscribes handlers. Handlers receive the same AsyncSession, so whatever
they write commits or rolls back together with the change that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


class EventHub:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler) -> None:
        if handler not in self._handlers[name]:
            self._handlers[name].append(handler)

    def clear(self) -> None:
        self._handlers.clear()

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """No handlers inside the block, the previous ones restored after (for tests of one package)."""
        saved = {name: list(handlers) for name, handlers in self._handlers.items()}
        self._handlers.clear()
        try:
            yield
        finally:
            self._handlers.clear()
            self._handlers.update(saved)

    async def publish(self, session: AsyncSession, name: str, payload: dict[str, Any]) -> None:
        for handler in list(self._handlers.get(name, ())):
            await handler(session, payload)


hub = EventHub()
