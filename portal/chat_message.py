"""“Leave a message for staff”: the chat's fallback when the assistant is down, open to
anyone (no account needed). It files a talk-to-a-person item in the court's queue with
the chat so far attached, through the same form schema and submission path as the API.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from accounts.principal import Principal
from backoffice import forms, submissions
from backoffice.controllers.common import View
from backoffice.errors import QueueError
from backoffice.records import Actor
from portal.chat import _history, _sender
from portal.i18n import gettext as _
from storage.context import AppContext, DbSession

KIND = "talk_to_person"
PER_CLIENT_LIMIT = 5  # messages per client address per throttle window


def _context(request: Request[Any, Any, Any], values: dict[str, str], key: str,
             errors: list[forms.FieldError] | None = None, notice: str | None = None) -> dict[str, Any]:
    v = View(request.scope["state"].get("lang", "zh"))
    return {"spec": forms.form_spec(KIND, identified=False), "values": values, "key": key, "v": v,
            "errors": v.field_errors(errors or []), "notice": notice}


class ChatMessageController(Controller):
    path = "/chat/message"
    include_in_schema = False

    @get("/", name="chat.message")
    async def form(self, request: Request[Any, Any, Any]) -> Template:
        return Template("chat_message.html", context=_context(request, {}, secrets.token_urlsafe(16)))

    @get("/sent/{reference:str}", name="chat.message.sent")
    async def sent(self, request: Request[Any, Any, Any], reference: FromPath[str]) -> Template:
        # Only a reference this browser's session was given: the page speaks with the court's voice,
        # so it must not echo text from a link someone else made.
        if reference not in _sent_refs(request):
            raise NotFoundException()
        return Template("chat_message_sent.html", context={"reference": reference})

    @post("/", name="chat.message.submit", status_code=303)
    async def submit(self, request: Request[Any, Any, Any], db_session: DbSession) -> Response[Any]:
        ctx: AppContext = request.app.state.ctx
        language = request.scope["state"].get("lang", "zh")
        raw = dict(await request.form())
        key = str(raw.pop("_key", "") or "")[:64] or secrets.token_urlsafe(16)
        raw.pop("_csrf_token", None)
        values = {k: str(v)[:5000] for k, v in raw.items() if isinstance(v, str)}
        user = request.scope.get("user")
        citizen_id = user.user_id if isinstance(user, Principal) else None
        scope = f"chat:{_sender(request)}"
        transcript = [{"who": t.who, "text": t.text[:2000]} for t in _history(request)[-20:]]
        digest = submissions.body_hash(KIND, values, "chat", language, transcript, citizen_id)
        try:
            found = await submissions.existing(db_session, scope, key, digest)
        except QueueError as exc:
            return Template("chat_message.html", status_code=exc.status,
                            context=_context(request, values, secrets.token_urlsafe(16), notice=exc.message(language)))
        if found is not None:  # the same form sent twice
            _remember(request, found.item.reference)
            return Redirect(f"/chat/message/sent/{found.item.reference}", status_code=303)
        try:
            valid = forms.validate(KIND, values, identified=citizen_id is not None)
        except forms.FormInvalid as exc:
            return Template("chat_message.html", status_code=400, context=_context(request, values, key, exc.errors))
        client = [f"chatmsg:{request.client.host if request.client else 'unknown'}"]
        counter = ctx.throttle
        if await counter.retry_after(client) or await _count(counter, client) >= PER_CLIENT_LIMIT:
            return Template("chat_message.html", status_code=429, context=_context(
                request, values, key, notice=_("Too many messages from here. Please try again later.")))
        try:
            result = await submissions.submit(
                db_session, valid, actor=Actor.citizen(citizen_id, "chat visitor"), citizen_id=citizen_id,
                channel="chat", language=language, transcript=transcript, idempotency=(scope, key, digest),
            )
        except QueueError as exc:
            await db_session.rollback()
            return Template("chat_message.html", status_code=exc.status,
                            context=_context(request, values, key, notice=exc.message(language)))
        await counter.fail(client)  # counts messages sent, not failures
        _remember(request, result.item.reference)
        return Redirect(f"/chat/message/sent/{result.item.reference}", status_code=303)


SENT_KEY = "sent_refs"


def _sent_refs(request: Request[Any, Any, Any]) -> list[str]:
    refs = (request.session or {}).get(SENT_KEY) if isinstance(request.session, dict) else None
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


def _remember(request: Request[Any, Any, Any], reference: str) -> None:
    refs = [r for r in _sent_refs(request) if r != reference][-9:]
    request.set_session({**(request.session or {}), SENT_KEY: [*refs, reference]})


async def _count(throttle: Any, keys: list[str]) -> int:
    raw = await throttle.store.get(keys[0])
    return int(raw) if raw is not None else 0
