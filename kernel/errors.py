"""One bilingual error family and one exception handler for every domain.

Domains raise a :class:`BilingualError` subclass (status code, machine code, message in zh
and en) from their services and let it go: :func:`exception_handler`, registered once by the
composition root, answers

* JSON under ``/api/`` (or when the client asks for JSON, or the route sets ``opt["json_errors"]``
  and the client does not ask for HTML);
* an htmx fragment for ``HX-Request`` (template ``opt["error_fragment"]``, default
  ``kernel/_error.html``);
* the full page otherwise (template ``opt["error_page"]``, default ``error.html``),

in the request's language; :func:`rollback_request_session` (an ``after_exception`` hook)
rolls the request's database session back first.

A handler that must show the error *beside its own form* (a page re-rendered with what the
person typed) does not catch the error either: its route names an error view,
``opt=error_view(render)``, an async ``render(request, error) -> Response`` that the one handler
calls after the rollback, for page and htmx requests (API requests still get JSON). Not for
:class:`ServiceUnavailable`: a lost dependency is the plain 503 page, with Retry-After.

A form whose fields do not pass is one of these errors too: :class:`FormInvalid` carries the
list of :class:`FieldError` (field, message_zh, message_en). The API gets a 422 whose
``errors`` list names every field; a page or htmx request goes to the route's error view,
which re-renders the form with the values as typed and each message beside its field
(:func:`field_errors_of` gives the list, :func:`page_status` the status: 400 for a form page);
a route without a view gets the error page with the first problem.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.types import Receive, Scope, Send
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from kernel.deps import request_lang
from kernel.i18n import gettext
from storage.errors import BilingualError, Throttled

log = logging.getLogger("portal")

ErrorView = Callable[[Request[Any, Any, Any], BilingualError], Awaitable[Response[Any]]]
ERROR_VIEW = "error_view"
_AA_NAMESPACE = "_aa_connection_state"  # where advanced-alchemy keeps the request's session in the scope


def error_view(render: ErrorView, **opt: Any) -> dict[str, Any]:
    """Route ``opt`` naming the view that re-renders this route's own page with a domain error."""
    return {ERROR_VIEW: render, **opt}


def request_sessions(scope: Scope) -> list[AsyncSession]:
    """The database session(s) opened for this request by the SQLAlchemy plugin."""
    namespace: dict[str, Any] = scope.get(_AA_NAMESPACE) or {}  # type: ignore[call-overload,assignment]
    return [value for value in namespace.values() if isinstance(value, AsyncSession)]


def db_session_of(request: Request[Any, Any, Any]) -> AsyncSession:
    found = request_sessions(request.scope)
    if not found:
        raise RuntimeError("no database session was opened for this request")
    return found[0]


async def rollback_request_session(exc: Exception, scope: Scope) -> None:
    """``after_exception`` hook: nothing a failed request did stays pending in its session."""
    for session in request_sessions(scope):
        await session.rollback()


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request", "").lower() == "true"


def wants_json(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    if request.scope.get("state", {}).get("error_next"):  # a plain form that names its way back
        return False
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return False
    if "application/json" in accept:
        return True
    route = request.scope.get("route_handler")
    return bool(route is not None and route.opt.get("json_errors")) and not is_htmx(request)


def _opt(request: Request[Any, Any, Any], key: str, default: Any = None) -> Any:
    route = request.scope.get("route_handler")
    return route.opt.get(key, default) if route is not None else default


class _Deferred(Response[Any]):
    """A response computed by an async error view (after the rollback) when it is sent."""

    def __init__(self, view: ErrorView, exc: BilingualError) -> None:
        super().__init__(content=None)
        self.view = view
        self.exc = exc

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **kwargs: Any) -> Any:  # type: ignore[override]
        async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                response = await self.view(request, self.exc)
            except Exception as exc:  # noqa: BLE001 - the page itself cannot be shown: the plain answer
                response = exception_handler(request, exc, views=False)
            await response.to_asgi_response(app=app, request=request, **kwargs)(scope, receive, send)

        return asgi


class FieldError(msgspec.Struct):
    """One field's problem, in both languages (``field`` is the form field's name)."""

    field: str
    message_zh: str
    message_en: str


class FormInvalid(BilingualError):
    """A form (web, API, chat) whose fields do not pass: every problem at once, each beside its field.

    The API answers 422 with ``errors`` (field, message_zh, message_en) so the assistant can read
    them out one by one; a form page is re-rendered with status :attr:`page_status` by the
    route's error view, which finds the list in :attr:`errors`.
    """

    status_code = 422
    code = "form_invalid"
    page_status: int = 400

    def __init__(self, errors: list[FieldError], *, page_status: int = 400) -> None:
        """``page_status``: what the re-rendered page answers with (a refused file: 413 or 415)."""
        first = errors[0] if errors else FieldError("", "表单内容有误。", "The form has errors.")
        super().__init__(first.message_zh, first.message_en, fields=[e.field for e in errors])
        self.errors = errors
        self.page_status = page_status

    def __str__(self) -> str:
        return ", ".join(e.field for e in self.errors)


def field_errors_of(exc: BaseException) -> list[FieldError]:
    """The field errors an error view shows beside the fields (none for any other refusal)."""
    return list(exc.errors) if isinstance(exc, FormInvalid) else []


def page_status(exc: BilingualError) -> int:
    """The status a page re-rendered for ``exc`` answers with (a form's field errors: 400)."""
    return exc.page_status if isinstance(exc, FormInvalid) else exc.status_code


class MalformedInput(BilingualError):
    """Input no handler could have taken, met below the handlers (a 400 that says what to fix)."""

    status_code = 400
    code = "malformed_input"


NOT_UTF8 = MalformedInput("表单不是有效的 UTF-8 文本。请以 UTF-8 发送文本字段,文件请带文件名。",
                          "The form is not valid UTF-8 text. Send text fields as UTF-8 and files with a file name.")
OUT_OF_RANGE = MalformedInput("请求中的数字超出范围。", "A number in the request is out of range.")


def _out_of_range(exc: BaseException) -> bool:
    """A number the database cannot hold: SQLite's OverflowError, PostgreSQL's DataError, or
    asyncpg refusing to encode it (a DBAPIError caused by an OverflowError)."""
    seen: BaseException | None = exc
    for _depth in range(10):
        if seen is None:
            return False
        if isinstance(seen, OverflowError | DataError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def malformed(exc: Exception) -> MalformedInput | None:
    """What an exception raised below the handlers says about the input, if it is the input's fault.

    A multipart part that is not UTF-8 (Litestar decodes every part without a file name, in the
    CSRF check and in body parsing alike) or names a charset Python does not know; a number the
    database cannot hold (integer URL parameters are bounded with ``storage.ids.RowId``; this is
    the backstop). Anything else (KeyError, IntegrityError, …) stays a logged 500.
    """
    if isinstance(exc, UnicodeDecodeError) or (type(exc) is LookupError and "encoding" in str(exc)):
        return NOT_UTF8
    if _out_of_range(exc):
        log.info("out-of-range number: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        return OUT_OF_RANGE
    return None


class ServiceUnavailable(BilingualError):
    """A dependency (the database, Redis) cannot be reached right now: nothing was done; try again."""

    status_code = 503
    code = "service_unavailable"

    def __init__(self, detail: str = "") -> None:
        super().__init__("系统暂时无法处理请求,您的操作没有保存。请稍后再试一次。",
                         "The service cannot handle requests right now and nothing was saved. "
                         "Please try again in a moment.")
        self.detail = detail  # for the log only

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}

    def __str__(self) -> str:
        return f"{self.message_en} ({self.detail})" if self.detail else self.message_en


# asyncpg's and redis's "the server is not there (now)" errors, by name: the kernel imports neither.
_UNAVAILABLE_NAMES = frozenset({
    "CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError", "AdminShutdownError",
    "CrashShutdownError", "TooManyConnectionsError", "ConnectionRejectionError",
    "ConnectionError", "TimeoutError", "BusyLoadingError",
})


def unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """A 503 when ``exc`` (or what caused it) says a server could not be reached or went away
    mid-request; None for anything else (a bug stays a logged 500)."""
    seen: BaseException | None = exc
    for _depth in range(10):
        if seen is None:
            return None
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return ServiceUnavailable(f"database connection lost: {type(seen.orig).__name__}")
        if isinstance(seen, PoolTimeout | ConnectionError | TimeoutError | socket.gaierror):
            return ServiceUnavailable(type(seen).__name__)
        if type(seen).__name__ in _UNAVAILABLE_NAMES and type(seen).__module__.split(".")[0] in ("asyncpg", "redis"):
            return ServiceUnavailable(f"{type(seen).__module__}.{type(seen).__name__}")
        if isinstance(seen, OperationalError | InterfaceError) and "connection" in str(seen).lower():
            return ServiceUnavailable(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return None

def _translated_detail(detail: str | None, lang: str) -> str | None:
    if not detail:
        return None
    if detail in _REASON_PHRASES:  # says no more than the page's heading
        return None
    translated = gettext(detail)
    if lang != "en" and translated == detail:
        return None
    return translated


_REASON_PHRASES = frozenset(status.phrase for status in HTTPStatus)


def exception_handler(request: Request[Any, Any, Any], exc: Exception, *, views: bool = True) -> Response[Any]:
    """The one exception handler: domain errors, HTTP errors, malformed input, an unreachable
    dependency (503 with Retry-After) and unexpected ones."""
    if not isinstance(exc, BilingualError | HTTPException):
        exc = malformed(exc) or unavailable(exc) or exc
    lang = request_lang(request)
    headers: dict[str, str] = {}
    body: dict[str, Any]
    message: str | None
    if isinstance(exc, BilingualError):
        status, message = exc.status_code, exc.message(lang)
        headers.update(exc.headers)
        body = {"status_code": status, "detail": message, "message": message, **exc.to_dict()}
        if isinstance(exc, FormInvalid):
            body["errors"] = msgspec.to_builtins(exc.errors)
        if status >= 500:
            log.warning("refused with %s on %s %s: %s", status, request.method, request.url.path, exc)
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
        if not wants_json(request):
            # A page speaks the reader's language: a detail the catalogue knows is translated,
            # one it does not know (Litestar's own "Not Found", …) is left to the page's heading.
            message = _translated_detail(message, lang)
        if status >= 500:
            log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc, exc_info=exc)
        headers.update(exc.headers or {})
        body = {"status_code": status, "detail": message}
        if isinstance(exc, ValidationException) and exc.extra:
            body["errors"] = exc.extra
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)

        status, message = 500, None
        body = {"status_code": 500, "detail": "internal error; it has been logged"}
    if _opt(request, "json_errors"):  # routes of personal data: an error is not cached either
        headers.setdefault("Cache-Control", "no-store")
    if wants_json(request):
        return Response(body, status_code=status, headers=headers or None)
    if isinstance(exc, NotAuthorizedException) or status == 401:
        return Redirect(f"/login?next={request.url.path}", status_code=303)
    view = _opt(request, ERROR_VIEW)
    # A view re-renders the route's form from the request; malformed input cannot be read again.
    # Nor is an unavailable dependency the form's error: re-rendering the page would read the
    # database that was just lost, and the page would not carry Retry-After; the 503 page says
    # that nothing was saved and to try again.
    if (isinstance(exc, BilingualError) and view is not None and views
            and not isinstance(exc, MalformedInput | ServiceUnavailable)):
        return _Deferred(view, exc)
    if isinstance(exc, FormInvalid):  # a form page that named no view: the error page, as a client error
        status = exc.page_status
    context = {"status": status, "detail": message if status < 500 else None, "message": message,
               "error": exc if isinstance(exc, BilingualError) else None, "back": _opt(request, "error_back", "/"),
               "next_url": request.scope.get("state", {}).get("error_next")}
    if is_htmx(request) and status < 500:
        return Template(_opt(request, "error_fragment", "kernel/_error.html"), status_code=status, context=context,
                        headers=headers or None)
    page = _opt(request, "error_page", "error.html") if status < 500 else "error.html"
    if context["next_url"] and status < 500:  # a plain form that said where to go back to
        page = _opt(request, "error_page_with_next", page)
    return Template(page, status_code=status, context=context, headers=headers or None)


def remember_error_next(request: Request[Any, Any, Any], url: str | None) -> None:
    """Where the error page of a plain (no-JS) form should link back to."""
    request.scope.setdefault("state", {})["error_next"] = url


def exception_handlers() -> dict[Any, Any]:
    """For ``Litestar(exception_handlers=...)``: every error goes through :func:`exception_handler`."""
    return {BilingualError: exception_handler, HTTPException: exception_handler, 500: exception_handler,
            # raised below the handlers by input no handler could take: a 400 when it is the input's fault
            UnicodeDecodeError: exception_handler, LookupError: exception_handler,
            OverflowError: exception_handler, DBAPIError: exception_handler}


__all__ = ["BilingualError", "ErrorView", "FieldError", "FormInvalid", "field_errors_of", "page_status", "Throttled", "db_session_of", "error_view", "exception_handler",
           "exception_handlers", "is_htmx", "malformed", "ServiceUnavailable", "unavailable", "remember_error_next", "request_sessions", "rollback_request_session", "wants_json"]
