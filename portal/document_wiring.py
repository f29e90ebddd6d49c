"""Connects documents to the title transfer, the queue and the lots (the composition root's job).

* Who owns a subject and who acts on it: a transfer's buyer and the departments of its steps;
  a step's buyer and its department; a work item's citizen and department; a lot is nobody's,
  public, and every department may add its pre-review findings. The documents package decides
  from that who may attach what (staff only to their department's subjects, the owner from the
  subject, public documents only on lots).
* Who may open an owner document without an account: whoever holds the tracking grant
  cookie of the transfer the document is attached to.
* A step's documents are listed in the step's ``details`` (id, kind, name, visibility,
  owner), kept in step with uploads and deletions through the documents' events by
  title_transfer's own function, so the tracking page still reads everything in one query.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import Department
from accounts.principal import Principal
from auction_listings.lots import lot_exists
from backoffice.attachments import item_parties, set_document_lister
from documents import Subject, SubjectInfo, SubjectType, list_documents, subject_guards
from documents.models import Document
from documents.service import DOCUMENT_ATTACHED, DOCUMENT_REMOVED
from kernel.auth import auth_of
from portal.case_wiring import wire_case_documents
from storage.events import hub
from title_transfer.access import TRACKING_GRANT
from title_transfer.attachments import record_step_document, step_parties, transfer_of, transfer_parties

EVERY_DEPARTMENT = frozenset(d.value for d in Department)


async def transfer_subject(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    found = await transfer_parties(session, subject_id)
    return SubjectInfo(owner_id=found[0], departments=found[1]) if found else None


async def transfer_step_subject(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    found = await step_parties(session, subject_id)
    return SubjectInfo(owner_id=found[0], departments=frozenset({found[1]})) if found else None


async def work_item_subject(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    found = await item_parties(session, subject_id)
    return SubjectInfo(owner_id=found[0], departments=frozenset({found[1]})) if found else None


async def lot_subject(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    if not await lot_exists(session, subject_id):
        return None
    return SubjectInfo(owner_id=None, departments=EVERY_DEPARTMENT, public=True)


async def grant_hook(request: Request[Any, Any, Any], session: AsyncSession, document: Document) -> bool:
    if request.app.state.get("ctx") is None:  # an app without the portal (e.g. a test app of the documents package)
        return False
    found = await transfer_of(session, document.subject_type, document.subject_id)
    if found is None:
        return False
    tracking_no, buyer, code_version = found
    # Only the buyer's own documents (or those without an owner) open with the grant.
    if document.owner_id is not None and document.owner_id != buyer:
        return False
    return auth_of(request).holds(TRACKING_GRANT, tracking_no, code_version)


async def _sync_step_documents(session: AsyncSession, payload: dict[str, Any]) -> None:
    if payload.get("subject_type") != "transfer_step":
        return
    attached = await session.get(Document, payload["document_id"]) is not None  # attached, not removed
    listed = {key: payload[key] for key in ("kind", "name", "visibility", "owner_id")} if attached else None
    await record_step_document(session, payload["subject_id"], payload["document_id"], listed)


async def _work_item_documents(session: AsyncSession, item_id: int, principal: Principal | None) -> list[Document]:
    return await list_documents(session, Subject(SubjectType.work_item, item_id), principal)


def wire_documents() -> None:
    from documents.routes import viewer_hooks

    subject_guards.register("transfer", transfer_subject)
    subject_guards.register("transfer_step", transfer_step_subject)
    subject_guards.register("work_item", work_item_subject)
    subject_guards.register("lot", lot_subject)
    set_document_lister(_work_item_documents)
    viewer_hooks.register("transfer", grant_hook)
    viewer_hooks.register("transfer_step", grant_hook)
    hub.subscribe(DOCUMENT_ATTACHED, _sync_step_documents)
    hub.subscribe(DOCUMENT_REMOVED, _sync_step_documents)
    wire_case_documents()  # a case's documents for its parties (portal/case_wiring.py)
