"""Health and readiness: each dependency with its latency; 503 (with Retry-After) while the
database is away; a portal started without its database stays up and becomes ready when the
database appears, without a restart."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from portal.app import create_app
from portal.cli import migrate
from portal.settings import Settings
from tests.conftest import TEST_TOKEN, _env
from tests.support.processes import Process, free_port

Client = AsyncTestClient[Litestar]


def _redis_running() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


async def test_healthz_names_each_dependency_with_its_latency(client: Client) -> None:
    resp = await client.get("/healthz")
    body = resp.json()
    assert resp.status_code == 200 and body["ok"] is True and body["ready"] is True
    assert body["database"]["ok"] is True and body["database"]["latency_ms"] >= 0
    assert body["documents"]["ok"] is True and "latency_ms" in body["documents"]
    assert body["bot"]["ok"] is False and body["bot"]["latency_ms"] >= 0  # no assistant here: reported, not fatal
    assert "redis" not in body  # not configured, not reported
    assert resp.headers["cache-control"] == "no-store"


async def test_readyz_is_200_when_the_database_answers(client: Client) -> None:
    resp = await client.get("/readyz")
    assert resp.status_code == 200 and resp.json()["ready"] is True and "retry-after" not in resp.headers


@pytest.mark.skipif(not _redis_running(), reason="no Redis on 127.0.0.1:6379")
async def test_healthz_reports_redis_when_configured(database_url: str) -> None:
    app = create_app(Settings.from_env(_env(database_url, REDIS_URL="redis://127.0.0.1:6379/15")))
    async with AsyncTestClient(app=app) as client:
        body = (await client.get("/healthz")).json()
    assert body["redis"]["ok"] is True and body["redis"]["latency_ms"] >= 0


async def test_redis_down_is_reported_but_pages_still_serve(database_url: str) -> None:
    app = create_app(Settings.from_env(_env(database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")))
    async with AsyncTestClient(app=app) as client:
        resp = await client.get("/healthz")
    body = resp.json()
    assert body["redis"]["ok"] is False and body["redis"]["error"]
    assert resp.status_code == 200 and body["ok"] is True


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


async def test_a_portal_started_without_its_database_serves_503_and_keeps_running(tmp_path: Path) -> None:
    port = free_port()
    env = _env(f"postgresql://postgres@127.0.0.1:{free_port()}/portal", PORT=str(port),
               PORTAL_SECRET_FILE=str(tmp_path / "secret"))  # nothing listens on the database's port
    with Process("portal", [sys.executable, "-m", "portal", "serve"], env=env, log_path=tmp_path / "portal.log",
                 new_session=True) as portal:
        await asyncio.to_thread(portal.wait_http, f"http://127.0.0.1:{port}/healthz", 30,
                                lambda status, _body: status == 503)
        status, headers, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and headers["retry-after"] == "5"
        assert json.loads(body)["database"]["ok"] is False
        status, _, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/healthz")
        health = json.loads(body)
        assert status == 503 and health["database"]["error"] == "ConnectionRefusedError"
        assert health["database"]["latency_ms"] < 2500 and health["documents"]["ok"] is True
        status, headers, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/livez")
        assert status == 200 and json.loads(body) == {"alive": True} and headers["cache-control"] == "no-store"
        # A page that needs the database: a clear 503 that says to try again, not a 500.
        status, headers, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/api/v1/transfers/ZT0000000001",
                                                {"Authorization": f"Bearer {TEST_TOKEN}"})
        assert status == 503 and headers["retry-after"] == "5", body[:300]
        assert json.loads(body)["code"] == "service_unavailable"
        await asyncio.sleep(1)
        assert portal.running  # still up, still retrying


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL (PostgreSQL)")
async def test_a_production_portal_waits_for_its_database_and_becomes_ready_without_a_restart(
        tmp_path: Path) -> None:
    admin = make_url(os.environ["TEST_DATABASE_URL"].replace("postgresql+asyncpg", "postgresql"))
    name = f"portal_late_{secrets.token_hex(5)}"
    url = admin.set(database=name).render_as_string(hide_password=False)
    port = free_port()
    env = _env(url, PORT=str(port), PORTAL_ENV="production", PORTAL_SECRET=secrets.token_urlsafe(48),
               PORTAL_SERVICE_TOKEN=secrets.token_urlsafe(32), DOCUMENT_DIR=str(tmp_path / "documents"))

    async def admin_conn() -> asyncpg.Connection:
        return await asyncpg.connect(user=admin.username or "postgres", password=admin.password,
                                     host=admin.host or "127.0.0.1", port=admin.port or 5432,
                                     database=admin.database or "postgres")

    portal = Process("portal", [sys.executable, "-m", "portal", "serve"], env=env, log_path=tmp_path / "portal.log",
                     new_session=True)
    try:
        portal.start()  # its database does not exist yet
        await asyncio.to_thread(portal.wait_http, f"http://127.0.0.1:{port}/readyz", 30,
                                lambda status, _body: status == 503)
        status, _, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and json.loads(body)["waiting_for"].startswith("database")
        # Alive, but nothing else is served before the start-up checks pass (no demo accounts in
        # production): not even a page that needs no database.
        status, _, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/livez")
        assert status == 200 and json.loads(body) == {"alive": True}
        status, headers, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/taxes",
                                                        {"Accept": "application/json"})
        assert status == 503 and headers["retry-after"] == "5", body[:300]
        assert json.loads(body)["code"] == "service_unavailable"
        conn = await admin_conn()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await asyncio.to_thread(migrate, Settings.from_env(env))
        took = await asyncio.to_thread(portal.wait_http, f"http://127.0.0.1:{port}/readyz", 40)
        assert portal.running and took < 40
        assert "start-up checks passed" in portal.tail(50)
        status, _, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/taxes")
        assert status == 200
    finally:
        portal.stop()
        conn = await admin_conn()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        shutil.rmtree(tmp_path / "documents", ignore_errors=True)


def test_only_an_unreachable_dependency_becomes_a_503() -> None:
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from kernel.errors import ServiceUnavailable, unavailable

    lost = DBAPIError("SELECT 1", {}, ConnectionResetError(), connection_invalidated=True)
    for exc in (ConnectionRefusedError(111, "refused"), TimeoutError(), lost):
        refusal = unavailable(exc)
        assert isinstance(refusal, ServiceUnavailable) and refusal.status_code == 503
        assert refusal.headers == {"Retry-After": "5"}
    try:
        try:
            raise ConnectionResetError("peer went away")
        except ConnectionResetError as inner:
            raise RuntimeError("while saving") from inner
    except RuntimeError as wrapped:
        assert unavailable(wrapped) is not None  # found through the cause
    for bug in (KeyError("x"), ValueError("bad"), IntegrityError("INSERT", {}, Exception("duplicate"))):
        assert unavailable(bug) is None  # a bug stays a 500


async def test_a_redis_that_stops_answering_gives_a_503_in_seconds_not_a_hang(database_url: str) -> None:
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never answers: a frozen Redis
    try:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        app = create_app(Settings.from_env(_env(database_url, REDIS_URL=url)))
        async with AsyncTestClient(app=app) as client:
            started = time.monotonic()
            resp = await client.get("/api/v1/transfers/ZT2026000001", headers={"X-Verification-Code": "WRONG123"})
            took = time.monotonic() - started
        assert resp.status_code == 503 and resp.headers["retry-after"] == "5", resp.text
        assert resp.json()["code"] == "service_unavailable" and took < 8
    finally:
        silent.close()
