"""storage.db.driver_errors: a statement on asyncpg's own connection (the lot search's path) that
loses its connection, or is cancelled, leaves no dead or busy connection in the pool, and a lost
connection reads as the database being unavailable (a 503), not as a bug (a 500)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine

from kernel.errors import unavailable
from storage.db import asyncpg_of, driver_errors


def _postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("asyncpg's own connection exists on PostgreSQL only")


async def test_a_lost_connection_is_invalidated_and_reads_as_unavailable(engine: AsyncEngine) -> None:
    _postgres_only(engine)
    async with engine.connect() as conn:
        driver = await asyncpg_of(conn)
        pid = await driver.fetchval("SELECT pg_backend_pid()")
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(InterfaceError) as caught:
            async with driver_errors(conn):
                await driver.fetch("SELECT 1")
        assert caught.value.connection_invalidated and conn.invalidated
        assert unavailable(caught.value) is not None  # answered 503 with Retry-After
    async with engine.connect() as conn:  # the pool hands out a live connection, not the dead one
        assert await (await asyncpg_of(conn)).fetchval("SELECT 1") == 1


async def test_a_cancelled_statement_does_not_go_back_to_the_pool(engine: AsyncEngine) -> None:
    _postgres_only(engine)

    async def slow() -> None:
        async with engine.connect() as conn:
            driver = await asyncpg_of(conn)
            try:
                async with driver_errors(conn):
                    await driver.fetch("SELECT pg_sleep(5)")
            finally:
                seen.append(conn.invalidated)  # before the connection goes back

    seen: list[bool] = []
    task = asyncio.create_task(slow())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [True]
    async with engine.connect() as conn:
        assert await (await asyncpg_of(conn)).fetchval("SELECT 2") == 2


async def test_other_errors_stay_as_they_are(engine: AsyncEngine) -> None:
    _postgres_only(engine)
    async with engine.connect() as conn:
        driver = await asyncpg_of(conn)
        with pytest.raises(Exception) as caught:
            async with driver_errors(conn):
                await driver.fetch("SELECT * FROM no_such_table")
        assert type(caught.value).__module__.startswith("asyncpg") and unavailable(caught.value) is None


async def test_a_lost_connection_retires_the_pools_other_connections_too(engine: AsyncEngine) -> None:
    """After a restart every pooled connection is dead. SQLAlchemy, seeing a disconnect itself,
    replaces them all at their next checkout; a disconnect seen on asyncpg's own connection does
    the same, so the request after the first 503 gets a live connection, not the next dead one."""
    _postgres_only(engine)
    import asyncpg

    async with engine.connect() as a, engine.connect() as b:  # two connections, both back in the pool after
        pids = [await (await asyncpg_of(c)).fetchval("SELECT pg_backend_pid()") for c in (a, b)]
    outside = await asyncpg.connect(engine.url.render_as_string(hide_password=False).replace("+asyncpg", ""))
    try:
        for pid in pids:
            await outside.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await outside.close()
    await asyncio.sleep(0.2)
    async with engine.connect() as first:
        with pytest.raises(InterfaceError):
            async with driver_errors(first):
                await (await asyncpg_of(first)).fetch("SELECT 1")
    async with engine.connect() as second:  # the other dead one, unless the pool retired it
        assert (await second.execute(text("SELECT 3"))).scalar() == 3
        assert await (await asyncpg_of(second)).fetchval("SELECT pg_backend_pid()") not in pids
