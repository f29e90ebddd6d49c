"""The documents of a case its parties may open, through a seam the composition root connects
(this domain does not import the documents domain): the portal registers a lister that returns
the case's documents visible to its parties (not the court's department-only ones)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CaseDocument:
    id: int
    name: str
    kind_label: str
    size: str


# (an AsyncSession or AsyncConnection, case id) -> its documents for the parties
CaseDocumentLister = Callable[[Any, int], Awaitable[list[CaseDocument]]]
_lister: CaseDocumentLister | None = None


def set_case_document_lister(lister: CaseDocumentLister | None) -> None:
    global _lister
    _lister = lister


async def case_documents(session: Any, case_id: int) -> list[CaseDocument]:
    """Documents on the case that its parties may open (none when nothing is wired)."""
    return [] if _lister is None else await _lister(session, case_id)


__all__ = ["CaseDocument", "case_documents", "set_case_document_lister"]
