"""The public lot page's caches: a lot's version (asked at most once a second), its public
detail and documents by (lot, version), and its rendered body by (lot, version, language).

See kernel/caching.py for the scheme and docs/auction_listings_public.md for what it buys.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auction_listings.events import LotChanged
from auction_listings.models import PUBLIC_STATUSES, Lot
from auction_listings.public_read import public_lot
from auction_listings.read import LotDetail, get_lot
from auction_listings.seams import LotDocuments, PublicDocument
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


class LotPublicCache:
    """One per app (process). ``ttl``: how stale another replica's change may be seen here."""

    def __init__(self, engine: AsyncEngine, *, ttl: float = 1.0, max_lots: int = 4096) -> None:
        self.engine = engine
        self.clock: VersionClock[str] = VersionClock(self._version_of, ttl=ttl)
        self.lots: RenderCache[tuple[str, int], PublicLot] = RenderCache(max_lots)
        self.bodies: RenderCache[tuple[str, int, str], str] = RenderCache(max_lots * 2)

    async def _version_of(self, lot_no: str) -> int | None:
        # One indexed read of two columns on a plain connection (no ORM session to build and close):
        # this is the read every page view may make once a second.
        async with self.engine.connect() as conn:
            row = (await conn.execute(_VERSION, {"lot_no": lot_no})).first()
        if row is None or row[1] not in _PUBLIC:
            return None
        return int(row[0])

    async def version(self, lot_no: str) -> int | None:
        return await self.clock.version(lot_no)

    async def lot(self, lot_no: str, version: int, documents: LotDocuments,
                  session: AsyncSession | None = None) -> PublicLot | None:
        """The public lot at ``version`` (from memory, or read now and kept under the version read)."""
        hit = self.lots.get((lot_no, version))
        if hit is not None:
            return hit
        if session is not None:  # a request that has its session already (e.g. following)
            detail = await get_lot(session, lot_no, public=True)
            docs = await documents(session, detail.lot.id) if detail is not None else []
        else:  # the hot path: one plain connection, Core reads, the documents in a session joined to it
            async with self.engine.connect() as conn:
                detail = await public_lot(conn, lot_no)
                docs = []
                if detail is not None:
                    async with AsyncSession(bind=conn) as joined:
                        docs = await documents(joined, detail.lot.id)
        if detail is None:
            return None
        found = PublicLot(detail=detail, documents=docs)
        self.clock.bump(lot_no, detail.lot.version)
        return self.lots.put((lot_no, detail.lot.version), found)

    async def on_changed(self, session: Any, event: LotChanged) -> None:
        """A change made in this process is seen here at once (other processes within ``ttl``)."""
        self.clock.bump(event.lot_no, event.version)


__all__ = ["LotPublicCache", "PublicLot"]
