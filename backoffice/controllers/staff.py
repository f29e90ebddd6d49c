"""The department inbox: the queue, an item's page, and the staff actions on it.

Staff see and act on their own department's items only (administrators on all). Every
action form carries the item's version: a form sent twice, or sent after someone else
changed the item, is told so instead of acting twice.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import Department
from accounts.principal import Principal
from backoffice import forms, service, stats
from backoffice.attachments import item_documents
from backoffice.controllers.common import (
    View,
    calendar_event,
    calendar_response,
    item_id,
    lang,
    see_other,
    version_of,
)
from backoffice.errors import NOT_FOUND, InvalidAction
from backoffice.models import CLOSED_STATES, ItemState, WorkItem
from backoffice.people import People, action_name
from backoffice.registry import registry
from kernel.auth import Auth
from kernel.deps import QueueSettings, app_context
from kernel.errors import BilingualError, db_session_of, error_view
from kernel.guards import requires_staff
from storage.audit import AuditEntry
from storage.context import DbSession
from storage.db import utcnow

VIEWS = ("queue", "mine", "waiting", "closed", "all")
ACTIONS = ("claim", "extend", "release", "reply", "correction", "complete", "reject", "forward")
# Final actions: the form must carry a ticked confirmation (a required checkbox: no JavaScript needed).
CONFIRMED = {"complete": ("请勾选确认后再办结:办结后市民将看到“已办结”。",
                          "Tick the confirmation to complete: the citizen will then see “Done”."),
             "reject": ("请勾选确认后再不予办理:市民将看到“不予办理”和您写的理由。",
                        "Tick the confirmation to decline: the citizen will see “Declined” and your reason.")}
PAGE = 100


def _departments(who: Principal, requested: str | None) -> list[str]:
    if who.is_admin:
        if requested and requested in {d.value for d in Department}:
            return [requested]
        return [d.value for d in Department]
    return [who.department] if who.department else []


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    return {"fields": form.getall("fields") if "fields" in form else [],
            **{k: str(v) for k, v in form.items() if isinstance(v, str) and k != "fields"}}


async def _action_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """A refused action: the item's page again with the message and the form as typed; or, for a
    form sent twice whose first copy already did exactly this, the result."""
    ref, action = request.path_params["ref"], request.path_params["action"]
    if exc is NOT_FOUND:
        raise NotFoundException(detail="no such item")
    session = db_session_of(request)
    if await _already_done(session, item_id(ref), request.user, action):
        return see_other(f"/staff/items/{ref}?done={action}")
    form = await _form(request)
    return await StaffQueueController.item_page_for(request, session, ref, status=exc.status_code,
                                                    error=exc.message(lang(request)),
                                                    values={**form, "_action": action})


class StaffQueueController(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [requires_staff()]
    # Refusals the pages do not re-render themselves: the queue's error page, back to the inbox.
    opt = {"error_page": "backoffice/error.html", "error_back": "/staff"}

    @get("/", name="staff.queue")
    async def queue(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                    view: FromQuery[str] = "queue", dept: FromQuery[str | None] = None,
                    kind: FromQuery[str | None] = None) -> Template:
        who = request.user
        view = view if view in VIEWS else "queue"
        departments = _departments(who, dept)
        now = utcnow()
        stmt = select(WorkItem).where(WorkItem.department.in_(departments))
        if view == "queue":
            stmt = stmt.where(WorkItem.state.in_([ItemState.new, ItemState.reopened, ItemState.claimed]))
        elif view == "mine":
            stmt = stmt.where(WorkItem.state == ItemState.claimed, WorkItem.claimed_by == who.user_id)
        elif view == "waiting":
            stmt = stmt.where(WorkItem.state == ItemState.waiting_citizen)
        elif view == "closed":
            stmt = stmt.where(WorkItem.state.in_([s.value for s in CLOSED_STATES]))
        if kind:
            stmt = stmt.where(WorkItem.kind == kind[:40])
        if view == "closed":
            stmt = stmt.order_by(WorkItem.closed_at.desc(), WorkItem.id.desc())
        else:
            stmt = stmt.order_by(WorkItem.priority.desc(), WorkItem.due_at, WorkItem.id)
        items = list((await db_session.scalars(stmt.limit(PAGE))).all())
        load = await stats.queue_load(db_session, departments, now=now)
        return Template("backoffice/staff_queue.html", context={
            "items": items, "view": view, "views": VIEWS, "dept": dept if who.is_admin else None, "kind": kind,
            "load": load, "v": View(lang(request), now), "who": who, "notice": request.query_params.get("empty"),
            "staff_pages": registry.staff_pages(who),
        })

    @post("/queue/claim-next", name="staff.claim_next", status_code=303)
    async def claim_next(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                         queue_settings: QueueSettings) -> Response[Any]:
        who = request.user
        form = await _form(request)
        dept = form.get("dept") or None
        item = await service.claim_next(db_session, who, department=dept if who.is_admin else None,
                                        lease_seconds=queue_settings.claim_lease_seconds)
        await db_session.commit()
        if item is None:
            return see_other("/staff?empty=1")
        return see_other(f"/staff/items/{item.reference}")

    @staticmethod
    async def item_page_for(request: Request[Any, Any, Any], db_session: AsyncSession, ref: str, *,
                            status: int = 200, error: str | None = None,
                            values: dict[str, Any] | None = None) -> Template:
        who = request.user
        item = await service.load(db_session, item_id(ref))
        if item is None:
            raise NotFoundException(detail="no such item")
        v = View(lang(request))
        service.check_staff(item, who)  # another department's item: the queue's error page
        messages = await service.thread(db_session, item, citizen_view=False)
        history = list((await db_session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == service.SUBJECT, AuditEntry.subject_id == item.id)
            .order_by(AuditEntry.id)
        )).all())
        documents = await item_documents(db_session, item.id, who)
        people = await People.load(db_session, [h.actor_id for h in history] + [m.author_id for m in messages],
                                   v.lang)
        lease = app_context(request.app.state).settings.queue.claim_lease_seconds
        return Template("backoffice/staff_item.html", status_code=status, context={
            "people": people, "rows": [_history_row(h, people, v, item.kind) for h in history],
            "lease_minutes": max(1, lease // 60), "phone": _masked((item.data or {}).get("contact_phone")),
            "item": item, "messages": messages, "history": history, "v": v, "who": who, "error": error,
            "documents": documents,
            "values": values or {}, "spec": forms.form_spec(item.kind, identified=True),
            "fields": forms.correctable(item.kind), "has_calendar": calendar_event(item, v) is not None,
            "mine": item.held_by(who.user_id), "lease_live": item.lease_live(v.now),
        })

    @get("/items/{ref:str}", name="staff.item")
    async def item_page(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Template:
        return await self.item_page_for(request, db_session, ref)

    @get("/items/{ref:str}/calendar.ics", name="staff.item.ics")
    async def calendar(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                       ref: FromPath[str]) -> Response[bytes]:
        who = request.user
        item = await service.load(db_session, item_id(ref))
        if item is None or not who.works_for(item.department):
            raise NotFoundException(detail="no such item")
        return calendar_response(item, View(lang(request)))

    @post("/items/{ref:str}/{action:str}", name="staff.item.action", status_code=303,
          opt=error_view(_action_refused))
    async def act(self, request: Request[Principal, Auth, Any], db_session: DbSession, ref: FromPath[str],
                  action: FromPath[str], queue_settings: QueueSettings) -> Response[Any]:
        who = request.user
        if action not in ACTIONS:
            raise NotFoundException(detail="no such action")
        form = await _form(request)
        ident = item_id(ref)
        version = version_of(form.get("version"))
        lease = queue_settings.claim_lease_seconds
        # A QueueError goes to _action_refused (the route's error_view), after the rollback.
        if action in CONFIRMED and form.get("confirm") != "yes":
            raise InvalidAction(*CONFIRMED[action])
        if action == "claim":
            await service.claim(db_session, ident, who, lease_seconds=lease, expected_version=version)
        elif action == "extend":
            await service.extend(db_session, ident, who, lease_seconds=lease, expected_version=version)
        elif action == "release":
            await service.release(db_session, ident, who, expected_version=version)
        elif action == "reply":
            await service.reply(db_session, ident, who, form.get("body", ""), expected_version=version,
                                lease_seconds=lease)
        elif action == "correction":
            await service.request_correction(db_session, ident, who, form.get("body", ""),
                                             list(form.get("fields") or []), expected_version=version)
        elif action == "complete":
            await service.complete(db_session, ident, who, form.get("note", ""), expected_version=version)
        elif action == "reject":
            await service.reject(db_session, ident, who, form.get("reason", ""), expected_version=version)
        elif action == "forward":
            await service.forward(db_session, ident, who, form.get("to", ""), form.get("note", ""),
                                  expected_version=version)
        await db_session.commit()
        return see_other(f"/staff/items/{ref}?done={action}")


def _masked(phone: Any) -> str | None:
    text = str(phone or "")
    return f"{text[:3]}****{text[-4:]}" if len(text) == 11 and text.isdigit() else None


def _history_row(entry: AuditEntry, people: People, v: View, kind: str) -> dict[str, Any]:
    """One line of an item's history in words: when, who, what (and to whom or what), the state change."""
    after = entry.after or {}
    detail = ""
    if entry.action == "forward" and after.get("department"):
        detail = v.dept(after["department"])
    elif entry.action == "join_request" and after.get("kind"):
        detail = v.kind(after["kind"])
    elif entry.action == "request_correction" and after.get("fields"):
        detail = ("、" if v.lang == "zh" else ", ").join(v.label(kind, f) for f in after["fields"])
    before_state = (entry.before or {}).get("state", "")
    after_state = after.get("state", "")
    return {"at": entry.at, "who": people.entry(entry), "what": action_name(entry.action, v.lang), "detail": detail,
            "before": v.state(before_state) if before_state and before_state != after_state else "",
            "after": v.state(after_state) if after_state else ""}


async def _already_done(session: AsyncSession, ident: int, who: Principal, action: str) -> bool:
    """A form sent twice: the first one already did exactly this, so show the result, not an error."""
    item = await service.load(session, ident)
    if item is None or not who.works_for(item.department):
        return False
    if action == "complete":
        return item.state == ItemState.done and item.claimed_by == who.user_id
    if action == "reject":
        return item.state == ItemState.rejected and item.claimed_by == who.user_id
    if action == "release":
        return item.state != ItemState.claimed or item.claimed_by != who.user_id and not who.is_admin
    return False
