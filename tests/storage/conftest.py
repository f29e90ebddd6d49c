"""Fixtures for the document tests: real S3 servers started here, real databases.

* moto's standalone S3 server (``python -m moto.server``) on 127.0.0.1 and a free port, for
  the MinIO backend through the real ``minio`` client (no mocks);
* s3rver (tests/storage/s3rver, ``npm ci --prefix tests/storage/s3rver``), a second S3 server
  which, unlike moto, verifies presigned signatures and their expiry. Skipped when it is not
  installed, except under CI=true where its absence fails the run;
* SQLite in a temporary file always, and PostgreSQL when TEST_DATABASE_URL is set: a
  throwaway database ``docs_test_<random>`` is created for the session and dropped after.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from minio import Minio
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from accounts.departments import Department
from accounts.models import User
from accounts.principal import Principal
from documents import Document, DocumentStore, SubjectInfo, subject_guards, wait_for_cleanups
from storage.audit import AuditEntry
from storage.db import metadata, normalise_database_url
from storage.objects.local import LocalDocumentStore
from storage.objects.s3 import MinioDocumentStore
from tests.support.processes import Process, free_port

HERE = Path(__file__).resolve().parent
S3RVER_DIR = HERE / "s3rver"
MOTO_KEYS = ("moto-access", "moto-secret")
S3RVER_KEYS = ("S3RVER", "S3RVER")  # s3rver's built-in account


# --- servers ------------------------------------------------------------------------------------


@dataclass
class S3Server:
    name: str
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    proc: Process
    enforces_presign_expiry: bool

    def stop(self) -> None:
        self.proc.stop(timeout=10)

    def client(self) -> Minio:
        return Minio(
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
        )

    def store(self, bucket: str | None = None, **kwargs: Any) -> MinioDocumentStore:
        return MinioDocumentStore(
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            bucket=bucket or f"docs-{uuid.uuid4().hex[:20]}",
            region="us-east-1",
            **kwargs,
        )


def start_moto() -> S3Server:
    port = free_port()
    proc = Process("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                   stop_signal=signal.SIGTERM).start()
    proc.wait_port(port)
    return S3Server("moto", f"127.0.0.1:{port}", *MOTO_KEYS, proc=proc, enforces_presign_expiry=False)


def _s3rver_command() -> list[str] | None:
    explicit = os.environ.get("S3RVER_BIN")
    if explicit:
        return [explicit]
    node = shutil.which("node")
    for modules in (S3RVER_DIR / "node_modules", HERE.parent.parent / "node_modules"):
        script = modules / "s3rver" / "bin" / "s3rver.js"
        if script.exists() and node:
            return [node, str(script)]
    return None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3Server]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3rver_server() -> Iterator[S3Server]:
    command = _s3rver_command()
    if command is None:
        message = "s3rver is not installed: run `npm ci --prefix tests/storage/s3rver`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="s3rver-")
    proc = Process("s3rver", [*command, "-d", data_dir, "-a", "127.0.0.1", "-p", str(port), "--silent"],
                   stop_signal=signal.SIGTERM).start()
    try:
        proc.wait_port(port)
    except Exception:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    server = S3Server("s3rver", f"127.0.0.1:{port}", *S3RVER_KEYS, proc=proc, enforces_presign_expiry=True)
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


# --- stores -------------------------------------------------------------------------------------

STORE_BACKENDS = ["local", "moto", "s3rver"]


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    """The same contract runs on every backend: a local folder and the MinIO client against
    two independent S3 servers."""
    if request.param == "local":
        return LocalDocumentStore(tmp_path / "documents")
    server: S3Server = request.getfixturevalue(f"{request.param}_server")
    return server.store()


@pytest.fixture(params=["local", "moto"])
def service_store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    """Stores for the service and route tests (local folder, MinIO client against moto)."""
    if request.param == "local":
        return LocalDocumentStore(tmp_path / "documents")
    server: S3Server = request.getfixturevalue("moto_server")
    return server.store()


def _s3_server_of(store: MinioDocumentStore) -> Minio:
    # A separate client with the same account, so the check does not go through the code under test.
    return Minio(
        endpoint=store.endpoint,
        access_key=store._client._provider.retrieve().access_key,  # type: ignore[union-attr]
        secret_key=store._client._provider.retrieve().secret_key,  # type: ignore[union-attr]
        secure=store.secure,
        region=store.region,
    )


async def stored_keys(store: DocumentStore) -> set[str]:
    """Every object the store holds, including stray temporary files (local)."""
    if isinstance(store, LocalDocumentStore):
        if not store.root.exists():
            return set()
        return {p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()}
    assert isinstance(store, MinioDocumentStore)
    client = _s3_server_of(store)

    def list_all() -> set[str]:
        if not client.bucket_exists(bucket_name=store.bucket):
            return set()
        return {o.object_name for o in client.list_objects(bucket_name=store.bucket, recursive=True) if o.object_name}

    return await asyncio.to_thread(list_all)


def closed_port_store() -> MinioDocumentStore:
    """A MinIO store pointed at a port where nothing listens."""
    return MinioDocumentStore(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="x",
        secret_key="y",  # noqa: S106
        bucket="docs-down",
        connect_timeout=1.0,
    )


# --- databases ----------------------------------------------------------------------------------

TABLES = [User.__table__, AuditEntry.__table__, Document.__table__]


def _pg_admin_dsn(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        pytest.skip("set TEST_DATABASE_URL=postgresql://… to run the metadata tests on PostgreSQL too")
    admin_dsn = _pg_admin_dsn(base)
    name = f"docs_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    head, _, _ = normalise_database_url(base).rpartition("/")
    yield f"{head}/{name}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=TABLES))
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'docs.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=TABLES))
    yield engine
    await engine.dispose()


@pytest.fixture
async def clean_postgres_engine(postgres_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    yield postgres_engine
    async with postgres_engine.begin() as conn:
        await conn.execute(text("TRUNCATE document, audit_log, user_account RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request: pytest.FixtureRequest) -> AsyncEngine:
    """SQLite in a temporary file; PostgreSQL (a throwaway database) when TEST_DATABASE_URL is set."""
    name = "sqlite_engine" if request.param == "sqlite" else "clean_postgres_engine"
    return request.getfixturevalue(name)


@pytest.fixture
def sessionmaker(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(db_engine, expire_on_commit=False)


# --- people -------------------------------------------------------------------------------------


@dataclass
class People:
    buyer: Principal
    other_buyer: Principal
    creditor: Principal
    court: Principal
    tax: Principal
    admin: Principal


PEOPLE = People(
    buyer=Principal(user_id=1, role="buyer", display_name="王*"),
    other_buyer=Principal(user_id=2, role="buyer", display_name="李*"),
    creditor=Principal(user_id=3, role="creditor", display_name="赵*"),
    court=Principal(user_id=4, role="staff", display_name="Court clerk", department="court"),
    tax=Principal(user_id=5, role="staff", display_name="Tax officer", department="tax"),
    admin=Principal(user_id=6, role="admin", display_name="Admin"),
)


@pytest.fixture
async def people(sessionmaker: async_sessionmaker[AsyncSession]) -> People:
    async with sessionmaker() as session:
        for p in vars(PEOPLE).values():
            session.add(
                User(
                    id=p.user_id,
                    email=f"user{p.user_id}@example.test",
                    display_name=p.display_name,
                    password_hash="x",  # noqa: S106 - never used to sign in
                    role=p.role,
                    department=p.department,
                )
            )
        await session.commit()
    return PEOPLE


TRANSFER_BUYERS = {100: PEOPLE.buyer.user_id, 200: PEOPLE.other_buyer.user_id}
EVERY_DEPARTMENT = frozenset(d.value for d in Department)


async def _transfer(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    buyer = TRANSFER_BUYERS.get(subject_id)
    return None if buyer is None else SubjectInfo(buyer, frozenset({"court", "tax", "registry"}))


async def _step(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    return SubjectInfo(PEOPLE.buyer.user_id, frozenset({"court"})) if subject_id == 7 else None


async def _lot(session: AsyncSession, subject_id: int) -> SubjectInfo | None:
    return SubjectInfo(None, EVERY_DEPARTMENT, public=True) if subject_id == 42 else None


@pytest.fixture(autouse=True)
async def guards() -> AsyncIterator[None]:
    """As the domains would say: buyer 1 owns transfer 100 (court, tax, registry) and its step 7
    (court), buyer 2 owns transfer 200; lot 42 is public. Nothing else exists."""
    subject_guards.clear()
    subject_guards.register("transfer", _transfer)
    subject_guards.register("transfer_step", _step)
    subject_guards.register("lot", _lot)
    yield
    await wait_for_cleanups()
    subject_guards.clear()


# --- files --------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 54


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture
def jpeg() -> bytes:
    return image_bytes("JPEG", (1200, 900))


def make_files() -> dict[str, Callable[[], bytes]]:
    return {"pdf": lambda: PDF, "png": lambda: image_bytes("PNG"), "jpeg": lambda: image_bytes("JPEG")}


@pytest.fixture(autouse=True)
def _documents_alone() -> Iterator[None]:
    """These tests run the documents package on its own schema: no other domain's handlers."""
    from storage.events import hub

    with hub.isolated():
        yield
