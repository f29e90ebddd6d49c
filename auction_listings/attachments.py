"""A lot's documents (photos, announcements, pre-review reports) through a lister the composition
root connects: the listings do not import the documents package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal

__all__ = ["DocumentLister", "lot_documents", "set_document_lister"]

# (session, lot id, who is asking) -> the documents on that lot they may see
DocumentLister = Callable[[AsyncSession, int, Principal | None], Awaitable[Sequence[Any]]]
_lister: DocumentLister | None = None


def set_document_lister(lister: DocumentLister | None) -> None:
    global _lister
    _lister = lister


async def lot_documents(session: AsyncSession, lot_id: int, principal: Principal | None) -> Sequence[Any]:
    """The documents on a lot that ``principal`` may see (public ones for anyone; none when unwired)."""
    return [] if _lister is None else await _lister(session, lot_id, principal)
