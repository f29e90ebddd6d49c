"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), an app bound to it, and factories for the domain objects.

Isolation: each test gets a database of its own. The schema is migrated once per session
and backend; every test then starts from a copy of that migrated, empty database (SQLite: a
file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``), dropped afterwards. So a test sees
only its own rows — also through the app's own pooled engine, which connects by URL like any
other client — and a test that counts rows or takes "the next item" counts and takes its own.
(A SAVEPOINT per test cannot reach the app's engine, which opens its own connections.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from accounts.models import User
from accounts.passwords import hash_password
from accounts.principal import Principal
from auction_listings.models import Lot, Sale
from portal.app import create_app
from portal.cli import migrate
from portal.i18n import compile_catalogues
from portal.sales import confirmed_sale
from portal.settings import Settings
from storage.events import hub
from storage.kv import KeyValueItem
from storage.throttle import throttle_counter
from title_transfer.service import NewTransfer, create_transfer

TEST_SECRET = "test-secret-" + "x" * 40
TEST_TOKEN = "test-service-token-0123456789"
TEST_INGEST_TOKEN = "test-case-ingest-token-9876543210"  # the court's case system's own token
PASSWORD = "correct horse battery staple"
BACKENDS = ["sqlite", "postgresql"]
DOCUMENT_DIR = tempfile.mkdtemp(prefix="portal-test-docs-")


def pytest_configure(config: pytest.Config) -> None:
    # What `make install` does before `make test`: the portal loads compiled catalogues.
    compile_catalogues()


def _pg_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


async def _create_pg_database(admin_url: str, template: str | None = None) -> tuple[str, str]:
    url = make_url(admin_url.replace("postgresql+asyncpg", "postgresql"))
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(user=url.username or "postgres", password=url.password, host=url.host or "127.0.0.1",
                                 port=url.port or 5432, database=url.database or "postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()
    return str(url.set(database=name).render_as_string(hide_password=False)), name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    url = make_url(admin_url.replace("postgresql+asyncpg", "postgresql"))
    conn = await asyncpg.connect(user=url.username or "postgres", password=url.password, host=url.host or "127.0.0.1",
                                 port=url.port or 5432, database=url.database or "postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Per backend, a database migrated once for the session: the template each test's database copies.

    Yields the SQLite file's path, or the PostgreSQL database's name. Nothing connects to it after
    migrating (PostgreSQL copies only a template nobody is connected to).
    """
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "portal.db"
        migrate(Settings.from_env(_env(f"sqlite:///{path}")))
        # WAL, as the app sets on its connections: the copies start in it, so a test's own engine and
        # the app's can read and write at once from the first connection on.
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        yield str(path)
        return
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    url, name = asyncio.run(_create_pg_database(admin))
    migrate(Settings.from_env(_env(url)))
    yield name
    asyncio.run(_drop_pg_database(admin, name))


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of this test's own, on each backend (dropped afterwards)."""
    if migrated_database.endswith(".db"):
        path = tmp_path / "portal.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(migrated_database + suffix)
            if source.exists():
                shutil.copyfile(source, str(path) + suffix)
        yield f"sqlite:///{path}"
        return
    admin = _pg_admin_url()
    assert admin
    url, name = asyncio.run(_create_pg_database(admin, template=migrated_database))
    yield url
    asyncio.run(_drop_pg_database(admin, name))


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": url,
        "PORTAL_ENV": "test",
        "PORTAL_SECRET": TEST_SECRET,
        "PORTAL_SERVICE_TOKEN": TEST_TOKEN,
        "CASE_INGEST_TOKEN": TEST_INGEST_TOKEN,
        "RASA_URL": "http://127.0.0.1:9",
        "THROTTLE_FAILURES": "5",
        "DOCUMENT_DIR": DOCUMENT_DIR,
    }
    env.update(extra)
    return env


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_env(_env(database_url))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(settings.database.url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        yield s


@pytest.fixture
def app(settings: Settings) -> Litestar:
    # One app per test: the test client serves it on its own event loop, and pooled asyncpg
    # connections belong to the loop that opened them. The app disposes its engine on shutdown.
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # Every test starts with clean failure counters: all test requests share one client address.
    # (Through the tests' own engine: the app's pool belongs to the test client's event loop.)
    async with engine.begin() as conn:
        await conn.execute(delete(KeyValueItem).where(KeyValueItem.namespace.like("%throttle")))
        await conn.execute(delete(throttle_counter))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}{next(_seq)}"


class Factory:
    """Creates users, lots, sales and transfers with unique keys, committed."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def user(self, role: str = "buyer", department: str | None = None, password: str = PASSWORD) -> User:
        user = User(email=f"{unique(role)}@test.local", display_name=f"{role} {department or ''}".strip(),
                    password_hash=hash_password(password), role=role, department=department)
        self.session.add(user)
        await self.session.commit()
        return user

    @staticmethod
    def principal(user: User) -> Principal:
        return Principal(user.id, user.role, user.display_name, user.department)

    async def transfer(self, asset_kind: str = "real_estate", buyer: User | None = None,
                       price: str = "2000000", confirmed_on: dt.date = dt.date(2026, 11, 20),
                       **lot_fields: Any) -> tuple[NewTransfer, User]:
        buyer = buyer or await self.user("buyer")
        fields: dict[str, Any] = dict(
            lot_no=unique("LOT-"), title="测试房产 Test flat", asset_kind=asset_kind, address="浙江省诸暨市测试路1号",
            court="诸暨市人民法院", appraisal=Decimal("2500000"), starting_price=Decimal("1750000"),
            property_use="residential", area_m2=Decimal("90"), location="city", tax_clause="by_law",
            seller_type="individual", seller_acquired_on=dt.date(2020, 1, 1), seller_purchase_price=Decimal("1500000"),
        )
        fields.update(lot_fields)
        lot = Lot(**fields)
        self.session.add(lot)
        await self.session.flush()
        sale = Sale(lot_id=lot.id, buyer_id=buyer.id, price=Decimal(price), confirmed_on=confirmed_on)
        self.session.add(sale)
        await self.session.flush()
        await self.session.refresh(sale, ["lot"])
        seq = next(_seq)
        tracking_no = f"ZT{9000 + seq % 1000:04d}{uuid.uuid4().int % 1_000_000:06d}"
        new = await create_transfer(self.session, confirmed_sale(sale), secret=self.settings.secret_key,
                                  tracking_no=tracking_no)
        await self.session.commit()
        return new, buyer


@pytest.fixture
def factory(session: AsyncSession, settings: Settings) -> Factory:
    return Factory(session, settings)


@pytest.fixture(autouse=True)
def _no_leaked_subscribers() -> Iterator[None]:
    yield
    # Tests that subscribe handlers clean up after themselves; the app's own wiring re-subscribes on create.


async def login(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> None:
    page = await client.get("/login")
    token = page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    resp = await client.post("/login", data={"email": email, "password": password, "_csrf_token": token or ""},
                             follow_redirects=False)
    assert resp.status_code == 303, resp.text


def csrf(client: AsyncTestClient[Litestar]) -> str:
    return client.cookies.get("csrftoken") or ""


__all__ = ["Factory", "login", "csrf", "unique", "hub", "TEST_TOKEN", "TEST_INGEST_TOKEN", "PASSWORD"]
