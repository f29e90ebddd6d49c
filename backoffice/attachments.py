"""What the documents need to know about work items: whose they are and which department
works them (wired to the documents package by the composition root)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.models import WorkItem

__all__ = ["item_parties"]


async def item_parties(session: AsyncSession, item_id: int) -> tuple[int | None, str] | None:
    """(citizen, department) of a work item, or None if there is none."""
    row = (await session.execute(select(WorkItem.citizen_id, WorkItem.department).where(WorkItem.id == item_id))).first()
    return (row[0], row[1]) if row else None
