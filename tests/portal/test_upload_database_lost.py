"""An upload whose database connection is cut mid-request (what a PostgreSQL restart does to
the requests in flight; issue 14's drill saw the connection closed without an answer).

The portal itself, on a PostgreSQL database of this test's own: a buyer signs in and uploads a
PDF to their transfer. The document store is the real local one; the moment it has written the
object, the test terminates every backend of its own database (``pg_terminate_backend``, from a
separate connection) — the row, the audit entry and the commit that follow meet a connection
the server has closed. The answer must be a clear 503 with ``Retry-After`` (in the person's
language), and nothing may stay behind: no document row, no audit entry, no object in the store.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from documents import Document, wait_for_cleanups
from portal.app import create_app
from portal.settings import Settings
from storage.audit import AuditEntry
from storage.objects.local import LocalDocumentStore
from tests.conftest import PASSWORD, Factory, _env, csrf, login
from tests.support.processes import Process, free_port

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class CutsTheDatabaseAfterWriting(LocalDocumentStore):
    """The real local store; after its first write, every connection to the test's database is
    terminated by the server (as a restart would)."""

    def __init__(self, root: Path, database_url: str) -> None:
        super().__init__(root)
        self.database_url = database_url
        self.terminated = 0

    async def put(self, key: str, data: Any, *, size: int | None = None, content_type: str) -> Any:
        info = await super().put(key, data, size=size, content_type=content_type)
        if not self.terminated:
            url = make_url(self.database_url)
            conn = await asyncpg.connect(user=url.username or "postgres", password=url.password,
                                         host=url.host or "127.0.0.1", port=url.port or 5432, database="postgres")
            try:
                rows = await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = $1 AND pid <> pg_backend_pid()", url.database)
                self.terminated = sum(1 for r in rows if r[0])
            finally:
                await conn.close()
            await asyncio.sleep(0.2)  # the server has closed them by now
        return info


@pytest.fixture
def postgres_only(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend: the connection cut is PostgreSQL's (SQLite has no server to lose)")
    return database_url


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("mode", ["json", "htmx"])
async def test_an_upload_cut_off_from_the_database_is_a_503_and_leaves_nothing(
    postgres_only: str, settings: Settings, engine: AsyncEngine, factory: Factory, tmp_path: Path, mode: str
) -> None:
    new, buyer = await factory.transfer()
    store = CutsTheDatabaseAfterWriting(tmp_path / "objects", postgres_only)
    app: Litestar = create_app(settings)
    app.state["ctx"].document_store = store
    async with AsyncTestClient(app=app, base_url="http://testserver.local", raise_server_exceptions=False) as client:
        await login(client, buyer.email)
        headers = {"Accept": "application/json", "Accept-Language": "en"} if mode == "json" else {
            "HX-Request": "true", "Accept-Language": "zh-CN"}
        resp = await client.post(
            "/documents",
            data={"subject_type": "transfer", "subject_id": str(new.transfer.id), "kind": "evidence",
                  "_csrf_token": csrf(client)},
            files={"file": ("evidence.pdf", PDF, "application/pdf")},
            headers=headers,
        )
        with anyio.fail_after(10):
            await wait_for_cleanups()
    assert store.terminated >= 1, "the test did not cut any connection"
    await engine.dispose()  # the test's own pooled connection was cut too
    assert resp.status_code == 503, resp.text
    assert resp.headers.get("Retry-After")
    if mode == "json":
        assert "try again" in resp.json()["message"]
    else:
        assert "再试" in resp.text
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Document)) == 0
        assert await conn.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.subject_type == "document")) == 0
    assert _stored(tmp_path / "objects") == []  # no object without its row


async def test_the_portal_serves_again_once_the_database_is_back(
    postgres_only: str, settings: Settings, factory: Factory, tmp_path: Path
) -> None:
    """The connections the cut left in the pool are not handed out again: the next upload lands."""
    new, buyer = await factory.transfer()
    store = CutsTheDatabaseAfterWriting(tmp_path / "objects", postgres_only)
    app: Litestar = create_app(settings)
    app.state["ctx"].document_store = store
    async with AsyncTestClient(app=app, base_url="http://testserver.local", raise_server_exceptions=False) as client:
        await login(client, buyer.email)
        form = {"subject_type": "transfer", "subject_id": str(new.transfer.id), "kind": "evidence"}
        first = await client.post("/documents", data={**form, "_csrf_token": csrf(client)},
                                  files={"file": ("a.pdf", PDF, "application/pdf")}, headers={"Accept": "application/json"})
        assert first.status_code == 503, first.text
        for _ in range(3):  # at most a request or two more meet a connection the server closed
            second = await client.post("/documents", data={**form, "_csrf_token": csrf(client)},
                                       files={"file": ("b.pdf", PDF, "application/pdf")},
                                       headers={"Accept": "application/json"})
            if second.status_code != 503:
                break
        assert second.status_code == 201, second.text
        with anyio.fail_after(10):
            await wait_for_cleanups()
    assert len(_stored(tmp_path / "objects")) == 1  # the second upload's object only


async def _terminate(database_url: str) -> int:
    url = make_url(database_url)
    conn = await asyncpg.connect(user=url.username or "postgres", password=url.password, host=url.host or "127.0.0.1",
                                 port=url.port or 5432, database="postgres")
    try:
        rows = await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1 AND pid <> pg_backend_pid()", url.database)
    finally:
        await conn.close()
    return sum(1 for r in rows if r[0])


async def test_uploads_over_http_while_the_database_connections_are_cut(
    postgres_only: str, factory: Factory, tmp_path: Path
) -> None:
    """The portal as a real process (uvicorn), a real keep-alive HTTP client, uploads one after
    another from three clients while the test cuts every connection of the database again and
    again. Each upload is answered — 201, or 503 with Retry-After — never a closed connection
    or a 500; every 201 has its row and object, and no object is left without a row."""
    new, buyer = await factory.transfer()
    port = free_port()
    documents = tmp_path / "documents"
    env = _env(postgres_only, PORT=str(port), DOCUMENT_DIR=str(documents), DATABASE_POOL_SIZE="4")
    portal = Process("portal", [sys.executable, "-m", "portal", "serve"], env=env, log_path=tmp_path / "portal.log",
                     new_session=True)
    answers: list[tuple[int | None, str, bool]] = []  # status, error, Retry-After present
    accepted: list[int] = []
    stop = asyncio.Event()
    signed_in: list[int] = []
    all_signed_in = asyncio.Event()
    recovered = asyncio.Event()
    settled = [10**9]  # how many answers there were when the cutting stopped

    async def uploader(n: int) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
            await client.get("/login")
            signed = await client.post("/login", data={"email": buyer.email, "password": PASSWORD,
                                                       "_csrf_token": client.cookies.get("csrftoken", "")})
            assert signed.status_code in (200, 303), (signed.status_code, (tmp_path / "portal.log").read_text()[-3000:])
            signed_in.append(n)
            if len(signed_in) == 3:
                all_signed_in.set()
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    resp = await client.post(
                        "/documents", headers={"Accept": "application/json"},
                        data={"subject_type": "transfer", "subject_id": str(new.transfer.id), "kind": "evidence",
                              "_csrf_token": client.cookies.get("csrftoken", "")},
                        files={"file": (f"u{n}-{i}.pdf", PDF + f"{n}-{i}".encode(), "application/pdf")})
                except httpx.HTTPError as exc:
                    answers.append((None, f"{type(exc).__name__}: {exc}", False))
                    await asyncio.sleep(0.05)
                    continue
                answers.append((resp.status_code, resp.text[:200], "retry-after" in resp.headers))
                if resp.status_code == 201:
                    accepted.append(int(resp.json()["id"]))
                if [a[0] for a in answers[settled[0]:]][-3:] == [201, 201, 201]:
                    recovered.set()
                await asyncio.sleep(0.02)

    try:
        portal.start()
        await asyncio.to_thread(portal.wait_http, f"http://127.0.0.1:{port}/readyz", 60)
        tasks = [asyncio.create_task(uploader(n)) for n in range(3)]
        with anyio.fail_after(60):
            await all_signed_in.wait()
        await asyncio.sleep(0.5)
        cut = 0
        for _ in range(12):  # a cut every ~0.25 s lands at every point of an upload sooner or later
            cut += await _terminate(postgres_only)
            await asyncio.sleep(0.25)
        settled[0] = len(answers)
        with anyio.move_on_after(20):  # and it serves again afterwards: three uploads in a row land
            await recovered.wait()
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        portal.stop()
    log = (tmp_path / "portal.log").read_text(errors="replace")
    assert cut >= 6, "the test hardly cut any connection"
    unclear = [a for a in answers if a[0] not in (201, 503) or (a[0] == 503 and not a[2])]
    assert not unclear, f"{len(unclear)} of {len(answers)} uploads not answered 201 or 503+Retry-After: " \
                        f"{unclear[:5]}\n--- portal log ---\n{log[-4000:]}"
    assert any(a[0] == 503 for a in answers), "no upload met a cut connection"
    assert [a[0] for a in answers[settled[0]:]][-3:] == [201, 201, 201]  # serving again
    async with create_async_engine(postgres_only.replace("postgresql://", "postgresql+asyncpg://", 1)).connect() as conn:
        ids = {int(r[0]) for r in (await conn.execute(select(Document.id))).all()}
        keys = {str(r[0]) for r in (await conn.execute(select(Document.storage_key))).all()}
    assert set(accepted) == ids  # every 201 has its row; no row without its 201
    objects = {p.relative_to(documents).as_posix() for p in _stored(documents)}
    assert objects == keys  # every row has its object, no object lacks its row
