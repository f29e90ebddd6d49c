"""The composition root: builds the Litestar app from settings and wires the domains."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import httpx
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException, ValidationException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig
from sqlalchemy import event, select
from sqlalchemy.exc import DataError, DBAPIError

from accounts.models import User
from backoffice.controllers import route_handlers as backoffice_routes
from portal import pages
from portal.auth import AuthController
from portal.chat import ChatController
from portal.chat_message import ChatMessageController
from portal.document_wiring import wire_documents
from portal.documents import DocumentController, document_error_handler
from portal.i18n import gettext as _
from portal.middleware import LazySessionConfig, context_middleware_factory
from portal.queue_wiring import wire_backoffice
from portal.settings import ROOT, Settings
from portal.static_fs import StaticFileSystem
from portal.templating import build_environment
from storage.context import AppContext
from storage.documents import DocumentError, build_document_store_from_settings, wait_for_cleanups
from storage.kv import KeyValueItem
from storage.throttle import Throttle
from title_transfer.access import CodeChecker
from title_transfer.controllers import (
    StaffStepsController,
    TrackingController,
    TransferAPI,
    _NeedsCode,
    needs_code_handler,
)

log = logging.getLogger("portal")
VENDOR_DIR = ROOT / "node_modules" / "htmx.org" / "dist"


class StartupRefused(RuntimeError):
    pass


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def build_db_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    if settings.database.is_postgres:
        # No overflow: connections opened beyond pool_size are closed again on check-in, so under
        # load the pool churned (a new PostgreSQL backend for ~1 in 10 requests in the benchmark).
        # pool_size connections stay open and requests beyond them wait their turn.
        engine_config = EngineConfig(pool_size=settings.database.pool_size, max_overflow=0,
                                     pool_pre_ping=False, echo=settings.database.echo)
    else:
        engine_config = EngineConfig(echo=settings.database.echo)
    return SQLAlchemyAsyncConfig(
        connection_string=settings.database.url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=engine_config,
        create_all=False,
    )


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if _is_api(request) or "application/json" in request.headers.get("accept", "") and \
            "text/html" not in request.headers.get("accept", ""):
        body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
        if isinstance(exc, ValidationException) and exc.extra:
            body["errors"] = exc.extra
        return Response(body, status_code=exc.status_code, headers=exc.headers or None)
    if isinstance(exc, NotAuthorizedException) or exc.status_code == 401:
        return Redirect(f"/login?next={request.url.path}", status_code=303)
    return Template("error.html", status_code=exc.status_code,
                    context={"status": exc.status_code, "detail": exc.detail}, headers=exc.headers or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _is_api(request):
        return Response({"status_code": 500, "detail": "internal error; it has been logged"},
                        status_code=HTTP_500_INTERNAL_SERVER_ERROR)
    return Template("error.html", status_code=500, context={"status": 500, "detail": None})


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


def malformed_input_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Input no handler could have taken, met below the handlers: a 400 that says what to fix.

    - ``UnicodeDecodeError``: a form field that is not UTF-8 text (Litestar decodes every
      multipart part without a filename, in the CSRF check and in body parsing alike), or
      ``LookupError`` for a part naming a charset Python does not know (KeyError, IndexError
      and the like pass through to the 500 handler unchanged);
    - a number the database cannot hold reached a query (integer URL parameters are bounded
      with ``storage.ids.RowId``; this is the backstop). Other database errors stay 500s.
    """
    if isinstance(exc, UnicodeDecodeError) or (type(exc) is LookupError and "encoding" in str(exc)):
        detail = _("The form is not valid UTF-8 text. Send text fields as UTF-8 and files with a file name.")
    elif _out_of_range(exc):
        log.info("out-of-range number on %s %s: %s", request.method, request.url.path,
                 str(exc).splitlines()[0][:200])
        detail = _("A number in the request is out of range.")
    else:
        return internal_error_handler(request, exc)
    return http_exception_handler(request, ClientException(detail=detail))


def create_app(settings: Settings | None = None, *, extra_routes: list[Any] | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    db_config = build_db_config(settings)
    engine = db_config.get_engine()
    if not settings.database.is_postgres:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    # Sessions live in the database; failure counters too, or in Redis when REDIS_URL is set
    # (shared by every replica either way).
    kv = SQLAlchemyStore(db_config, model=KeyValueItem)
    stores = StoreRegistry(default_factory=lambda name: kv.with_namespace(name))
    counters: Store = (
        RedisStore.with_client(url=settings.redis_url, namespace="portal_throttle") if settings.redis_url
        else stores.get("throttle")
    )
    throttle = Throttle(counters, limit=settings.throttle_failures,
                        window_seconds=settings.throttle_window_seconds)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        throttle=throttle,
        code_checker=CodeChecker(settings.secret_key, throttle),
    )
    document_store = build_document_store_from_settings(settings.documents)
    ctx.extras["document_store"] = document_store
    wire_documents()
    queue_startup, queue_shutdown = wire_backoffice(ctx)  # the back-office queue ⇄ title transfer

    session_config = LazySessionConfig(
        store="sessions", secure=settings.secure_cookies, httponly=True, samesite="lax", max_age=60 * 60 * 12,
        key="portal_session",
    )
    csrf = CSRFConfig(
        secret=settings.secret_key, cookie_secure=settings.secure_cookies, cookie_samesite="lax",
        header_name="x-csrftoken", exclude=["/api/", "/healthz"],
    )
    env = build_environment()
    template_config = TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))

    static_dirs: list[Path] = [ROOT / "portal" / "static"]
    routes: list[Any] = [
        create_static_files_router(path="/static", directories=static_dirs, name="static",
                                   include_in_schema=False, cache_control=None, file_system=StaticFileSystem()),
        AuthController,
        TrackingController,
        TransferAPI,
        StaffStepsController,
        *backoffice_routes,
        ChatController,
        ChatMessageController,
        DocumentController,
        *pages.handlers,
        *(extra_routes or []),
    ]
    if VENDOR_DIR.exists():
        routes.append(create_static_files_router(path="/vendor/htmx", directories=[VENDOR_DIR], name="vendor",
                                                 include_in_schema=False, file_system=StaticFileSystem()))

    async def on_startup(app: Litestar) -> None:
        ctx.extras["http"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        if settings.is_production:
            async with engine.connect() as conn:
                demo = (await conn.execute(select(User.email).where(User.is_demo.is_(True)).limit(1))).first()
            if demo is not None:
                raise StartupRefused(
                    f"PORTAL_ENV=production but demo accounts exist (e.g. {demo[0]}): remove them before going live"
                )

    async def on_shutdown(app: Litestar) -> None:
        with anyio.move_on_after(10):  # objects of rolled-back uploads still being removed
            await wait_for_cleanups()
        http = ctx.extras.pop("http", None)
        if http is not None:
            await http.aclose()
        await engine.dispose()

    app = Litestar(
        route_handlers=routes,
        plugins=[SQLAlchemyPlugin(config=db_config), HTMXPlugin()],
        middleware=[session_config.middleware, DefineMiddleware(context_middleware_factory)],
        stores=stores,
        csrf_config=csrf,
        template_config=template_config,
        openapi_config=OpenAPIConfig(
            title="一件事 portal API", version="1", path="/schema", render_plugins=[SwaggerRenderPlugin()],
        ),
        exception_handlers={
            _NeedsCode: needs_code_handler,  # type: ignore[dict-item]
            DocumentError: document_error_handler,  # type: ignore[dict-item]
            HTTPException: http_exception_handler,
            UnicodeDecodeError: malformed_input_handler,
            LookupError: malformed_input_handler,
            OverflowError: malformed_input_handler,
            DBAPIError: malformed_input_handler,
            HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
        },
        on_startup=[on_startup, *queue_startup],
        on_shutdown=[*queue_shutdown, on_shutdown],
        state=State({"ctx": ctx, "throttle": throttle, "settings": settings, "document_store": document_store}),
        debug=False,
    )
    return app
