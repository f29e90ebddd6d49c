"""Server-side sessions that only the server names, and that write only when they change.

Litestar's stock server-side backend keeps whatever id the request's cookie carries: a
planted ``portal_session=attacker-chosen-id`` became the victim's session id at sign-in,
any unknown cookie got a stored row, and sign-out left a ``null`` cookie that minted a new
row on every page view. Here:

- an id is used only if the store knows it; an unknown cookie is answered with a deletion
  cookie and nothing is stored under it;
- clearing the session (``request.clear_session()``, as sign-in and sign-out do) or a change
  of the signed-in person rotates the id: the old entry is deleted, a fresh id is issued;
- a session that did not change is not written again and no cookie is sent (the lifetime is
  counted from the last change: 12 hours after sign-in at most);
- an empty session is deleted, and the browser is told to drop the cookie (Max-Age=0);
- the store is written after the response's headers have gone through the app's
  before-send hooks, so the request's own database session has been committed and its
  pooled connection returned before the store takes one;
- what a session names that is kept elsewhere goes with it: when an entry is deleted or
  replaced by a rotation, the config's ``on_drop(old, new)`` runs with the old and the new
  contents (``new`` None when nothing replaces it); the chat's turns (storage/chat_log.py,
  by the session's chat sender) are deleted that way.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.dataclass import extract_dataclass_items

_STATE = "portal.session"
_ID = re.compile(r"^[0-9a-f]{16,128}$")
_COOKIE_CACHE = 4096  # rendered Set-Cookie headers kept, by session id (each chat message re-sends its cookie)


# What the connection's session id says while no id is settled (no known session yet): not
# Empty, so that request.clear_session() (which sets it to Empty) is still seen.
_UNSETTLED = ""


@dataclass
class _Loaded:
    known_id: str | None  # the id from the cookie, if the store knows it
    data: dict[str, Any] | None  # what the store held under it
    cookie_sent: bool  # the request carried a session cookie at all
    fresh_id: str | None = None  # drawn only when a session is to be stored under a new id

    def new_id(self, backend: ServerSideSessionBackend) -> str:
        if self.fresh_id is None:
            self.fresh_id = backend.generate_session_id()
        return self.fresh_id


def _loaded(scope: Scope) -> _Loaded:
    return scope[_STATE]  # type: ignore[literal-required,no-any-return]


def _user_id(session: Any) -> Any:
    principal = session.get("principal") if isinstance(session, dict) else None
    return principal.get("user_id") if isinstance(principal, dict) else None


class PortalSessionBackend(ServerSideSessionBackend):
    def __init__(self, config: ServerSideSessionConfig) -> None:
        super().__init__(config)
        self._cookie_headers: dict[str, str] = {}

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:  # type: ignore[type-arg]
        cookie = connection.cookies.get(self.config.key)
        state = _Loaded(known_id=None, data=None, cookie_sent=self.config.key in connection.cookies)
        connection.scope[_STATE] = state  # type: ignore[literal-required]
        if cookie and _ID.match(cookie):  # anything else was never issued here: no lookup at all
            raw = await self.get(cookie, store=self.config.get_store_from_app(connection.scope["app"]))
            if raw is not None:
                try:
                    data = self.deserialize_data(raw)
                except Exception:  # noqa: BLE001 - an unreadable entry is treated as absent
                    data = None
                if isinstance(data, dict):
                    state.known_id, state.data = cookie, data
                    return dict(data)
        return {}

    def get_session_id(self, connection: ASGIConnection) -> str:  # type: ignore[type-arg]
        state = _loaded(connection.scope)
        return state.known_id or _UNSETTLED

    def _cookie(self, value: str, **extra: Any) -> str:
        if not extra:  # a session's own cookie: the same header each time it is sent (Max-Age, no Expires)
            cache = self._cookie_headers
            header = cache.get(value)
            if header is None:
                if len(cache) >= _COOKIE_CACHE:
                    cache.clear()
                header = cache[value] = self._render_cookie(value)
            return header
        return self._render_cookie(value, **extra)

    def _render_cookie(self, value: str, **extra: Any) -> str:
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        params.update(extra)
        return Cookie(value=value, key=self.config.key, **params).to_header(header="")

    async def plan(self, scope_session: ScopeSession, message: Message,
                   connection: ASGIConnection) -> list[Callable[[], Awaitable[None]]]:  # type: ignore[type-arg]
        """Set the response's cookie now; return the store writes to run once the headers have gone."""
        state = _loaded(connection.scope)
        writes: list[Callable[[], Awaitable[None]]] = []
        old = state.known_id
        if (scope_session is Empty or not scope_session) and old is None and not state.cookie_sent:
            return writes  # no session before, none now: nothing to store, no cookie (most requests)
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        on_drop = getattr(self.config, "on_drop", None)
        if scope_session is Empty or not scope_session:
            if old is not None:
                writes.append(lambda: self.delete(old, store=store))
                if on_drop is not None and state.data:
                    writes.append(lambda: on_drop(state.data or {}, None))
            if state.cookie_sent:
                headers.add("Set-Cookie", self._cookie("", max_age=0, expires=0))
            return writes
        cleared = connection.get_session_id() is None  # request.clear_session() ran during this request
        rotate = old is None or cleared or _user_id(scope_session) != _user_id(state.data)
        if not rotate and scope_session == state.data:
            return writes  # unchanged: no write, no cookie
        session_id = state.new_id(self) if rotate else old
        assert session_id is not None
        if rotate and old is not None:
            writes.append(lambda: self.delete(old, store=store))
            if on_drop is not None and state.data:
                kept = dict(scope_session) if isinstance(scope_session, dict) else None
                writes.append(lambda: on_drop(state.data or {}, kept))
        payload = self.serialize_data(scope_session, connection.scope)
        writes.append(lambda: self.set(session_id, payload, store=store))
        headers.add("Set-Cookie", self._cookie(session_id))
        return writes


class PortalSessionMiddleware(SessionMiddleware[PortalSessionBackend]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive=receive, send=send)
        scope["session"] = await self.backend.load_from_connection(connection)
        connection._connection_state.session_id = self.backend.get_session_id(connection)  # noqa: SLF001
        pending: list[Callable[[], Awaitable[None]]] = []

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending.extend(await self.backend.plan(scope.get("session"), message, connection))
                await send(message)  # the app's before-send hooks commit and close the request's db session
                return
            while pending:
                await pending.pop(0)()
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            while pending:  # a response without a body message
                await pending.pop(0)()


@dataclass
class PortalSessionConfig(ServerSideSessionConfig):
    _backend_class = PortalSessionBackend
    # Runs (after the response's headers) when a stored session is deleted or rotated away:
    # on_drop(old contents, new contents or None).
    on_drop: Callable[[dict[str, Any], dict[str, Any] | None], Awaitable[None]] | None = None

    @property
    def middleware(self) -> DefineMiddleware:
        return DefineMiddleware(PortalSessionMiddleware, backend=self._backend_class(config=self))
