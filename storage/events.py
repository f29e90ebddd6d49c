"""A tiny in-process registry that lets one domain react to another without importing it.

Domains publish typed events (msgspec Structs deriving from :class:`Event`, declared by the
publishing domain) inside their own transaction; the composition root (portal/) subscribes
handlers by event class. Handlers receive the same AsyncSession, so whatever they write
commits or rolls back together with the change that caused it.

Events named by a string with a dict payload are still accepted while the documents domain
moves over to typed events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every typed event: a value, checked by its type, carrying all a handler needs."""


E = TypeVar("E", bound=Event)
Handler = Callable[[AsyncSession, Any], Awaitable[None]]
Key = type[Event] | str


class EventHub:
    def __init__(self) -> None:
        self._handlers: dict[Key, list[Handler]] = defaultdict(list)

    @overload
    def subscribe(self, event: type[E], handler: Callable[[AsyncSession, E], Awaitable[None]]) -> None: ...
    @overload
    def subscribe(self, event: str, handler: Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]) -> None: ...
    def subscribe(self, event: Key, handler: Handler) -> None:
        if handler not in self._handlers[event]:
            self._handlers[event].append(handler)

    def unsubscribe(self, event: Key, handler: Handler) -> None:
        if handler in self._handlers.get(event, ()):
            self._handlers[event].remove(handler)

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

    @overload
    async def publish(self, session: AsyncSession, event: Event) -> None: ...
    @overload
    async def publish(self, session: AsyncSession, event: str, payload: dict[str, Any]) -> None: ...
    async def publish(self, session: AsyncSession, event: Event | str, payload: dict[str, Any] | None = None) -> None:
        if isinstance(event, Event):
            key: Key = type(event)
            arg: Any = event
        else:
            key, arg = event, payload
        for handler in list(self._handlers.get(key, ())):
            await handler(session, arg)


hub = EventHub()
