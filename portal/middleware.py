"""Per-request context: language and security headers (the caller is resolved by kernel.auth)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


# Strict-Transport-Security in production (the portal is served over TLS there, see compose.yaml):
# one year, subdomains included. Not preload: that is a decision for the operator of the domain.
HSTS = b"max-age=31536000; includeSubDomains"
# Static files and vendored scripts may be cached; everything else is no-store unless it says otherwise.
PUBLIC_ASSETS = ("/static/", "/vendor/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    # Litestar's parse, kept in the scope's state: the session middleware parsed this header
    # already, and request.cookies in handlers reuses it (http.cookies.SimpleCookie parsed it
    # again here, in pure Python, on every request).
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)  # not subscripted: typing's alias call costs
    return connection.cookies.get(name)


def context_middleware_factory(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        raw_query = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode("latin-1")).get("lang", [None])[0] if raw_query else None
        lang = choose_lang(query, _cookie(scope, LANG_COOKIE), _header(scope, b"accept-language"))
        scope.setdefault("state", {})["lang"] = lang
        token = current_lang.set(lang)
        path: str = scope.get("path", "")
        ctx = scope["app"].state.get("ctx")
        hsts = bool(ctx is not None and ctx.settings.is_production)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                headers.append((b"content-language", b"zh-CN" if lang == "zh" else b"en"))
                # A response that declares itself public (JSON without personal data) names its own Vary:
                # varying it by Cookie would keep every shared cache from sharing it.
                public = any(k.lower() == b"cache-control" and b"public" in v for k, v in headers)
                if not public:
                    headers.append((b"vary", b"Cookie, Accept-Language"))
                if b"cache-control" not in present and not path.startswith(PUBLIC_ASSETS):
                    # Pages vary by person (and by grant cookie); API answers carry personal data:
                    # neither a shared cache nor the browser's disk may keep them.
                    headers.append((b"cache-control", b"no-store"))
                if hsts:
                    headers.append((b"strict-transport-security", HSTS))
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


def with_request_lang(handler: Any) -> Any:
    """An exception handler that first settles the request's language.

    A path no route matches is refused by the router, before any middleware has run: the
    error page would otherwise ignore ``?lang=``, the cookie and Accept-Language.
    """

    def handle(request: Any, exc: Exception) -> Any:
        state = request.scope.setdefault("state", {})
        if "lang" not in state:
            state["lang"] = choose_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                                        request.headers.get("accept-language"))
            current_lang.set(state["lang"])
        return handler(request, exc)

    return handle
