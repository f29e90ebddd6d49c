""""My submissions": a citizen's forms, what the departments answered, what is asked of them.

Plain HTML forms (they work without JavaScript), Post/Redirect/Get with 303, a one-time
key in every new-submission form so a double click files one item, and the item's version
in every other form so a form sent twice is recognised.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.clients import client_key
from backoffice import forms, kinds, service, submissions
from backoffice.controllers.api import Caller, verify_transfer
from backoffice.controllers.common import (
    View,
    calendar_event,
    calendar_response,
    item_id,
    lang,
    new_form_key,
    require_signed_in,
    see_other,
    version_of,
)
from backoffice.errors import QueueError, Throttled, WrongState
from backoffice.models import ItemState, MessageKind, WorkItem
from backoffice.service import Actor
from storage.context import DbSession
from storage.db import utcnow
from storage.documents.kinds import SubjectType
from storage.documents.service import Subject, list_documents

BASE = "/my/submissions"


async def _form_data(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if not k.startswith("_") and isinstance(v, str)}


async def _form_meta(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k.startswith("_") and isinstance(v, str)}


def _form_context(request: Request[Any, Any, Any], kind: str, values: dict[str, str], key: str,
                  errors: list[forms.FieldError] | None = None, notice: str | None = None) -> dict[str, Any]:
    v = View(lang(request))
    return {"spec": forms.form_spec(kind, identified=True), "values": values, "key": key, "v": v,
            "errors": v.field_errors(errors or []), "notice": notice}


class MySubmissionsController(Controller):
    path = BASE
    include_in_schema = False

    @get("/", name="my.submissions")
    async def index(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        who = require_signed_in(request)
        waiting_first = case((WorkItem.state == ItemState.waiting_citizen.value, 0), else_=1)
        rows = list((await db_session.scalars(
            select(WorkItem).where(WorkItem.citizen_id == who.user_id)
            .where((WorkItem.source_type.is_(None)) | (WorkItem.state == ItemState.waiting_citizen.value))
            .order_by(waiting_first, WorkItem.updated_at.desc()).limit(200)
        )).all())
        return Template("backoffice/my_list.html", context={"items": rows, "v": View(lang(request))})

    @get("/new", name="my.submissions.choose")
    async def choose(self, request: Request[Any, Any, Any]) -> Template:
        require_signed_in(request)
        specs = [forms.form_spec(k, identified=True) for k in forms.form_kinds()]
        return Template("backoffice/my_new.html", context={"specs": specs, "v": View(lang(request))})

    @get("/new/{kind:str}", name="my.submissions.form")
    async def form_page(self, request: Request[Any, Any, Any], kind: FromPath[str], reference: FromQuery[str] = "") -> Template:
        require_signed_in(request)
        if forms.form_spec(kind) is None:
            raise NotFoundException(detail="unknown form kind")
        values = {"reference": reference[:20]} if reference else {}
        return Template("backoffice/my_form.html", context=_form_context(request, kind, values, new_form_key()))

    @post("/new/{kind:str}", name="my.submissions.submit", status_code=303)
    async def submit(self, request: Request[Any, Any, Any], db_session: DbSession, kind: FromPath[str]) -> Response[Any]:
        who = require_signed_in(request)
        if forms.form_spec(kind) is None:
            raise NotFoundException(detail="unknown form kind")
        language = lang(request)
        values = await _form_data(request)
        key = (await _form_meta(request)).get("_key", "")[:200] or new_form_key()
        scope = f"user:{who.user_id}"
        digest = submissions.body_hash(kind, values, "web", language, None, who.user_id)
        try:
            found = await submissions.existing(db_session, scope, key, digest)
        except QueueError as exc:
            return Template("backoffice/my_form.html", status_code=exc.status,
                            context=_form_context(request, kind, values, new_form_key(),
                                                  notice=exc.message(language)))
        if found is not None:  # the same form sent twice: show what the first one filed
            return see_other(f"{BASE}/{found.item.reference}")
        try:
            valid = forms.validate(kind, values, identified=True)
        except forms.FormInvalid as exc:
            return Template("backoffice/my_form.html", status_code=400,
                            context=_form_context(request, kind, values, key, exc.errors))
        caller = Caller(who.user_id, Actor.citizen(who.user_id, who.label), scope, client_key(request), False)
        try:
            transfer = await verify_transfer(request, valid, caller, release=db_session)
        except forms.FormInvalid as exc:
            return Template("backoffice/my_form.html", status_code=400,
                            context=_form_context(request, kind, values, key, exc.errors))
        except Throttled as exc:
            minutes = max(1, exc.retry_after // 60)
            msg = (f"尝试次数过多,请 {minutes} 分钟后再试。" if language == "zh"
                   else f"Too many tries; please wait {minutes} minutes.")
            return Template("backoffice/my_form.html", status_code=429, headers={"Retry-After": str(exc.retry_after)},
                            context=_form_context(request, kind, values, key, notice=msg))
        try:
            result = await submissions.submit(
                db_session, valid, actor=caller.actor, citizen_id=who.user_id, channel="web", language=language,
                transfer=transfer, idempotency=(scope, key, digest),
            )
        except QueueError as exc:
            await db_session.rollback()
            return Template("backoffice/my_form.html", status_code=exc.status,
                            context=_form_context(request, kind, values, key, notice=exc.message(language)))
        return see_other(f"{BASE}/{result.item.reference}?sent=1")

    async def _page(self, request: Request[Any, Any, Any], db_session: AsyncSession, ref: str, *,
                    status: int = 200, error: str | None = None,
                    answer_errors: list[forms.FieldError] | None = None,
                    values: dict[str, str] | None = None) -> Template:
        who = require_signed_in(request)
        try:
            item = await service.citizen_item(db_session, item_id(ref), who.user_id)
        except QueueError:
            raise NotFoundException(detail="no such submission") from None
        messages = await service.thread(db_session, item, citizen_view=True)
        v = View(lang(request))
        asked = next((m for m in reversed(messages) if m.kind == MessageKind.correction_request), None)
        spec = kinds.kind(item.kind)
        can_dispute = (not item.is_open and spec is not None and spec.disputable and item.closed_at is not None
                       and (utcnow() - item.closed_at).days < kinds.catalogue().dispute_window_days)
        documents = await list_documents(db_session, Subject(SubjectType.work_item, item.id), who)
        return Template("backoffice/my_item.html", status_code=status, context={
            "item": item, "messages": messages, "v": v, "asked": asked, "error": error, "documents": documents,
            "answer_errors": v.field_errors(answer_errors or []), "values": values or {},
            "can_dispute": can_dispute, "has_calendar": calendar_event(item, v) is not None,
            "spec": forms.form_spec(item.kind, identified=True),
        })

    @get("/{ref:str}", name="my.submissions.item")
    async def item_page(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Template:
        return await self._page(request, db_session, ref)

    @post("/{ref:str}/reply", name="my.submissions.reply", status_code=303)
    async def reply(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Response[Any]:
        who = require_signed_in(request)
        meta = await _form_meta(request)
        try:
            await service.citizen_reply(db_session, item_id(ref), Actor.citizen(who.user_id, who.label),
                                        meta.get("_body", ""), expected_version=version_of(meta.get("_version")))
        except QueueError as exc:
            await db_session.rollback()
            return await self._page(request, db_session, ref, status=exc.status, error=exc.message(lang(request)),
                                    values={"_body": meta.get("_body", "")})
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=reply")

    @post("/{ref:str}/answer", name="my.submissions.answer", status_code=303)
    async def answer(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Response[Any]:
        who = require_signed_in(request)
        meta = await _form_meta(request)
        changes = await _form_data(request)
        try:
            await service.answer_correction(db_session, item_id(ref), Actor.citizen(who.user_id, who.label), changes,
                                            meta.get("_body", ""), expected_version=version_of(meta.get("_version")))
        except forms.FormInvalid as exc:
            await db_session.rollback()
            return await self._page(request, db_session, ref, status=400, answer_errors=exc.errors,
                                    values={**changes, "_body": meta.get("_body", "")})
        except QueueError as exc:
            await db_session.rollback()
            return await self._page(request, db_session, ref, status=exc.status, error=exc.message(lang(request)),
                                    values={**changes, "_body": meta.get("_body", "")})
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=answer")

    @post("/{ref:str}/dispute", name="my.submissions.dispute", status_code=303)
    async def dispute(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Response[Any]:
        who = require_signed_in(request)
        meta = await _form_meta(request)
        try:
            await service.dispute(db_session, item_id(ref), Actor.citizen(who.user_id, who.label),
                                  meta.get("_reason", ""))
        except QueueError as exc:
            await db_session.rollback()
            if isinstance(exc, WrongState):
                current = await service.load(db_session, item_id(ref))
                if current is not None and current.state == ItemState.reopened and current.citizen_id == who.user_id:
                    return see_other(f"{BASE}/{ref}?done=dispute")  # sent twice: the first one reopened it
            return await self._page(request, db_session, ref, status=exc.status, error=exc.message(lang(request)),
                                    values={"_reason": meta.get("_reason", "")})
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=dispute")

    @get("/{ref:str}/calendar.ics", name="my.submissions.ics")
    async def calendar(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Response[bytes]:
        who = require_signed_in(request)
        try:
            item = await service.citizen_item(db_session, item_id(ref), who.user_id)
        except QueueError:
            raise NotFoundException(detail="no such submission") from None
        return calendar_response(item, View(lang(request)))
