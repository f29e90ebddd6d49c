"""What the documents need to know about transfers, and the step's list of its documents.

The composition root wires these to the documents package: who owns a transfer or a step
and which departments act on it, and keeping a step's ``details["documents"]`` in step with
what is attached to it (so the tracking page reads everything in one query).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from title_transfer.models import Transfer, TransferStep

__all__ = ["MAX_LISTED", "record_step_document", "step_parties", "transfer_of", "transfer_parties"]

MAX_LISTED = 20


async def transfer_parties(session: AsyncSession, transfer_id: int) -> tuple[int, frozenset[str]] | None:
    """(buyer, departments owning one of its steps) of a transfer, or None if there is none."""
    rows = (await session.execute(
        select(Transfer.buyer_id, TransferStep.department)
        .outerjoin(TransferStep, TransferStep.transfer_id == Transfer.id)
        .where(Transfer.id == transfer_id)
    )).all()
    if not rows:
        return None
    return rows[0][0], frozenset(r[1] for r in rows if r[1] is not None)


async def step_parties(session: AsyncSession, step_id: int) -> tuple[int, str] | None:
    """(buyer, owning department) of a step, or None if there is none."""
    row = (await session.execute(
        select(Transfer.buyer_id, TransferStep.department)
        .join(TransferStep, TransferStep.transfer_id == Transfer.id)
        .where(TransferStep.id == step_id)
    )).first()
    return (row[0], row[1]) if row else None


async def transfer_of(session: AsyncSession, subject_type: str, subject_id: int) -> tuple[str, int, int] | None:
    """(tracking number, buyer, code version) of the transfer a ``transfer`` or ``transfer_step`` id belongs to."""
    stmt = select(Transfer.tracking_no, Transfer.buyer_id, Transfer.code_version)
    if subject_type == "transfer_step":
        stmt = stmt.join(TransferStep, TransferStep.transfer_id == Transfer.id).where(TransferStep.id == subject_id)
    elif subject_type == "transfer":
        stmt = stmt.where(Transfer.id == subject_id)
    else:
        return None
    row = (await session.execute(stmt)).first()
    return (row[0], row[1], row[2]) if row else None


async def record_step_document(
    session: AsyncSession, step_id: int, document_id: int, listed: dict[str, Any] | None
) -> None:
    """Add (``listed``) or remove (None) one document in a step's ``details["documents"]``.

    The step is changed through the ORM under a row lock, so its revision moves like for any
    other change (a form opened before the upload is stale) and two uploads to one step
    cannot lose each other's entry; the transfer's version moves so live pages refresh."""
    step = await session.get(TransferStep, step_id, with_for_update=True, populate_existing=True)
    if step is None:
        return
    details = dict(step.details or {})
    docs = [d for d in details.get("documents", []) if d.get("id") != document_id]
    if listed is not None:
        docs.append({**listed, "id": document_id})
    details["documents"] = docs[-MAX_LISTED:]
    step.details = details
    await session.flush()
    await session.execute(
        update(Transfer).where(Transfer.id == step.transfer_id).values(version=Transfer.version + 1)
        .execution_options(synchronize_session=False)
    )
