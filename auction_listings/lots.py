"""Small reads about lots that other parts of the portal need."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings.models import Lot

__all__ = ["lot_exists"]


async def lot_exists(session: AsyncSession, lot_id: int) -> bool:
    return await session.scalar(select(Lot.id).where(Lot.id == lot_id)) is not None
