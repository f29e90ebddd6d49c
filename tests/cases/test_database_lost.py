"""The cases' statements run straight on asyncpg (the case page's one-statement read, the payee
list's COPY, the bank results' set-based apply) when PostgreSQL loses the connection under them,
or the request is cancelled mid-statement.

A lost connection must read as the database being unavailable — SQLAlchemy's invalidated-connection
error, which the portal answers with a 503 and Retry-After — not as a raw asyncpg error (asyncpg's
"connection is closed" InterfaceError is a 500), and the connection must never go back to the pool
dead (nothing pings it on check-out) or still busy with the statement. The
connections are lost the way a PostgreSQL restart loses them: ``pg_terminate_backend`` from another
connection, either while the connection sits idle (the next statement meets a closed connection) or
while the statement waits for a lock the test holds (the connection closes in the middle of it).
PostgreSQL only: SQLite has neither asyncpg nor a server to lose.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from accounts.principal import Principal
from cases.payouts import Payee, PayoutBatch
from cases.payouts_bank import record_bank_results
from cases.payouts_import import import_payees
from cases.payouts_service import create_batch
from cases.read import load_rows, reader
from kernel.errors import unavailable
from portal.case_wiring import list_case_documents
from portal.settings import Settings
from storage.audit import AuditEntry
from tests.cases.conftest import CREDITOR_ID, MadeCase, open_case
from tests.cases.test_payouts import (
    CASE_NUMBER,
    _batch,
    _case,
    _court_staff,
    _upload,
    bank_csv,
    payee_csv,
    person,
    staff,  # noqa: F401  (the fixture: a court's member of staff, signed in, and the case)
    total_of,
)
from tests.conftest import Factory
from tests.portal.test_upload_database_lost import _terminate


def _postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("asyncpg's own connection, and a server to lose, exist on PostgreSQL only")


async def _backend_pid(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def _kill(engine: AsyncEngine, pid: int) -> None:
    """The server ends that backend (as a restart does), and the client has heard of it."""
    async with engine.connect() as other:
        assert await other.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def _locked(engine: AsyncEngine, table: str, mode: str) -> AsyncIterator[None]:
    """``table`` locked in ``mode`` by another transaction until the block ends: a statement that
    needs a conflicting lock waits, mid-statement, for the test to do something to its connection."""
    async with engine.connect() as holder:
        # Not for ever: a transaction of the test's own still reading the table would hang the test.
        await holder.execute(text("SET LOCAL lock_timeout = '10s'"))
        await holder.execute(text(f"LOCK TABLE {table} IN {mode} MODE"))
        yield
        await holder.rollback()


async def _waiting_for(engine: AsyncEngine, table: str) -> int:
    """The backend whose statement waits for a lock on ``table`` (once it has got that far)."""
    async with engine.connect() as watcher:
        with anyio.fail_after(10):
            while True:
                pid = await watcher.scalar(text("SELECT pid FROM pg_locks WHERE NOT granted "
                                                "AND relation = CAST(:t AS regclass) LIMIT 1"), {"t": table})
                if pid is not None:
                    return int(pid)
                await asyncio.sleep(0.02)


async def _lost_mid_statement(engine: AsyncEngine, table: str, mode: str, work: Any) -> BaseException:
    """Run ``work`` until its statement waits on ``table``, end that backend, and return what ``work`` raised."""
    async with _locked(engine, table, mode):
        task = asyncio.create_task(work)
        await _kill(engine, await _waiting_for(engine, table))
    with anyio.fail_after(10):
        try:
            await task
        except BaseException as exc:  # returned: the test says what it must be
            return exc
    raise AssertionError("the statement went through although its connection was ended")


def assert_unavailable(exc: BaseException) -> None:
    """SQLAlchemy's invalidated-connection error, which the portal answers with a 503 + Retry-After."""
    assert isinstance(exc, InterfaceError), f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    assert exc.connection_invalidated
    assert unavailable(exc) is not None


# --- the case page's read (cases/read.py: load_rows on the page's autocommit connection) ------------


async def test_the_case_read_on_a_connection_the_server_ended_is_unavailable(
        engine: AsyncEngine, case: MadeCase) -> None:
    _postgres_only(engine)
    async with reader(engine).connect() as conn:
        await _kill(engine, await _backend_pid(conn))
        with pytest.raises(Exception) as caught:
            await load_rows(conn, case.id)
        assert_unavailable(caught.value)
        assert conn.invalidated  # so it does not go back to the pool
    async with reader(engine).connect() as conn:  # the next read gets a live connection
        rows = await load_rows(conn, case.id)
        assert rows is not None and rows.case.id == case.id


async def test_a_case_read_cancelled_mid_statement_does_not_go_back_to_the_pool_busy(
        engine: AsyncEngine, session: AsyncSession, case: MadeCase) -> None:
    """The client went away while the statement ran (here: waited for a lock): the connection may
    still be busy with it, and without a transaction nothing resets it on check-in."""
    _postgres_only(engine)
    await session.commit()  # the case fixture's last read holds a lock on the case table till then
    seen: list[bool] = []

    async def read() -> None:
        async with reader(engine).connect() as conn:
            try:
                await load_rows(conn, case.id)
            finally:
                seen.append(conn.invalidated)  # as the connection goes back

    async with _locked(engine, "enforcement_case", "ACCESS EXCLUSIVE"):
        task = asyncio.create_task(read())
        await _waiting_for(engine, "enforcement_case")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen == [True]
    async with reader(engine).connect() as conn:
        rows = await load_rows(conn, case.id)
        assert rows is not None and rows.case.id == case.id


async def test_the_case_documents_read_on_a_connection_the_server_ended_is_unavailable(
        engine: AsyncEngine, case: MadeCase) -> None:
    """The page's other statement straight on asyncpg (portal/case_wiring.py, wired as
    cases.documents.case_documents), on the same connection after the case's rows."""
    _postgres_only(engine)
    async with reader(engine).connect() as conn:
        assert await list_case_documents(conn, case.id) == []
        await _kill(engine, await _backend_pid(conn))
        with pytest.raises(Exception) as caught:
            await list_case_documents(conn, case.id)
        assert_unavailable(caught.value)
        assert conn.invalidated


async def test_the_case_page_after_the_database_restarted_is_a_503_then_serves_again(
        app: Litestar, engine: AsyncEngine, session: AsyncSession, case: MadeCase, database_url: str) -> None:
    """Through the portal: a party opens the page, PostgreSQL restarts (every connection ended),
    the party opens it again. The page's connection from the pool is one the server closed: a
    503 with Retry-After, never a 500, and the pool retires its other dead connections with it
    (storage.db.driver_errors, as SQLAlchemy does on a disconnect it sees): the next request is
    served."""
    _postgres_only(engine)
    await session.commit()  # the test's own session holds no connection the restart would end
    async with AsyncTestClient(app=app, base_url="http://testserver.local", raise_server_exceptions=False) as client:
        await open_case(client, case.number, CREDITOR_ID, case.code)
        assert (await client.get(f"/cases/{case.id}")).status_code == 200
        assert await _terminate(database_url) >= 1
        await asyncio.sleep(0.2)
        answers = []
        for _ in range(6):
            answers.append(await client.get(f"/cases/{case.id}"))
            if answers[-1].status_code == 200:
                break
    await engine.dispose()  # the test's own pooled connections were ended too
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 503, answers[0].text[:500]
    assert all(a.headers.get("Retry-After") for a in answers if a.status_code == 503)
    assert statuses == [503, 200], statuses


# --- the payee list's COPY (cases/payouts_import.py: load_payees, inside import_payees' transaction) --


async def _open_batch(factory: Factory, session: AsyncSession, rows: list[Any]) -> tuple[PayoutBatch, Principal]:
    """An open batch declaring ``rows`` (their count and total), and the court staff member."""
    user = await _court_staff(factory, session)
    await _case(session)
    actor = Factory.principal(user)
    batch = await create_batch(session, actor, case_number=CASE_NUMBER, title="第一批案款发放",
                               declared_count=str(len(rows)), declared_total=total_of(rows))
    await session.commit()
    return batch, actor


async def test_a_payee_list_whose_connection_is_lost_mid_copy_is_unavailable_and_leaves_nothing(
        engine: AsyncEngine, session: AsyncSession, factory: Factory, settings: Settings) -> None:
    _postgres_only(engine)
    rows = [person(i) for i in range(1, 6)]
    batch, actor = await _open_batch(factory, session, rows)
    batch_id = batch.id  # (the rollback below expires the batch object)
    # The COPY into payout_payee waits for the SHARE lock (the batch's claim before it does not).
    lost = await _lost_mid_statement(engine, "payout_payee", "SHARE", import_payees(
        session, batch, actor, data=payee_csv(rows).encode(), filename="p.csv", secret=settings.secret_key))
    assert_unavailable(lost)
    await session.rollback()  # what the request does next (kernel.errors.rollback_request_session): no error
    assert await session.scalar(select(PayoutBatch.state).where(PayoutBatch.id == batch_id)) == "open"
    assert await session.scalar(select(func.count()).select_from(Payee)) == 0
    assert await session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "payees_imported")) == 0
    # and the list can be imported again, on a live connection
    batch = await session.get_one(PayoutBatch, batch_id)
    await import_payees(session, batch, actor, data=payee_csv(rows).encode(), filename="p.csv",
                        secret=settings.secret_key)
    assert await session.scalar(select(func.count()).select_from(Payee)) == len(rows)


async def test_a_payee_list_cancelled_mid_copy_leaves_no_busy_connection(
        engine: AsyncEngine, session: AsyncSession, factory: Factory, settings: Settings) -> None:
    _postgres_only(engine)
    rows = [person(i) for i in range(1, 4)]
    batch, actor = await _open_batch(factory, session, rows)
    batch_id = batch.id  # (the rollback below expires the batch object)
    conn = await session.connection()
    async with _locked(engine, "payout_payee", "SHARE"):
        task = asyncio.create_task(import_payees(session, batch, actor, data=payee_csv(rows).encode(),
                                                 filename="p.csv", secret=settings.secret_key))
        await _waiting_for(engine, "payout_payee")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert conn.invalidated  # its statement may still be running: the pool must not hand it out
    await session.rollback()
    assert await session.scalar(select(PayoutBatch.state).where(PayoutBatch.id == batch_id)) == "open"
    assert await session.scalar(select(func.count()).select_from(Payee)) == 0


def _end_the_backend_waiting_on(database_url: str, table: str) -> int | None:
    """In a thread of its own, with a loop and a connection of its own: the test client runs each
    request to the end while the test's loop waits, so nothing on that loop could end the request's
    connection meanwhile. None if no statement came to wait (then every backend of the database is
    ended, so the request is not left waiting for the lock for ever)."""

    async def run() -> int | None:
        url = make_url(database_url)
        conn = await asyncpg.connect(user=url.username or "postgres", password=url.password,
                                     host=url.host or "127.0.0.1", port=url.port or 5432, database=url.database)
        try:
            with anyio.move_on_after(10):
                while True:
                    pid = await conn.fetchval("SELECT pid FROM pg_locks WHERE NOT granted "
                                              "AND relation = CAST($1 AS regclass) LIMIT 1", table)
                    if pid is not None:
                        await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
                        return int(pid)
                    await asyncio.sleep(0.02)
            await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return None
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.mark.usefixtures("staff")
async def test_an_upload_whose_copy_loses_the_database_is_a_503_and_can_be_sent_again(
        client: AsyncTestClient[Litestar], engine: AsyncEngine, session: AsyncSession, database_url: str) -> None:
    """Through the portal: the request's own session (its rollback after the error included)
    ends as a 503 with Retry-After; nothing is imported, and the same file goes through next."""
    _postgres_only(engine)
    rows = [person(i) for i in range(1, 5)]
    code = await _batch(client, len(rows), total_of(rows))
    await client.get(f"/staff/payouts/{code}")
    async with _locked(engine, "payout_payee", "SHARE"):
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            ended = thread.submit(_end_the_backend_waiting_on, database_url, "payout_payee")
            resp = await _upload(client, code, "import", payee_csv(rows).encode())
            assert ended.result(timeout=20) is not None, "the COPY never waited for the lock"
    assert resp.status_code == 503, resp.text[:500]
    assert resp.headers.get("Retry-After")
    assert await session.scalar(select(func.count()).select_from(Payee)) == 0
    again = await _upload(client, code, "import", payee_csv(rows).encode())
    assert again.status_code == 303, again.text[:500]
    assert await session.scalar(select(func.count()).select_from(Payee)) == len(rows)


# --- the bank results' apply (cases/payouts_bank.py: _apply, inside record_bank_results' transaction) --


async def test_bank_results_whose_connection_is_lost_mid_apply_are_unavailable_and_change_nothing(
        engine: AsyncEngine, session: AsyncSession, factory: Factory, settings: Settings) -> None:
    _postgres_only(engine)
    rows = [person(i) for i in range(1, 4)]
    batch, actor = await _open_batch(factory, session, rows)
    batch_id = batch.id  # (the rollback below expires the batch object)
    await import_payees(session, batch, actor, data=payee_csv(rows).encode(), filename="p.csv",
                        secret=settings.secret_key)
    batch = await session.get_one(PayoutBatch, batch_id)
    results = bank_csv([(batch.code, rows[0][2], rows[0][0], rows[0][3], "成功", "", "2026-11-30 10:05:00"),
                        (batch.code, rows[1][2], rows[1][0], rows[1][3], "失败", "账户已销户", "")])
    # The payees' UPDATE waits for the SHARE lock (reading them, and the temporary table, do not).
    lost = await _lost_mid_statement(engine, "payout_payee", "SHARE", record_bank_results(
        session, batch, actor, data=results, filename="bank.csv", secret=settings.secret_key))
    assert_unavailable(lost)
    await session.rollback()  # what the request does next: no error
    assert set((await session.scalars(select(Payee.status))).all()) == {"pending"}
    assert await session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.subject_type == "payout_payee")) == 0
    batch = await session.get_one(PayoutBatch, batch_id)  # the same file applies once the database is back
    await record_bank_results(session, batch, actor, data=results, filename="bank.csv", secret=settings.secret_key)
    assert sorted((await session.scalars(select(Payee.status))).all()) == ["failed", "paid", "pending"]
