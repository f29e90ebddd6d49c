"""The /chat page: a phone-first chat with the assistant, proxied through the portal.

The browser never talks to Rasa. The portal keeps a server-side sender id in the session,
forwards each message to Rasa's REST webhook with the language and, for a signed-in person,
a signed identity the action server passes back to the portal API. If Rasa is down, the page
says so and offers a plain message form that still reaches the back-office queue.

The turns are kept by sender in the chat log (storage/chat_log.py), not in the session: a
message appends its new turns (one INSERT) and neither reads the history nor rewrites the
session; the page reads the last ``HISTORY_TURNS``. Only the session's sender reaches them:
/chat/clear starts a new sender and deletes the old one's turns, and so does a rotation of
the session at sign-in or sign-out (PortalSessionConfig.on_drop).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from markupsafe import Markup, escape

from accounts.clients import client_key, make_client_token
from accounts.principal import Principal
from portal.i18n import gettext as _
from portal.rasa_replicas import NoReplicaAnswered, RasaReplicas
from storage.chat_log import ChatLog
from storage.context import AppContext
from title_transfer.access import make_citizen_token

log = logging.getLogger("portal.chat")
MAX_MESSAGE = 1000
HISTORY_TURNS = 40
LEGACY_KEY = "chat_history"  # where sessions kept the turns before the chat log
_LINK = re.compile(r"(?<![\w/])(/(?:track|taxes|guide|chat|my/submissions|staff)(?:/[\w\-/?=&.%]*)?)")


class ChatForm(msgspec.Struct):
    message: str = ""
    embed: str = ""  # "1" when sent from the embedded panel: come back to the panel


class Turn(msgspec.Struct):
    who: str  # "user" | "bot" | "system"
    text: str
    buttons: list[dict[str, str]] = []


def linkify(text: str) -> Markup:
    """Escape the text, then turn the portal's own relative paths into links (nothing else)."""
    escaped = str(escape(text))
    return Markup(_LINK.sub(r'<a href="\1">\1</a>', escaped).replace("\n", "<br>"))  # noqa: S704 - escaped above


def _conversation(request: Request[Any, Any, Any]) -> str | None:
    """The session's chat sender, if it has one (none is made)."""
    sender = request.session.get("chat_sender") if request.session else None
    return sender if isinstance(sender, str) else None


def _sender(request: Request[Any, Any, Any]) -> str:
    sender = _conversation(request)
    if sender is None:  # a new conversation: its replica's turn (portal/rasa_replicas.py)
        sender = _replicas(request.app.state.ctx).new_sender()
        request.set_session({**(request.session or {}), "chat_sender": sender})
    return sender


def chat_log(ctx: AppContext) -> ChatLog:
    if ctx.chat_log is None:  # an app context built without one
        ctx.chat_log = ChatLog(ctx.engine)
    return ctx.chat_log


async def _adopt_legacy(request: Request[Any, Any, Any], ctx: AppContext) -> None:
    """A session from before the chat log still holds its turns: move them to the log, once."""
    raw = (request.session or {}).get(LEGACY_KEY)
    if raw is None:
        return
    session = dict(request.session or {})
    session.pop(LEGACY_KEY, None)
    request.set_session(session)
    sender = _conversation(request)
    try:
        turns = msgspec.convert(raw, list[Turn])
    except msgspec.ValidationError:
        return
    if sender is not None and turns:
        await chat_log(ctx).append(sender, turns[-HISTORY_TURNS:])


async def chat_history(request: Request[Any, Any, Any]) -> list[Turn]:
    """The last HISTORY_TURNS turns of this session's conversation, oldest first."""
    ctx: AppContext = request.app.state.ctx
    await _adopt_legacy(request, ctx)
    sender = _conversation(request)
    if sender is None:
        return []
    return [Turn(t.who, t.text, t.buttons) for t in await chat_log(ctx).recent(sender, HISTORY_TURNS)]


def forget_dropped(log_: ChatLog) -> Any:
    """PortalSessionConfig.on_drop: a session deleted or rotated away takes its chat turns along
    (unless the session that replaces it keeps the same sender)."""

    async def on_drop(old: dict[str, Any], new: dict[str, Any] | None) -> None:
        sender = old.get("chat_sender")
        if not isinstance(sender, str) or (new is not None and new.get("chat_sender") == sender):
            return
        try:
            await log_.forget(sender)
        except Exception:  # noqa: BLE001 - the sign-in or sign-out goes on; the purge removes them later
            log.exception("could not delete the chat turns of a dropped session")

    return on_drop


class RasaUnavailable(Exception):
    pass


def _replicas(ctx: AppContext) -> RasaReplicas:
    if ctx.rasa is None:  # an app context built without them: the one configured URL
        ctx.rasa = RasaReplicas(getattr(ctx.settings.bot, "rasa_urls", None) or (ctx.settings.bot.rasa_url,))
    replicas: RasaReplicas = ctx.rasa
    return replicas


async def ask_rasa(ctx: AppContext, sender: str, text: str, metadata: dict[str, Any]) -> list[Turn]:
    try:
        # The sender's own replica, or the next one when it is down (portal/rasa_replicas.py).
        _replica, resp = await _replicas(ctx).post(
            sender, "/webhooks/rest/webhook", {"sender": sender, "message": text, "metadata": metadata},
            wait=ctx.settings.bot.timeout_seconds)
    except NoReplicaAnswered as exc:
        raise RasaUnavailable(str(exc)) from exc
    if resp.status_code != 200:
        raise RasaUnavailable(f"HTTP {resp.status_code}")
    try:
        replies = resp.json()
    except ValueError as exc:
        raise RasaUnavailable("not JSON") from exc
    turns: list[Turn] = []
    for item in replies if isinstance(replies, list) else []:
        if not isinstance(item, dict):
            continue
        buttons = [
            {"title": str(b.get("title", ""))[:80], "payload": str(b.get("payload", ""))[:200]}
            for b in item.get("buttons") or [] if isinstance(b, dict)
        ]
        if item.get("text") or buttons:
            turns.append(Turn("bot", str(item.get("text") or "")[:4000], buttons))
    return turns


async def rasa_answers(ctx: AppContext) -> bool:
    """Whether Rasa is up to answer: it listens only once its model is loaded (while `make run`
    still prepares the assistant nothing answers; a proxy in front of it says 502-504)."""
    return await _replicas(ctx).any_answers(wait=1.0)


def chat_metadata(request: Request[Any, Any, Any], ctx: AppContext) -> dict[str, Any]:
    lang = request.scope["state"].get("lang", "zh")
    # The browser's client key, signed: the action server sends it back (X-Chat-Client) so
    # the API's per-client limits follow the browser, not the chat sender /chat/clear renews.
    meta: dict[str, Any] = {"lang": lang, "client": make_client_token(ctx.settings.secret_key, client_key(request))}
    user = request.scope.get("user")
    if isinstance(user, Principal):
        meta["identity"] = make_citizen_token(ctx.settings.secret_key, user.user_id)
    return meta


class ChatController(Controller):
    path = "/chat"
    include_in_schema = False

    @get("/", name="chat")
    async def page(self, request: Request[Any, Any, Any]) -> Template:
        # Said up front when the assistant is not there (still being prepared, or down): no greeting.
        up = await rasa_answers(request.app.state.ctx)
        context: dict[str, Any] = {"turns": await chat_history(request), "error": None, "assistant_up": up,
                                   "embed": request.query_params.get("embed") == "1"}
        if not up:
            # The leave-a-message form itself, on this page: nobody has to find it.
            from portal.chat_message import message_form_context  # (it imports this module)

            context.update(message_form_context(request))
        return Template("chat.html", context=context, media_type=MediaType.HTML)

    @post("/", name="chat.send", status_code=303)
    async def send(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[ChatForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        ctx: AppContext = request.app.state.ctx
        await _adopt_legacy(request, ctx)
        sender = _sender(request)
        text = data.message.strip()
        new: list[Turn] = []
        status = 200
        if not text:
            new.append(Turn("system", _("Please type a message.")))
            status = 400
        elif len(text) > MAX_MESSAGE:
            new.append(Turn("system", _("That message is too long (%(n)s characters). Please keep it under %(max)s.")
                            % {"n": len(text), "max": MAX_MESSAGE}))
            status = 400
        else:
            new.append(Turn("user", text))
            try:
                replies = await ask_rasa(ctx, sender, text, chat_metadata(request, ctx))
                new.extend(replies or [Turn("bot", _("Sorry, I have no answer to that. You can ask for a person."))])
            except RasaUnavailable:
                new.append(Turn("system", _("The assistant is not available right now. Leave a message below and "
                                            "staff will answer you.")))
                status = 503
        await chat_log(ctx).append(sender, new)  # appended: the history is not read here
        if request.headers.get("hx-request"):
            # media_type named: Litestar otherwise guesses it from the file name (mimetypes) at every response
            return Template("_chat_turns.html", context={"turns": new, "offer_message": status == 503},
                            status_code=200, media_type=MediaType.HTML)
        return Redirect("/chat?embed=1#end" if data.embed == "1" else "/chat#end", status_code=303)

    @post("/clear", name="chat.clear", status_code=303)
    async def clear(self, request: Request[Any, Any, Any]) -> Redirect:
        session = dict(request.session or {})
        session.pop(LEGACY_KEY, None)
        old = session.pop("chat_sender", None)  # a new conversation for Rasa too
        request.set_session(session)
        if isinstance(old, str):
            await chat_log(request.app.state.ctx).forget(old)
        return Redirect("/chat", status_code=303)
