""""My submissions": a citizen's forms, what the departments answered, what is asked of them.

Plain HTML forms (they work without JavaScript), Post/Redirect/Get with 303, a one-time
key in every new-submission form so a double click files one item, and the item's version
in every other form so a form sent twice is recognised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from accounts.principal import Principal
from backoffice import forms, kinds, prefill, service, submissions
from backoffice.attachments import item_documents
from backoffice.controllers.common import (
    View,
    calendar_event,
    calendar_response,
    item_id,
    lang,
    new_form_key,
    see_other,
    version_of,
)
from backoffice.errors import InvalidAction, QueueError, WrongState
from backoffice.models import ItemState, MessageKind, WorkItem
from backoffice.notify import mask_phone
from backoffice.service import Actor
from kernel.auth import Auth, auth_of
from kernel.deps import app_context
from kernel.errors import BilingualError, db_session_of, error_view, field_errors_of, page_status
from kernel.guards import requires_signed_in
from kernel.i18n import N_
from storage.context import DbSession
from storage.db import utcnow

BASE = "/my/submissions"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


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


async def _form_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The form again, as typed: field errors beside their fields, a refusal (too many tries, a
    conflict) above it."""
    kind = request.path_params["kind"]
    values = await _form_data(request)
    key = (await _form_meta(request)).get("_key", "")[:200] or new_form_key()
    if isinstance(exc, submissions.KeyReused):  # the key came back with other values: a fresh one for a new try
        key = new_form_key()
    errors = field_errors_of(exc)
    if not errors:
        return Template("backoffice/my_form.html", status_code=exc.status_code, headers=exc.headers,
                        context=_form_context(request, kind, values, key, notice=exc.message(lang(request))))
    who = request.user
    choices, _start = await prefill.for_person(db_session_of(request), kind, who.user_id, lang(request))
    for name, offered in list(choices.items()):
        if values.get(name) not in {v for v, _label in offered}:
            choices.pop(name)  # they typed another value: keep the box
    return Template("backoffice/my_form.html", status_code=page_status(exc),
                    context={**_form_context(request, kind, values, key, errors), "own_choices": choices})


async def _item_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The item's page again, with the refusal and what the person had typed."""
    ref = request.path_params["ref"]
    meta = await _form_meta(request)
    values = {k: v for k, v in meta.items() if k in ("_body", "_reason")}
    if request.url.path.endswith("/answer"):
        values.update(await _form_data(request))
    session = db_session_of(request)
    if isinstance(exc, WrongState) and request.url.path.endswith("/dispute"):
        current = await service.load(session, item_id(ref))
        who = request.user
        if current is not None and current.state == ItemState.reopened and current.citizen_id == who.user_id:
            return see_other(f"{BASE}/{ref}?done=dispute")  # sent twice: the first one reopened it
    errors = field_errors_of(exc)
    if errors:  # a correction's fields: each message beside its field, no notice above
        return await MySubmissionsController.page(request, session, ref, status=page_status(exc),
                                                  answer_errors=errors, values=values)
    return await MySubmissionsController.page(request, session, ref, status=exc.status_code,
                                              error=exc.message(lang(request)), values=values)


class MySubmissionsController(Controller):
    path = BASE
    include_in_schema = False
    guards = [requires_signed_in]

    @get("/", name="my.submissions")
    async def index(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        who = request.user
        waiting_first = case((WorkItem.state == ItemState.waiting_citizen.value, 0), else_=1)
        rows = list((await db_session.scalars(
            select(WorkItem).where(WorkItem.citizen_id == who.user_id)
            .where((WorkItem.source_type.is_(None)) | (WorkItem.state == ItemState.waiting_citizen.value))
            .order_by(waiting_first, WorkItem.updated_at.desc()).limit(200)
        )).all())
        return Template("backoffice/my_list.html", context={"items": rows, "v": View(lang(request))})

    @get("/new", name="my.submissions.choose")
    async def choose(self, request: Request[Any, Any, Any]) -> Template:
        role = request.user.role if request.user is not None else None
        cards = [(forms.form_spec(k, identified=True), kinds.catalogue().kinds[k]) for k in forms.form_kinds()]
        # What fits the person first; the rest stay reachable under "other requests".
        return Template("backoffice/my_new.html", context={
            "cards": [c for c in cards if c[1].fits(role)], "others": [c for c in cards if not c[1].fits(role)],
            "v": View(lang(request))})

    @get("/new/{kind:str}", name="my.submissions.form")
    async def form_page(self, request: Request[Any, Any, Any], db_session: DbSession, kind: FromPath[str],
                        reference: FromQuery[str] = "", manual: FromQuery[str] = "") -> Template:
        if forms.form_spec(kind) is None:
            raise NotFoundException(detail="unknown form kind")
        choices, start = await prefill.for_person(db_session, kind, request.user.user_id, lang(request),
                                                  manual=bool(manual))
        values = {**start, **({"reference": reference[:20]} if reference else {})}
        return Template("backoffice/my_form.html", context={
            **_form_context(request, kind, values, new_form_key()), "own_choices": choices})

    @post("/new/{kind:str}", name="my.submissions.submit", status_code=303, opt=error_view(_form_refused))
    async def submit(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                     kind: FromPath[str]) -> Response[Any]:
        who = request.user
        if forms.form_spec(kind) is None:
            raise NotFoundException(detail="unknown form kind")
        language = lang(request)
        values = await _form_data(request)
        key = (await _form_meta(request)).get("_key", "")[:200] or new_form_key()
        submitter = submissions.Submitter(Actor.citizen(who.user_id, who.label), who.user_id, f"user:{who.user_id}",
                                          auth_of(request).client_key)
        sent = submissions.Submission(kind=kind, data=values, channel="web", default_language=language, key=key)
        # FormInvalid, Throttled and QueueErrors → _form_refused, after the kernel's rollback
        result = await submissions.file_form(db_session, app_context(request.app.state), sent, submitter)
        if not result.created:  # the same form sent twice: show what the first one filed
            return see_other(f"{BASE}/{result.item.reference}")
        return see_other(f"{BASE}/{result.item.reference}?sent=1")

    @staticmethod
    async def page(request: Request[Any, Any, Any], db_session: AsyncSession, ref: str, *,
                   status: int = 200, error: str | None = None,
                   answer_errors: list[forms.FieldError] | None = None,
                   values: dict[str, str] | None = None) -> Template:
        who = request.user
        try:
            item = await service.citizen_item(db_session, item_id(ref), who.user_id)
        except QueueError:
            raise NotFoundException(detail=N_("No such submission.")) from None
        messages = await service.thread(db_session, item, citizen_view=True)
        v = View(lang(request))
        asked = next((m for m in reversed(messages) if m.kind == MessageKind.correction_request), None)
        spec = kinds.kind(item.kind)
        can_dispute = (not item.is_open and spec is not None and spec.disputable and item.closed_at is not None
                       and (utcnow() - item.closed_at).days < kinds.catalogue().dispute_window_days)
        documents = await item_documents(db_session, item.id, who)
        # Where the SMS about what happens next goes (the outbox's own rule: the form's number, else the account's).
        phone = (item.data or {}).get("contact_phone") or await db_session.scalar(
            select(User.phone).where(User.id == who.user_id))
        # The outcome's text is staff's, as written: its language comes with the message that carried it.
        resolution_lang = next(((m.data or {}).get("lang") for m in reversed(messages)
                                if m.kind in (MessageKind.completed, MessageKind.rejected)
                                and m.body == item.resolution), None)
        return Template("backoffice/my_item.html", status_code=status, context={
            "resolution_lang": resolution_lang,
            "sms_to": mask_phone(phone) if phone else None,
            "asks_document": forms.DOCUMENT_FIELD in (item.correction_fields or []),
            "item": item, "messages": messages, "v": v, "asked": asked, "error": error, "documents": documents,
            "answer_errors": v.field_errors(answer_errors or []), "values": values or {},
            "can_dispute": can_dispute, "has_calendar": calendar_event(item, v) is not None,
            "spec": forms.form_spec(item.kind, identified=True),
        })

    @get("/{ref:str}", name="my.submissions.item")
    async def item_page(self, request: Request[Any, Any, Any], db_session: DbSession, ref: FromPath[str]) -> Template:
        return await self.page(request, db_session, ref)

    @post("/{ref:str}/reply", name="my.submissions.reply", status_code=303, opt=error_view(_item_refused))
    async def reply(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                    ref: FromPath[str]) -> Response[Any]:
        who = request.user
        meta = await _form_meta(request)
        await service.citizen_reply(db_session, item_id(ref), Actor.citizen(who.user_id, who.label),
                                    meta.get("_body", ""), expected_version=version_of(meta.get("_version")))
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=reply")

    @post("/{ref:str}/answer", name="my.submissions.answer", status_code=303, opt=error_view(_item_refused))
    async def answer(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                     ref: FromPath[str]) -> Response[Any]:
        who = request.user
        meta = await _form_meta(request)
        changes = await _form_data(request)
        ident = item_id(ref)
        current = await service.citizen_item(db_session, ident, who.user_id)
        if forms.DOCUMENT_FIELD in (current.correction_fields or []):
            messages = await service.thread(db_session, current, citizen_view=True)
            asked_at = max((m.created_at for m in messages if m.kind == MessageKind.correction_request), default=None)
            mine = [d for d in await item_documents(db_session, ident, who) if d.uploaded_by == who.user_id
                    and (asked_at is None or _aware(d.created_at) >= _aware(asked_at))]
            if not mine:
                raise InvalidAction("请先上传部门要求的文件,再发送补正。",
                                    "Upload the document the department asked for, then send the correction.")
        # FormInvalid (a corrected field that does not pass) → _item_refused, after the kernel's rollback
        await service.answer_correction(db_session, item_id(ref), Actor.citizen(who.user_id, who.label), changes,
                                        meta.get("_body", ""), expected_version=version_of(meta.get("_version")))
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=answer")

    @post("/{ref:str}/dispute", name="my.submissions.dispute", status_code=303, opt=error_view(_item_refused))
    async def dispute(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                      ref: FromPath[str]) -> Response[Any]:
        who = request.user
        meta = await _form_meta(request)
        await service.dispute(db_session, item_id(ref), Actor.citizen(who.user_id, who.label), meta.get("_reason", ""))
        await db_session.commit()
        return see_other(f"{BASE}/{ref}?done=dispute")

    @get("/{ref:str}/calendar.ics", name="my.submissions.ics")
    async def calendar(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                       ref: FromPath[str]) -> Response[bytes]:
        who = request.user
        try:
            item = await service.citizen_item(db_session, item_id(ref), who.user_id)
        except QueueError:
            raise NotFoundException(detail=N_("No such submission.")) from None
        return calendar_response(item, View(lang(request)))
