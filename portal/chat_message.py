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

from accounts.clients import client_key
from backoffice import forms, submissions
from backoffice.controllers.common import View
from backoffice.records import Actor
from kernel.deps import CurrentPrincipal, Lang, ThrottleDep, app_context, request_lang
from kernel.errors import BilingualError, error_view, field_errors_of, page_status
from portal.chat import _sender, chat_history
from storage.context import DbSession

KIND = "talk_to_person"
PER_CLIENT_LIMIT = 5  # messages per client address per throttle window


def _context(request: Request[Any, Any, Any], values: dict[str, str], key: str,
             errors: list[forms.FieldError] | None = None, notice: str | None = None) -> dict[str, Any]:
    v = View(request_lang(request))
    return {"spec": forms.form_spec(KIND, identified=False), "values": values, "key": key, "v": v,
            "errors": v.field_errors(errors or []), "notice": notice}


def message_form_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the chat page needs to show this form in place when the assistant is not there."""
    return _context(request, {}, secrets.token_urlsafe(16))


async def _refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The form again, as typed: field errors beside their fields (the same key: nothing was filed),
    a refusal above it (a fresh key: the old one is spent)."""
    raw = dict(await request.form())
    values = {k: str(v)[:5000] for k, v in raw.items() if isinstance(v, str) and not k.startswith("_")}
    errors = field_errors_of(exc)
    if errors:
        key = str(raw.get("_key", "") or "")[:64] or secrets.token_urlsafe(16)
        return Template("chat_message.html", status_code=page_status(exc), context=_context(request, values, key, errors))
    return Template("chat_message.html", status_code=exc.status_code, headers=exc.headers,
                    context=_context(request, values, secrets.token_urlsafe(16), notice=exc.message(request_lang(request))))


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

    @post("/", name="chat.message.submit", status_code=303, opt=error_view(_refused))
    async def submit(self, request: Request[Any, Any, Any], db_session: DbSession, lang: Lang,
                     principal: CurrentPrincipal, throttle: ThrottleDep) -> Response[Any]:
        language = lang
        raw = dict(await request.form())
        key = str(raw.pop("_key", "") or "")[:64] or secrets.token_urlsafe(16)
        raw.pop("_csrf_token", None)
        values = {k: str(v)[:5000] for k, v in raw.items() if isinstance(v, str)}
        citizen_id = principal.user_id if principal is not None else None
        transcript = [{"who": "user" if t.who == "user" else "bot", "text": t.text}
                      for t in (await chat_history(request))[-20:]]  # the portal's own notices count as the bot's
        submitter = submissions.Submitter(Actor.citizen(citizen_id, "chat visitor"), citizen_id,
                                          f"chat:{_sender(request)}", f"chatmsg:{client_key(request)}")
        sent = submissions.Submission(kind=KIND, data=values, channel="chat", default_language=language,
                                      transcript=transcript, key=key)
        limit = submissions.ClientLimit(throttle, [submitter.client_key], PER_CLIENT_LIMIT)
        # FormInvalid, Throttled and QueueErrors → _refused, after the kernel's rollback
        result = await submissions.file_form(db_session, app_context(request.app.state), sent, submitter, limit=limit)
        _remember(request, result.item.reference)
        return Redirect(f"/chat/message/sent/{result.item.reference}", status_code=303)


SENT_KEY = "sent_refs"


def _sent_refs(request: Request[Any, Any, Any]) -> list[str]:
    refs = (request.session or {}).get(SENT_KEY) if isinstance(request.session, dict) else None
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


def _remember(request: Request[Any, Any, Any], reference: str) -> None:
    refs = [r for r in _sent_refs(request) if r != reference][-9:]
    request.set_session({**(request.session or {}), SENT_KEY: [*refs, reference]})
