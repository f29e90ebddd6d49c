"""A buyer's own transfers, for forms that name one (offered instead of typed)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from title_transfer.models import Transfer


async def buyer_transfers(session: AsyncSession, buyer_id: int, limit: int = 50) -> list[tuple[str, str, str]]:
    """(tracking number, title in Chinese, title in English) of the buyer's transfers, newest first."""
    rows = (await session.execute(
        select(Transfer.tracking_no, Transfer.title, Transfer.title_en)
        .where(Transfer.buyer_id == buyer_id).order_by(Transfer.id.desc()).limit(limit)
    )).all()
    return [(no, title, title_en or title) for no, title, title_en in rows]
