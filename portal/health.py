"""Health and readiness: what each dependency answers and how fast, and whether to send traffic here.

* ``GET /healthz`` (people, monitoring): the database, Redis (when ``REDIS_URL`` is set), the
  document store and the assistant, each probed at once with a time limit, with ``ok`` and
  ``latency_ms``. 200 when the process can serve its pages (database and document store
  answer; Redis and the assistant degrade single features and are reported, not fatal),
  503 otherwise.
* ``GET /readyz`` (the load balancer): 200 only when start-up has finished and the database
  answers within ``READY_TIMEOUT``; otherwise 503 with ``Retry-After``. Cheap: one
  ``SELECT 1``.
* ``GET /livez`` (the load balancer's last resort): 200 whenever the process answers at all.
  When no portal is ready, a request is better answered by a live one (its own 503, after
  reading the whole request) than by the balancer, which cannot hold a large upload's body.

Start-up never waits for a dependency: a portal started while PostgreSQL is down serves
``/healthz`` and ``/readyz`` (503) at once, and the checks start-up needs from the database
(production: no demo accounts) are retried in the background until they can run. Until they
have passed, every other request is a 503 with Retry-After (:func:`startup_gate`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from litestar import Request, get
from litestar.response import Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.models import User
from kernel.errors import ServiceUnavailable
from storage.context import AppContext

log = logging.getLogger("portal.health")

PROBE_TIMEOUT = 2.0
READY_TIMEOUT = 2.0
RETRY_AFTER = "5"


class StartupRefused(RuntimeError):
    pass


class Readiness:
    """Whether start-up has finished; what it is still waiting for."""

    def __init__(self) -> None:
        self.started = False
        self.waiting_for = "start-up"
        self._task: asyncio.Task[None] | None = None

    def done(self) -> None:
        self.started = True
        self.waiting_for = ""

    async def start(self, checks: Callable[[], Awaitable[None]]) -> None:
        """Run the start-up checks now; when the database cannot be reached, keep trying in the background.

        A check that *answers* no (demo accounts in production) stops the process, now or later."""
        try:
            await asyncio.wait_for(checks(), PROBE_TIMEOUT * 2)
        except StartupRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - the database is not there yet: retry, don't exit
            self.waiting_for = f"database ({_reason(exc)})"
            log.warning("start-up checks cannot reach the database (%s): serving 503 on /readyz and retrying",
                        _reason(exc))
            self._task = asyncio.create_task(self._retry(checks), name="startup-retry")
            return
        self.done()

    async def _retry(self, checks: Callable[[], Awaitable[None]]) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(checks(), PROBE_TIMEOUT * 2)
            except StartupRefused as exc:
                log.critical("%s: stopping", exc)
                os.kill(os.getpid(), signal.SIGTERM)  # what raising at start-up would have done
                return
            except Exception as exc:  # noqa: BLE001
                self.waiting_for = f"database ({_reason(exc)})"
                delay = min(delay * 2, 15.0)
                continue
            log.info("start-up checks passed: ready")
            self.done()
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _reason(exc: BaseException) -> str:
    return type(exc).__name__


HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/livez"})


def startup_gate(readiness: Readiness) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A ``before_request`` hook: until the start-up checks have passed (a production portal whose
    database was down at start), every request but the health endpoints is a 503 with Retry-After.
    A load balancer that has no ready portal sends requests to live ones (``/livez``); this keeps
    such a portal from serving anything before it has checked that it may (no demo accounts)."""

    async def gate(request: Request[Any, Any, Any]) -> None:
        if not readiness.started and request.scope["path"] not in HEALTH_PATHS:
            raise ServiceUnavailable(f"start-up not finished: waiting for {readiness.waiting_for}")

    return gate


async def no_demo_accounts(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        demo = (await conn.execute(select(User.email).where(User.is_demo.is_(True)).limit(1))).first()
    if demo is not None:
        raise StartupRefused(
            f"PORTAL_ENV=production but demo accounts exist (e.g. {demo[0]}): remove them before going live")


# --- probes -----------------------------------------------------------------------------------


async def _timed(probe: Callable[[], Awaitable[dict[str, Any]]], limit: float = PROBE_TIMEOUT) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(probe(), limit)
    except TimeoutError:
        result = {"ok": False, "error": f"no answer within {limit:g}s"}
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        result = {"ok": False, "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def probe_database(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"ok": True, "dialect": engine.dialect.name}


def redis_probe(redis: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        return {"ok": bool(await redis.ping())}

    return probe


def store_probe(store: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        health = await store.health()
        return {"ok": bool(health), "backend": health.backend} | ({} if health else {"error": health.detail[:100]})

    return probe


def bot_probe(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        try:
            resp = await client.get(f"{url}/", timeout=PROBE_TIMEOUT)
        except httpx.HTTPError:
            return {"ok": False, "url": url, "error": "unreachable"}
        return {"ok": resp.status_code == 200, "url": url}

    return probe


@get("/healthz", name="healthz", summary="Each dependency (database, Redis, document store, assistant) with its latency")
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    ctx: AppContext = request.app.state.ctx
    checks: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {"database": lambda: probe_database(ctx.engine)}
    redis = getattr(ctx.throttle.counter, "redis", None)
    if redis is not None:
        checks["redis"] = redis_probe(redis)
    if ctx.document_store is not None:
        checks["documents"] = store_probe(ctx.document_store)
    if ctx.http is not None:
        for name, url in bot_urls(ctx):
            checks[name] = bot_probe(ctx.http, url)
    results = dict(zip(checks, await asyncio.gather(*(_timed(c) for c in checks.values())), strict=True))
    if "documents" not in results:
        results["documents"] = {"ok": True, "backend": "not configured"}
    readiness: Readiness = request.app.state.readiness
    # Redis and the assistant degrade one feature each; the database and the documents decide.
    ok = results["database"]["ok"] and results["documents"]["ok"]
    body = {**results, "ok": ok, "ready": readiness.started}
    return Response(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


def bot_urls(ctx: AppContext) -> list[tuple[str, str]]:
    urls = getattr(ctx.settings.bot, "rasa_urls", None) or (ctx.settings.bot.rasa_url,)
    if len(urls) == 1:
        return [("bot", urls[0])]
    return [(f"bot{i + 1}", url) for i, url in enumerate(urls)]


@get("/readyz", name="readyz", summary="Whether this process can serve (for the load balancer)")
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    ctx: AppContext = request.app.state.ctx
    readiness: Readiness = request.app.state.readiness
    database = await _timed(lambda: probe_database(ctx.engine), READY_TIMEOUT)
    ready = readiness.started and database["ok"]
    body: dict[str, Any] = {"ready": ready, "database": database}
    if not readiness.started:
        body["waiting_for"] = readiness.waiting_for
    headers = {"Cache-Control": "no-store"}
    if not ready:
        headers["Retry-After"] = RETRY_AFTER
    return Response(body, status_code=200 if ready else 503, headers=headers)


@get("/livez", name="livez", summary="Whether this process answers at all (no dependency is asked)")
async def livez() -> Response[dict[str, Any]]:
    """For a load balancer's last resort: when no process is ready, a request is better answered by
    one that is alive (its own 503 with Retry-After, after reading the request) than by the balancer,
    which cannot hold an upload's body to answer it (scripts/cluster.py, docs/operations.md)."""
    return Response({"alive": True}, headers={"Cache-Control": "no-store"})


handlers = [healthz, readyz, livez]
