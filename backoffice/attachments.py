"""Documents on work items, through adapters the composition root connects (the queue does not
import the documents package): whose an item is and which department works it, for deciding
who may attach what; and the documents of an item that a person may see, for its pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from backoffice.models import WorkItem

__all__ = ["DocumentLister", "item_documents", "item_parties", "set_document_lister"]

# (session, item id, who is asking) -> the documents on that item they may see
DocumentLister = Callable[[AsyncSession, int, Principal | None], Awaitable[Sequence[Any]]]
_lister: DocumentLister | None = None


def set_document_lister(lister: DocumentLister | None) -> None:
    global _lister
    _lister = lister


async def item_documents(session: AsyncSession, item_id: int, principal: Principal | None) -> Sequence[Any]:
    """The documents on a work item that ``principal`` may see (none when nothing is wired)."""
    return [] if _lister is None else await _lister(session, item_id, principal)


async def item_parties(session: AsyncSession, item_id: int) -> tuple[int | None, str] | None:
    """(citizen, department) of a work item, or None if there is none."""
    row = (await session.execute(select(WorkItem.citizen_id, WorkItem.department).where(WorkItem.id == item_id))).first()
    return (row[0], row[1]) if row else None
