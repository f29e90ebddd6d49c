"""The public lot page's caches: a lot's version (asked at most once a second), its public
detail and documents by (lot, version), and its rendered body by (lot, version, language).

A page that will show the lot asks :meth:`LotPublicCache.current`: from memory while the
version clock is fresh; a cached lot whose clock is stale is checked with the one-column
version read; otherwise (nothing cached, or the caches off) one read on one connection gives
the version and the lot together (``public_read``: one statement on PostgreSQL).

See kernel/caching.py for the scheme and docs/auction_listings_public.md for what it buys.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auction_listings.events import LotChanged
from auction_listings.models import PUBLIC_STATUSES, Lot
from auction_listings.public_read import read_public_lot
from auction_listings.read import LotDetail
from auction_listings.seams import DocumentsColumn, PublicDocument
from kernel.caching import RenderCache, VersionClock

_VERSION = select(Lot.version, Lot.status).where(Lot.lot_no == bindparam("lot_no"))
_PUBLIC = frozenset(s.value for s in PUBLIC_STATUSES)


class PublicLot(msgspec.Struct, frozen=True, kw_only=True):
    detail: LotDetail
    documents: list[PublicDocument]

    @property
    def photos(self) -> list[PublicDocument]:
        return [d for d in self.documents if d.is_photo]

    @property
    def files(self) -> list[PublicDocument]:
        return [d for d in self.documents if not d.is_photo]


class SearchResults:
    """Rendered search results by (query, language), kept while no lot has changed: an entry
    carries the lots' change count (``epoch``) it was made at, and a change made in this
    process (``LotChanged``) moves the epoch, so no entry from before a change is served here
    again. Another replica's change is seen within ``ttl``, the same bound as a lot's version
    clock; ``ttl`` 0 keeps nothing (the cold benchmark).

    A miss is computed once however many ask at the same time (:meth:`shared`): the first
    request reads and renders, the others asking the same (query, language) at the same epoch
    wait for its result instead of each reading the same rows. Without this every entry of a
    popular search expired at the same moment and up to one computation per connection ran
    for it (the deployed search's p99 was worse than the cold one's). A request that arrives
    after a change in this process never joins a computation started before it (the epoch is
    part of the key); one that joins a computation is answered from a read that started at
    most that computation's duration before it arrived, within ``ttl`` as a kept result is.
    ``ttl`` 0 shares nothing either: every search reads and renders."""

    def __init__(self, *, ttl: float = 1.0, max_entries: int = 2048,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.epoch = 0
        self._data: RenderCache[tuple[str, str], tuple[int, float, Any]] = RenderCache(max_entries if ttl > 0 else 0)
        self._pending: dict[tuple[tuple[str, str], int], asyncio.Future[Any]] = {}

    def get(self, key: tuple[str, str]) -> Any | None:
        entry = self._data.get(key)
        if entry is None or entry[0] != self.epoch or self.clock() - entry[1] >= self.ttl:
            return None
        return entry[2]

    def put(self, key: tuple[str, str], epoch: int, value: Any) -> Any:
        """Keep ``value`` made from reads that started at ``epoch`` (stale at once if a change came since)."""
        if epoch == self.epoch and self.ttl > 0:
            self._data.put(key, (epoch, self.clock(), value))
        return value

    async def shared(self, key: tuple[str, str], compute: Callable[[], Awaitable[Any]]) -> Any:
        """The kept value, else ``compute()``'s, computed once for all who ask for ``key`` at
        this epoch meanwhile. The computation runs as its own task: a requester that goes
        away (a closed connection cancels its request) does not cancel it for the others."""
        hit = self.get(key)
        if hit is not None:
            return hit
        if self.ttl <= 0:
            return await compute()
        flight = (key, self.epoch)
        pending = self._pending.get(flight)
        if pending is None:
            pending = asyncio.ensure_future(self._compute(flight, compute))
            pending.add_done_callback(_retrieved)
            self._pending[flight] = pending
        return await asyncio.shield(pending)

    async def _compute(self, flight: tuple[tuple[str, str], int], compute: Callable[[], Awaitable[Any]]) -> Any:
        key, epoch = flight
        try:
            return self.put(key, epoch, await compute())
        finally:
            self._pending.pop(flight, None)

    def changed(self) -> None:
        self.epoch += 1


def _retrieved(done: asyncio.Future[Any]) -> None:
    """An error of a shared computation whose requesters all went away is not left unretrieved
    (each requester still present gets it raised)."""
    if not done.cancelled():
        done.exception()


class LotPublicCache:
    """One per app (process). ``ttl``: how stale another replica's change may be seen here."""

    def __init__(self, engine: AsyncEngine, *, ttl: float = 1.0, max_lots: int = 4096,
                 documents: DocumentsColumn | None = None) -> None:
        self.engine = engine
        # The same pool, without a transaction around each read: every read here is one statement
        # (its own snapshot), so no BEGIN before it and no ROLLBACK when the connection goes back.
        self.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.documents = documents
        self.clock: VersionClock[str] = VersionClock(self._version_of, ttl=ttl)
        self.lots: RenderCache[tuple[str, int], PublicLot] = RenderCache(max_lots)
        self.bodies: RenderCache[tuple[str, int, str], str] = RenderCache(max_lots * 2)
        self.searches = SearchResults(ttl=ttl)

    async def _version_of(self, lot_no: str) -> int | None:
        # One indexed read of two columns on a plain connection (no ORM session to build and close):
        # this is the read every page view may make once a second.
        async with self.reader.connect() as conn:
            row = (await conn.execute(_VERSION, {"lot_no": lot_no})).first()
        if row is None or row[1] not in _PUBLIC:
            return None
        return int(row[0])

    async def version(self, lot_no: str) -> int | None:
        """The lot's version (None: not public), for a conditional request that may need no more."""
        return await self.clock.version(lot_no)

    async def current(self, lot_no: str) -> PublicLot | None:
        """The public lot as it is now (None: no such public lot), for a page that shows it."""
        known = self.clock.peek(lot_no)
        if known is not None:
            fresh, version = known
            if version is None:
                if fresh:
                    return None
            else:
                hit = self.lots.get((lot_no, version))
                if hit is not None:
                    if fresh:
                        return hit
                    now = await self.clock.version(lot_no)  # the cheap check, one per lot in flight
                    if now is None:
                        return None
                    hit = self.lots.get((lot_no, now))
                    if hit is not None:
                        return hit
        return await self.read(lot_no)

    async def lot(self, lot_no: str, version: int) -> PublicLot | None:
        """The public lot at ``version`` (from memory, or read now: then as it is now)."""
        hit = self.lots.get((lot_no, version))
        return hit if hit is not None else await self.read(lot_no)

    async def read(self, lot_no: str, conn: AsyncConnection | None = None) -> PublicLot | None:
        """Read the lot now (on ``conn``, e.g. a request's own transaction, else a pooled
        connection) and keep it under the version read."""
        if conn is None:
            async with self.reader.connect() as own:
                got = await read_public_lot(own, lot_no, self.documents)
        else:
            got = await read_public_lot(conn, lot_no, self.documents)
        if got is None:
            return None
        detail, docs = got
        found = PublicLot(detail=detail, documents=docs)
        self.clock.bump(lot_no, detail.lot.version)
        return self.lots.put((lot_no, detail.lot.version), found)

    async def on_changed(self, session: Any, event: LotChanged) -> None:
        """A change made in this process is seen here at once (other processes within ``ttl``)."""
        self.clock.bump(event.lot_no, event.version)
        self.searches.changed()


__all__ = ["LotPublicCache", "PublicLot", "SearchResults"]
