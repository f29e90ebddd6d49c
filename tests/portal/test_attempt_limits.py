"""Attempt limits under attack: parallel guesses, a full pool, one key per client, lockout.

Every test runs on SQLite and PostgreSQL (the conftest's backends) and with the counters
in the database and in Redis (REDIS_URL), through the real app over ASGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.app import create_app
from portal.chat import chat_metadata
from portal.settings import Settings
from storage.throttle import throttle_counter
from tests.conftest import PASSWORD, TEST_TOKEN, Factory

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return False
    return True


def _app(settings: Settings, counters: str) -> Litestar:
    if counters == "redis":
        if not _redis_up():
            pytest.skip("no Redis on 127.0.0.1:6379")
        from storage.throttle import RedisCounter  # (imported here: the SQL variants run on older code too)

        app = create_app(dataclasses.replace(settings, redis_url=REDIS_URL))
        throttle = app.state.ctx.throttle
        assert isinstance(throttle.counter, RedisCounter)
        throttle.counter.prefix = f"test_throttle_{uuid.uuid4().hex[:8]}:"  # this test's own keys
        return app
    return create_app(settings)


@pytest.fixture(params=["sql", "redis"])
def app(request: pytest.FixtureRequest, settings: Settings) -> Litestar:
    return _app(settings, request.param)


class Browser:
    """A client at its own address, with its own cookies (httpx over ASGI, so requests run in parallel)."""

    def __init__(self, app: Litestar, address: str) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                      base_url="http://testserver.local")

    async def csrf(self) -> str:
        if "csrftoken" not in self.http.cookies:
            await self.http.get("/login")
        return self.http.cookies.get("csrftoken") or ""

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        token = await self.csrf()
        return await self.http.post("/login", data={"email": email, "password": password, "_csrf_token": token})

    async def verify(self, tracking_no: str, code: str) -> httpx.Response:
        token = await self.csrf()
        return await self.http.post("/track", data={"tracking_no": tracking_no, "code": code, "_csrf_token": token})

    async def api(self, tracking_no: str, code: str, **headers: str) -> httpx.Response:
        return await self.http.get(f"/api/v1/transfers/{tracking_no}", headers={"X-Verification-Code": code, **headers})


@pytest.fixture
async def served(app: Litestar, engine: AsyncEngine) -> AsyncIterator[None]:
    """The app started and stopped on this test's event loop, with clean counters."""
    async with engine.begin() as conn:
        await conn.execute(delete(throttle_counter))
    async with running(app):
        yield


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Start-up and shut-down in one task of its own (the lifespan's cancel scope needs that)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield
    finally:
        stop.set()
        await task


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


# --- 1. counters hold under concurrency ---------------------------------------------------


async def test_parallel_wrong_codes_are_counted_before_they_are_answered(
        app: Litestar, served: None, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    b = Browser(app, "198.51.100.7")
    answers = await asyncio.gather(*(b.api(no, f"WRONG{i:03d}") for i in range(30)))
    # 20 wrong codes per client per window: the other 10 are refused unevaluated.
    assert _statuses(answers) == [404] * 20 + [429] * 10
    # ... and so is the right code now, from this client.
    assert (await b.api(no, new.code)).status_code == 429


async def test_parallel_wrong_passwords_are_counted_before_they_are_checked(
        app: Litestar, served: None, factory: Factory) -> None:
    user = await factory.user("buyer")
    b = Browser(app, "198.51.100.8")
    await b.csrf()
    answers = await asyncio.gather(*(b.sign_in(user.email, f"wrong-{i}") for i in range(12)))
    assert _statuses(answers) == [400] * 5 + [429] * 7


# --- 2. a full pool does not stall the portal ----------------------------------------------


@pytest.fixture
def small_pool_app(settings: Settings, request: pytest.FixtureRequest) -> Litestar:
    if not settings.database.is_postgres:
        pytest.skip("the pool limit is PostgreSQL's (SQLite has no pool size)")
    small = dataclasses.replace(settings, database=dataclasses.replace(settings.database, pool_size=3))
    return _app(small, "sql")


async def test_failing_sign_ins_beyond_the_pool_size_do_not_stall_the_portal(
        small_pool_app: Litestar, factory: Factory) -> None:
    user = await factory.user("buyer")
    async with running(small_pool_app):
        browsers = [Browser(small_pool_app, f"198.51.100.{20 + i}") for i in range(16)]
        for b in browsers:
            await b.csrf()
        started = time.monotonic()
        health = Browser(small_pool_app, "198.51.100.99")

        async def healthz() -> tuple[int, float]:
            await asyncio.sleep(0)  # let the sign-ins start first
            t = time.monotonic()
            r = await health.http.get("/healthz")
            return r.status_code, time.monotonic() - t

        *answers, (health_status, health_took) = await asyncio.gather(
            *(b.sign_in(user.email if i % 2 else f"nobody{i}@test.local", "wrong") for i, b in enumerate(browsers)),
            healthz())
        took = time.monotonic() - started
    assert all(r.status_code in (400, 429) for r in answers), _statuses(answers)
    assert health_status == 200
    # Before: every sign-in held a pooled connection while waiting for a second one, and all
    # of them (health check included) waited out the 30 s pool timeout. The sign-ins' own
    # time is argon2's (seconds here on a loaded machine), not the pool's.
    assert health_took < 5, (took, health_took)


# --- 3. one key per client ------------------------------------------------------------------


async def test_the_tracking_page_and_the_api_share_one_counter_per_client(
        app: Litestar, served: None, factory: Factory) -> None:
    new, _ = await factory.transfer()
    other, _ = await factory.transfer()
    b = Browser(app, "198.51.100.30")
    for i in range(20):
        assert (await b.verify(other.transfer.tracking_no, f"WRONG{i:03d}")).status_code == 404
    # The page's 20 wrong codes count for the API too: no second allowance.
    assert (await b.api(new.transfer.tracking_no, "WRONG999")).status_code == 429


# --- 4. the chat's client is the browser, not the chat sender --------------------------------


async def test_chat_calls_are_limited_per_browser_whatever_the_sender(
        app: Litestar, served: None, factory: Factory, settings: Settings) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    from accounts.clients import make_client_token

    robot = Browser(app, "127.0.0.1")  # the action server
    signed = make_client_token(settings.secret_key, "ip:203.0.113.5")
    statuses = []
    for i in range(21):  # a new sender for every guess, as /chat/clear allows
        r = await robot.api(no, f"WRONG{i:03d}", Authorization=f"Bearer {TEST_TOKEN}",
                            **{"X-Chat-Sender": f"sender-{i}", "X-Chat-Client": signed})
        statuses.append(r.status_code)
    assert statuses == [404] * 20 + [429]
    # The same browser on the web page is the same client.
    assert (await Browser(app, "203.0.113.5").api(no, "WRONG777")).status_code == 429
    # A forged client key is not taken: that call is keyed by its sender.
    forged = await robot.api(no, "WRONG888", Authorization=f"Bearer {TEST_TOKEN}",
                             **{"X-Chat-Sender": "fresh", "X-Chat-Client": "ip:1.2.3.4"})
    assert forged.status_code == 404


async def test_the_portal_signs_the_browser_into_the_chat_metadata(app: Litestar, settings: Settings) -> None:
    from accounts.clients import client_from_token

    class FakeRequest:  # the parts chat_metadata reads
        scope: dict[str, Any] = {"state": {"lang": "zh"}}
        client = type("C", (), {"host": "203.0.113.9"})()

    meta = chat_metadata(FakeRequest(), app.state.ctx)  # type: ignore[arg-type]
    assert client_from_token(settings.secret_key, meta["client"]) == "ip:203.0.113.9"


# --- 5. strangers cannot lock owners out; success resets ------------------------------------


async def test_a_stranger_cannot_lock_out_an_owner_who_signed_in_here_before(
        app: Litestar, served: None, factory: Factory) -> None:
    user = await factory.user("staff", "tax")
    owner = Browser(app, "198.51.100.40")
    assert (await owner.sign_in(user.email, PASSWORD)).status_code == 303
    for i in range(3):
        stranger = Browser(app, f"198.51.100.{41 + i}")
        for _ in range(3):
            assert (await stranger.sign_in(user.email, "guess")).status_code in (400, 429)
    # The account is locked for browsers it has never seen...
    assert (await Browser(app, "198.51.100.50").sign_in(user.email, PASSWORD)).status_code == 429
    # ...not for the owner's browser.
    assert (await owner.sign_in(user.email, PASSWORD)).status_code == 303


async def test_a_success_resets_the_owners_own_failures(app: Litestar, served: None, factory: Factory) -> None:
    user = await factory.user("buyer")
    b = Browser(app, "198.51.100.60")
    for _ in range(2):
        for _ in range(4):
            assert (await b.sign_in(user.email, "typo")).status_code == 400
        assert (await b.sign_in(user.email, PASSWORD)).status_code == 303


async def test_a_stranger_cannot_lock_a_tracking_number_for_its_holder(
        app: Litestar, served: None, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    for i in range(4):  # four strangers, 20 wrong codes each: more than the old lock of 5
        stranger = Browser(app, f"198.51.100.{70 + i}")
        for j in range(20):
            assert (await stranger.api(no, f"W{i}{j:05d}")).status_code == 404
    holder = Browser(app, "198.51.100.80")
    assert (await holder.verify(no, new.code)).status_code == 303
    # The holder's success forgot the strangers' misses on the number.
    answers = await asyncio.gather(*(Browser(app, "198.51.100.81").api(no, f"X{j:06d}") for j in range(20)))
    assert _statuses(answers) == [404] * 20
