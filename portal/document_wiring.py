"""Connects documents to the title transfer and the queue (the composition root's job).

* Who may attach: the buyer to their own transfer and its steps; a citizen to their own
  queue items. Staff of the document's department and administrators need no guard.
* Who may open an owner document without an account: whoever holds the tracking grant
  cookie of the transfer the document is attached to.
* A step's documents are listed in the step's ``details`` (id, kind, name, visibility,
  owner), kept in step with uploads and deletions through the documents' events, so the
  tracking page still reads everything in one query. The update bypasses the step's
  revision counter (an attached file must not make a staff member's open form stale) but
  bumps the transfer's version, so the live page refreshes.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from storage.documents import subject_guards
from storage.documents.models import Document
from storage.documents.service import DOCUMENT_ATTACHED, DOCUMENT_REMOVED
from storage.events import hub
from title_transfer.access import grant_cookie_name, grant_valid
from title_transfer.models import Transfer, TransferStep

MAX_LISTED = 20


async def _buyer_of_transfer(session: AsyncSession, transfer_id: int) -> int | None:
    return await session.scalar(select(Transfer.buyer_id).where(Transfer.id == transfer_id))


async def _transfer_of_step(session: AsyncSession, step_id: int) -> tuple[int, int, str] | None:
    row = (await session.execute(
        select(Transfer.id, Transfer.buyer_id, Transfer.tracking_no)
        .join(TransferStep, TransferStep.transfer_id == Transfer.id)
        .where(TransferStep.id == step_id)
    )).first()
    return (row[0], row[1], row[2]) if row else None


async def guard_transfer(session: AsyncSession, principal: Principal, subject_id: int) -> bool:
    return await _buyer_of_transfer(session, subject_id) == principal.user_id


async def guard_transfer_step(session: AsyncSession, principal: Principal, subject_id: int) -> bool:
    found = await _transfer_of_step(session, subject_id)
    return found is not None and found[1] == principal.user_id


async def guard_work_item(session: AsyncSession, principal: Principal, subject_id: int) -> bool:
    from backoffice.models import WorkItem

    return await session.scalar(select(WorkItem.citizen_id).where(WorkItem.id == subject_id)) == principal.user_id


async def grant_hook(request: Request[Any, Any, Any], session: AsyncSession, document: Document) -> bool:
    ctx = request.app.state.get("ctx")
    if ctx is None:  # an app without the portal's context (e.g. a test app of the documents package)
        return False
    secret = ctx.settings.secret_key
    if document.subject_type == "transfer_step":
        found = await _transfer_of_step(session, document.subject_id)
        tracking_no = found[2] if found else None
    else:
        tracking_no = await session.scalar(select(Transfer.tracking_no).where(Transfer.id == document.subject_id))
    if tracking_no is None:
        return False
    buyer = await session.scalar(select(Transfer.buyer_id).where(Transfer.tracking_no == tracking_no))
    # Only the buyer's own documents (or those without an owner) open with the grant.
    if document.owner_id is not None and document.owner_id != buyer:
        return False
    return grant_valid(secret, tracking_no, request.cookies.get(grant_cookie_name(tracking_no)))


async def _sync_step_documents(session: AsyncSession, payload: dict[str, Any]) -> None:
    if payload.get("subject_type") != "transfer_step":
        return
    step = (await session.execute(
        select(TransferStep.id, TransferStep.transfer_id, TransferStep.details)
        .where(TransferStep.id == payload["subject_id"])
    )).first()
    if step is None:
        return
    details = dict(step.details or {})
    docs = [d for d in details.get("documents", []) if d.get("id") != payload["document_id"]]
    if await session.get(Document, payload["document_id"]) is not None:  # attached, not removed
        docs.append({"id": payload["document_id"], "kind": payload["kind"], "name": payload["name"],
                     "visibility": payload["visibility"], "owner_id": payload["owner_id"]})
    details["documents"] = docs[-MAX_LISTED:]
    steps, transfers = cast(Table, TransferStep.__table__), cast(Table, Transfer.__table__)
    await session.execute(update(steps).where(steps.c.id == step.id).values(details=details))
    await session.execute(update(transfers).where(transfers.c.id == step.transfer_id)
                          .values(version=transfers.c.version + 1))


def wire_documents() -> None:
    from portal.documents import viewer_hooks

    subject_guards.register("transfer", guard_transfer)
    subject_guards.register("transfer_step", guard_transfer_step)
    subject_guards.register("work_item", guard_work_item)
    viewer_hooks.register("transfer", grant_hook)
    viewer_hooks.register("transfer_step", grant_hook)
    hub.subscribe(DOCUMENT_ATTACHED, _sync_step_documents)
    hub.subscribe(DOCUMENT_REMOVED, _sync_step_documents)
