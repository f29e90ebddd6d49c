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
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import cases.payouts_controllers as payouts_web
from accounts.contacts import contacts
from accounts.sessions import SessionChecker
from auction_listings.controllers import route_handlers as lot_staff_routes
from auction_listings.public import LotAPI, LotPageController, LotSearchController
from backoffice.controllers import route_handlers as backoffice_routes
from cases.controllers import route_handlers as case_routes
from documents import build_document_store_from_settings, wait_for_cleanups
from documents.routes import DocumentController
from kernel import deps as kernel_deps
from kernel.auth import KernelAuthenticationMiddleware
from kernel.errors import exception_handlers, rollback_request_session
from kernel.pool import FairAsyncPool
from portal import health, pages
from portal.admin import AdminUsersController
from portal.api_docs import LocalSwaggerRenderPlugin, swagger_router, swagger_version
from portal.auth import AuthController
from portal.case_clues import CaseCluesController
from portal.chat import ChatController, forget_dropped
from portal.chat_message import ChatMessageController
from portal.document_wiring import wire_documents
from portal.form_wiring import wire_forms
from portal.health import HEALTH_PATHS, Readiness, StartupRefused, no_demo_accounts, startup_gate
from portal.housekeeping import Purger
from portal.lot_public_wiring import wire_listing
from portal.middleware import context_middleware_factory, with_request_lang
from portal.queue_wiring import wire_backoffice
from portal.rasa_replicas import RasaReplicas
from portal.sessions import PortalSessionConfig
from portal.settings import ROOT, Settings
from portal.static_fs import StaticFileSystem
from portal.sweeper import build_sweeper
from portal.templating import build_environment
from storage.chat_log import ChatLog
from storage.context import AppContext
from storage.kv import KeyValueItem, KVStore
from storage.throttle import Counter, RedisCounter, SQLCounter, Throttle
from title_transfer.access import CodeChecker
from title_transfer.controllers import (
    StaffStepsController,
    TrackingController,
    TransferAPI,
    _NeedsCode,
    needs_code_handler,
)
from title_transfer.tax_controllers import TaxCalculatorController, TaxEstimateAPI

__all__ = ["StartupRefused", "build_db_config", "create_app"]

log = logging.getLogger("portal")
VENDOR_DIR = ROOT / "node_modules" / "htmx.org" / "dist"
# The portal's own CSS and scripts change with a deployment: browsers keep them for an hour.
STATIC_CACHE = CacheControlHeader(public=True, max_age=3600)
# htmx changes only with package-lock.json, but its URL carries no version: a day, not forever.
HTMX_CACHE = CacheControlHeader(public=True, max_age=86400)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _postgres_pool(settings: Settings, pool_size: int) -> dict[str, Any]:
    """The pool every PostgreSQL engine of the portal has (the request engine's and the
    single-statement engine's): see build_db_config for why each setting."""
    return {"poolclass": FairAsyncPool, "pool_size": pool_size, "max_overflow": 0, "pool_pre_ping": False,
            "echo": settings.database.echo, "connect_args": {"timeout": settings.database.connect_timeout}}


def build_db_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    if settings.database.is_postgres:
        # No overflow: connections opened beyond pool_size are closed again on check-in, so under
        # load the pool churned (a new PostgreSQL backend for ~1 in 10 requests in the benchmark).
        # pool_size connections stay open and requests beyond them wait their turn.
        # A database that does not answer fails a request in connect_timeout seconds (a 503), not asyncpg's 60.
        # FairAsyncPool: waiting requests get connections in the order they asked (kernel/pool.py).
        engine_config = EngineConfig(**_postgres_pool(settings, settings.database.pool_size))
    else:
        engine_config = EngineConfig(echo=settings.database.echo)
    return SQLAlchemyAsyncConfig(
        connection_string=settings.database.url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=engine_config,
        create_all=False,
    )


def single_statement_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine:
    """On PostgreSQL, a second engine on the same database whose connections are in autocommit
    from the moment they open, for work that is one statement: the session read on every request
    with a session cookie, its write, and a chat message's turns. Through the request engine such
    a statement was BEGIN, the statement, then ROLLBACK or COMMIT: three round trips. Switching a
    pooled connection to autocommit per use (``execution_options``) saved the round trips but
    cost more of the portal's own CPU than it saved (3.40 → 3.53 M instructions per chat message,
    bench.instructions --chat); connections that are opened in autocommit cost nothing per use
    (3.10 M with the session store and the chat's turns on them). Its own small pool, disposed
    with the other. SQLite: the request engine itself."""
    if not settings.database.is_postgres:
        return engine
    return create_async_engine(engine.url, isolation_level="AUTOCOMMIT",
                               **_postgres_pool(settings, max(2, settings.database.pool_size // 2)))


def create_app(settings: Settings | None = None, *, extra_routes: list[Any] | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    contacts()  # the contacts data file is read and checked now: a bad one stops the start
    db_config = build_db_config(settings)
    engine = db_config.get_engine()
    if not settings.database.is_postgres:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)

    # Sessions live in the database; attempt counters too (table throttle_counter, one upsert
    # per check), or in Redis when REDIS_URL is set (shared by every replica either way).
    single = single_statement_engine(settings, engine)
    kv = KVStore(db_config, model=KeyValueItem, single=single)  # one Core statement per read/write (storage/kv.py)
    stores = StoreRegistry(default_factory=lambda name: kv.with_namespace(name))
    counters: Counter = RedisCounter(settings.redis_url) if settings.redis_url else SQLCounter(engine)
    throttle = Throttle(counters, limit=settings.throttle_failures,
                        window_seconds=settings.throttle_window_seconds)
    chat_turns = ChatLog(single)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        throttle=throttle,
        code_checker=CodeChecker(settings.secret_key, throttle),
        document_store=build_document_store_from_settings(settings.documents),
        rasa=RasaReplicas(settings.bot.rasa_urls),
        chat_log=chat_turns,
    )
    wire_forms()  # the domains' form kinds (already registered on import; idempotent)
    wire_documents()
    queue_startup, queue_shutdown = wire_backoffice(ctx)  # the back-office queue ⇄ title transfer
    listing, listing_shutdown = wire_listing(ctx, version_ttl=settings.lot_version_ttl_ms / 1000,
                                                 cache_entries=settings.lot_cache_entries)  # public lot pages

    session_config = PortalSessionConfig(
        store="sessions", secure=settings.secure_cookies, httponly=True, samesite="lax", max_age=60 * 60 * 12,
        key="portal_session", on_drop=forget_dropped(chat_turns),  # a dropped session's chat turns go too
    )
    csrf = CSRFConfig(
        secret=settings.secret_key, cookie_secure=settings.secure_cookies, cookie_samesite="lax",
        header_name="x-csrftoken", exclude=["/api/", *sorted(HEALTH_PATHS)],
    )
    env = build_environment(auto_reload=settings.env == "development")
    template_config = TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))

    static_dirs: list[Path] = [ROOT / "portal" / "static"]
    routes: list[Any] = [
        create_static_files_router(path="/static", directories=[*static_dirs], name="static",
                                   include_in_schema=False, cache_control=STATIC_CACHE, file_system=StaticFileSystem()),
        AuthController,
        AdminUsersController,
        TrackingController,
        TransferAPI,
        StaffStepsController,
        TaxEstimateAPI,
        TaxCalculatorController,
        LotSearchController,
        LotPageController,
        LotAPI,
        *backoffice_routes,
        *case_routes,
        CaseCluesController,
        *lot_staff_routes,
        ChatController,
        ChatMessageController,
        DocumentController,
        *payouts_web.route_handlers,  # mass payouts (cases/payouts_controllers.py)
        *pages.handlers,
        *health.handlers,
        *(extra_routes or []),
    ]
    if VENDOR_DIR.exists():
        routes.append(create_static_files_router(path="/vendor/htmx", directories=[VENDOR_DIR], name="vendor",
                                                 include_in_schema=False, cache_control=HTMX_CACHE,
                                                 file_system=StaticFileSystem()))
    swagger = swagger_version()
    if swagger is not None:
        routes.append(swagger_router(swagger))

    purger = Purger(engine, settings.purge_interval_seconds)
    sweeper = build_sweeper(engine, ctx.document_store, settings)
    session_checker = SessionChecker(engine, ttl=settings.session_recheck_seconds)

    readiness = Readiness()

    async def startup_checks() -> None:
        if settings.is_production:
            await no_demo_accounts(engine)

    async def on_startup(app: Litestar) -> None:
        ctx.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
        # Never waits for a dependency: with the database down, /readyz says 503 until the checks pass.
        await readiness.start(startup_checks)
        await purger.start()
        await sweeper.start()

    async def on_shutdown(app: Litestar) -> None:
        await readiness.stop()
        await sweeper.stop()
        await purger.stop()
        with anyio.move_on_after(10):  # objects of rolled-back uploads still being removed
            await wait_for_cleanups()
        http, ctx.http = ctx.http, None
        if http is not None:
            await http.aclose()
        if ctx.rasa is not None:
            await ctx.rasa.aclose()  # its keep-alive connections to the Rasa replicas
        if isinstance(throttle.counter, RedisCounter):
            await throttle.counter.aclose()
        await engine.dispose()
        if single is not engine:
            await single.dispose()

    app = Litestar(
        route_handlers=routes,
        plugins=[SQLAlchemyPlugin(config=db_config), HTMXPlugin()],
        middleware=[
            session_config.middleware,
            DefineMiddleware(context_middleware_factory),
            DefineMiddleware(KernelAuthenticationMiddleware, secret=settings.secret_key,
                             service_token=settings.service_token, checker=session_checker,
                             scoped_tokens={"case_ingest": settings.case_ingest_token}),
        ],
        dependencies={**kernel_deps.dependencies(), "listing": Provide(lambda: listing, sync_to_thread=False)},
        stores=stores,
        csrf_config=csrf,
        template_config=template_config,
        # Pages, fragments and JSON over ~500 bytes are gzipped (level 6: most of the gain for a
        # fraction of level 9's CPU). Document downloads are not: PDFs and images are compressed
        # already, and their Content-Length and ETag stay those of the stored file.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=500, gzip_compress_level=6, exclude=[r"^/documents/\d+"],
        ),
        openapi_config=OpenAPIConfig(
            title="一件事 portal API", version="1", path="/schema",
            render_plugins=[LocalSwaggerRenderPlugin(version=swagger or "not-installed")],
        ),
        exception_handlers={
            # the kernel's one handler: JSON, htmx fragment or page (in the request's language)
            **{kind: with_request_lang(h) for kind, h in exception_handlers().items()},
            _NeedsCode: needs_code_handler,  # type: ignore[dict-item]
        },
        after_exception=[rollback_request_session],
        before_request=startup_gate(readiness),  # 503 for everything but the health checks until started
        on_startup=[on_startup, *queue_startup],
        on_shutdown=[*queue_shutdown, listing_shutdown, on_shutdown],
        state=State({"ctx": ctx, "session_checker": session_checker, "readiness": readiness, "listing": listing}),
        debug=False,
    )
    return app
