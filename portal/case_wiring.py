"""Connects the cases domain to the queue, the outbox and the documents (the composition root's job).

* :class:`CaseClueAdapter` tells the queue about forms that name a case (asset clues,
  refusal-to-execute clues): who sent them as far as it could be checked (a party through the
  case page, a linked account or the case's query code; otherwise a tip from the public —
  courts invite those), what staff see about the case, and the link back to the case's page.
* A new node of a case (``cases.events.NodeAdded``) is told to every follower through the
  queue's outbox, in the same transaction as the ingest that added it.
* Documents: the court attaches documents to a case (subject ``case``, the court's department);
  its parties open the non-departmental ones from the case page, with their account or the
  case grant cookie.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request
from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backoffice import notify
from backoffice.models import WorkItem
from backoffice.registry import Claim, Fact, Link, SourceAdapter, Verified
from cases.access import check_clue_sender, grants_of, viewer_for
from cases.bulk import refresh_stats
from cases.catalogue import catalogue
from cases.documents import CaseDocument, set_case_document_lister
from cases.events import NodeAdded
from cases.follow import followers
from cases.models import EnforcementCase
from documents import Document, SubjectInfo, Visibility, format_size, kind_label
from kernel.auth import auth_of, principal_of
from storage.db import DriverStatement, asyncpg_of, driver_errors
from storage.periodic import Periodic

log = logging.getLogger("portal.cases")

SOURCE = "enforcement_case"
SENDERS = {"party": ("案件当事人(已核验)", "A party to the case (verified)"),
           "public": ("公众线索(未核验为当事人)", "A tip from the public (not verified as a party)")}
ROLES = {"creditor": ("申请执行人", "creditor"), "debtor": ("被执行人", "debtor")}


async def on_node_added(session: AsyncSession, event: NodeAdded) -> None:
    """Tell each follower of the case about its new node (outbox row in the same transaction)."""
    for user_id, language in await followers(session, event.case_id):
        await notify.enqueue_for_user(session, user_id, "case.node", language, reference=event.case_number,
                                      node_zh=event.name_zh, node_en=event.name_en, case_id=event.case_id)


class CaseClueAdapter(SourceAdapter):
    """Forms that name an enforcement case, as the queue sees them."""

    source_type = SOURCE
    reference_field = "case_number"
    code_field = "verification_code"

    async def verify(self, ctx: Any, claim: Claim) -> Verified | None:
        sender = await check_clue_sender(ctx.engine, ctx.settings.secret_key, ctx.throttle, claim.reference,
                                         claim.code, claim.citizen_id, claim.client_key)
        if sender is None:
            return None
        extra: dict[str, Any] = {}
        if sender.case_id is not None or sender.verified_party:
            extra = {"case_id": sender.case_id, "court_code": sender.court_code,
                     "sender": "party" if sender.verified_party else "public", "party_role": sender.party_role}
        return Verified(reference=sender.case_number, owner_id=sender.owner_id, extra=extra)

    def refusal(self, claim: Claim) -> tuple[str, str]:
        return ("案号与案件查询码不匹配,请核对法院送达的通知。不是本案当事人可以不填查询码。",
                "The case number and query code do not match; check the court's notice. If you are not a party "
                "to the case, leave the query code empty.")

    def form_facts(self, item: WorkItem) -> list[Fact]:
        data = item.data or {}
        if "sender" not in data:
            return []
        number = str(data.get("case_number", ""))
        facts = [Fact("案号", "Case number", number, number)]
        court = catalogue().courts.get(str(data.get("court_code") or ""))
        if court is not None:
            facts.append(Fact("法院", "Court", court.name_zh, court.name_en))
        zh, en = SENDERS.get(str(data.get("sender")), SENDERS["public"])
        role = ROLES.get(str(data.get("party_role") or ""))
        if role:
            zh, en = f"{zh} · {role[0]}", f"{en} · {role[1]}"
        facts.append(Fact("提供人", "Sent by", zh, en))
        return facts

    def form_link(self, item: WorkItem, *, staff: bool) -> Link | None:
        case_id = (item.data or {}).get("case_id")
        if not isinstance(case_id, int):
            return None
        if staff:
            return Link(f"/staff/cases/{case_id}", "打开案件页面", "Open the case",
                        "案件的进度、财产和款项。", "The case's progress, assets and money.")
        return Link(f"/cases/{case_id}", "查看案件进度", "See the case's progress")


async def case_subject(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    found = await session.scalar(select(EnforcementCase.id).where(EnforcementCase.id == subject_id))
    return SubjectInfo(owner_id=None, departments=frozenset({"court"})) if found else None


async def case_viewer_hook(request: Request[Any, Any, Any], session: AsyncSession, document: Document) -> bool:
    """A party of the case (account or grant cookie) may open its shared documents."""
    if request.app.state.get("ctx") is None:
        return False
    case = await session.get(EnforcementCase, document.subject_id)
    if case is None:
        return False
    grants = grants_of(auth_of(request), list(request.cookies), case)
    return await viewer_for(session, case, principal_of(request), grants) is not None


# Built once (a statement per page view costs more to build than to run); the two visibilities
# are compared one by one, not as an IN list, which SQLAlchemy would expand at every execution.
_CASE_DOCUMENTS = select(Document.id, Document.original_name, Document.kind, Document.size).where(
    Document.subject_type == "case", Document.subject_id == bindparam("case_id"),
    or_(Document.visibility == Visibility.owner.value, Document.visibility == Visibility.public.value),
).order_by(Document.id)


_CASE_DOCUMENTS_PG = DriverStatement(_CASE_DOCUMENTS)


async def list_case_documents(session: Any, case_id: int) -> list[CaseDocument]:
    """On an AsyncSession or AsyncConnection (the case page's reader: asyncpg's own connection on
    PostgreSQL, as for the case's rows): plain columns, no ORM objects. On asyncpg's connection a
    lost database is invalidated and raised as SQLAlchemy's invalidated-connection error (a 503),
    as SQLAlchemy would (storage.db.driver_errors)."""
    driver = await asyncpg_of(session)
    if driver is not None:
        async with driver_errors(session):
            rows = await driver.fetch(_CASE_DOCUMENTS_PG.sql, *_CASE_DOCUMENTS_PG.args({"case_id": case_id}))
        return [CaseDocument(d["id"], d["original_name"], kind_label(d["kind"]), format_size(d["size"]))
                for d in rows]
    rows = (await session.execute(_CASE_DOCUMENTS, {"case_id": case_id})).all()
    return [CaseDocument(d.id, d.original_name, kind_label(d.kind), format_size(d.size)) for d in rows]


class CaseStatsRefresher(Periodic):
    """Recomputes the node statistics every ``interval`` seconds (first after one interval: a
    starting replica serves at once). Replicas that refresh at the same moment are harmless: the
    loser's insert fails on the unique key and rolls back, the winner's rows stand."""

    def __init__(self, engine: AsyncEngine, interval: float) -> None:
        super().__init__("case-stats", interval, self._round)
        self.engine = engine
        self._started = False

    async def _round(self) -> None:
        if not self._started:
            self._started = True
            return
        try:
            await refresh_stats(self.engine)
        except IntegrityError:
            log.info("case stats: another process refreshed them at the same moment")


def wire_case_queue() -> None:
    from backoffice.registry import StaffPage, registry
    from cases.controllers import STAFF_PAGE
    from storage.events import hub

    registry.register(CaseClueAdapter())
    registry.add_staff_page(StaffPage(*STAFF_PAGE))
    hub.subscribe(NodeAdded, on_node_added)


def wire_case_documents() -> None:
    from documents import subject_guards
    from documents.routes import viewer_hooks

    subject_guards.register("case", case_subject)
    viewer_hooks.register("case", case_viewer_hook)
    set_case_document_lister(list_case_documents)
