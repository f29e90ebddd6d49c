"""Per-request context: language and security headers (the caller is resolved by kernel.auth)."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Message, Receive, Scope, ScopeSession, Send

from kernel.auth import principal_from_session as principal_from_session  # the one place; see kernel.auth
from portal.i18n import LANG_COOKIE, choose_lang, current_lang

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'self'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        jar = SimpleCookie(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is treated as absent
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def context_middleware_factory(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[0]
        lang = choose_lang(query, _cookie(scope, LANG_COOKIE), _header(scope, b"accept-language"))
        scope.setdefault("state", {})["lang"] = lang
        token = current_lang.set(lang)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                headers.append((b"content-language", b"zh-CN" if lang == "zh" else b"en"))
                headers.append((b"vary", b"Cookie, Accept-Language"))
                if query in ("zh", "en"):
                    headers.append(
                        (b"set-cookie", f"{LANG_COOKIE}={query}; Path=/; Max-Age=31536000; SameSite=Lax".encode())
                    )
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            current_lang.reset(token)

    return middleware


class LazySessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, minus a write per anonymous request.

    The stock backend stores every response's session, so a visitor without a session
    cookie (the buyer on a tracking page, a crawler) got a fresh empty row in the store
    and a Set-Cookie on each GET. Here an empty session that came without a cookie is
    left alone: nothing is written, no cookie is set. Everything else is unchanged.
    """

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection) -> None:  # type: ignore[type-arg]
        if isinstance(scope_session, dict) and not scope_session and self.config.key not in connection.cookies:
            return
        await super().store_in_message(scope_session, message, connection)


@dataclass
class LazySessionConfig(ServerSideSessionConfig):
    _backend_class = LazySessionBackend
