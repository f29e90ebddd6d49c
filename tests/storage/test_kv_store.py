"""storage.kv.KVStore (the sessions' and stores' table, one Core statement per operation) keeps the
stock advanced-alchemy store's behaviour: each reads what the other wrote, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from sqlalchemy import event, select

from portal.app import build_db_config, single_statement_engine
from portal.settings import Settings
from storage.kv import KeyValueItem, KVStore


@pytest.fixture
async def stores(settings: Settings) -> AsyncIterator[tuple[KVStore, SQLAlchemyStore]]:  # type: ignore[type-arg]
    config = build_db_config(settings)
    ours = KVStore(config, model=KeyValueItem).with_namespace("sessions")
    stock = SQLAlchemyStore(config, model=KeyValueItem).with_namespace("sessions")
    assert isinstance(ours, KVStore)
    yield ours, stock
    await config.get_engine().dispose()


async def _expiry(store: KVStore, key: str) -> dt.datetime | None:
    async with store._engine.connect() as conn:  # noqa: SLF001 - the row itself
        stamp = await conn.scalar(select(KeyValueItem.expires_at).where(
            KeyValueItem.key == key, KeyValueItem.namespace == store.namespace))
    return stamp


async def test_set_get_overwrite_delete_agree_with_the_stock_store(
        stores: tuple[KVStore, SQLAlchemyStore]) -> None:  # type: ignore[type-arg]
    ours, stock = stores
    key = secrets.token_hex(16)
    assert await ours.get(key) is None
    await ours.set(key, b'{"chat_sender":"a"}', expires_in=3600)
    assert await ours.get(key) == b'{"chat_sender":"a"}'
    assert await stock.get(key) == b'{"chat_sender":"a"}'
    await ours.set(key, "第二 second", expires_in=dt.timedelta(hours=1))  # an upsert: one row, the new value
    assert await stock.get(key) == "第二 second".encode()
    await stock.set(key, b"stock", expires_in=3600)
    assert await ours.get(key) == b"stock"
    async with ours._engine.connect() as conn:  # noqa: SLF001
        rows = (await conn.execute(select(KeyValueItem.id).where(KeyValueItem.key == key))).all()
    assert len(rows) == 1
    other = KVStore(ours._config, model=KeyValueItem).with_namespace("throttle")  # noqa: SLF001
    assert await other.get(key) is None  # namespaces stay apart
    await ours.delete(key)
    assert await ours.get(key) is None and await stock.get(key) is None
    await ours.delete(key)  # deleting what is gone is no error


async def test_expired_is_absent_and_renew_moves_the_expiry(stores: tuple[KVStore, SQLAlchemyStore]) -> None:  # type: ignore[type-arg]
    ours, stock = stores
    key = secrets.token_hex(16)
    await ours.set(key, b"short", expires_in=1)
    await asyncio.sleep(1.2)
    assert await ours.get(key) is None and await stock.get(key) is None
    await ours.set(key, b"x", expires_in=60)
    before = await _expiry(ours, key)
    assert before is not None
    assert await ours.get(key, renew_for=3600) == b"x"
    after = await _expiry(ours, key)
    assert after is not None and after - before > dt.timedelta(minutes=50)
    assert await ours.get(key) == b"x" and await _expiry(ours, key) == after  # a plain read changes nothing


async def test_single_statements_take_one_round_trip_on_postgresql(settings: Settings) -> None:
    """A session read runs on every request with a session cookie: on PostgreSQL, through the
    portal's single-statement engine, it is the SELECT alone, not BEGIN, SELECT, ROLLBACK; a
    write or a delete is its one statement, without BEGIN/COMMIT around it. asyncpg's query
    logger sees the transaction statements (SQLAlchemy sends BEGIN, COMMIT and ROLLBACK through
    ``Connection.execute``; its own statements go through prepared statements, which the logger
    does not see)."""
    if not settings.database.is_postgres:
        pytest.skip("the round trips counted are asyncpg's")
    config = build_db_config(settings)
    engine = config.get_engine()
    single = single_statement_engine(settings, engine)
    ours = KVStore(config, model=KeyValueItem, single=single).with_namespace("sessions")
    assert isinstance(ours, KVStore)
    sent: list[str] = []

    def watch(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda q: sent.append(q.query.split()[0].upper()))

    async def transaction_statements() -> list[str]:
        await asyncio.sleep(0.01)  # asyncpg calls its query loggers soon after the query, not during it
        got = [q.rstrip(";") for q in sent]
        sent.clear()
        return got

    for each in (engine, single):
        event.listen(each.sync_engine, "connect", watch)
    try:
        key = secrets.token_hex(16)
        await ours.set(key, b"v", expires_in=60)
        assert await ours.get(key) == b"v"
        await ours.delete(key)
        assert await ours.get(key) is None
        assert await transaction_statements() == []
        assert await ours.get(key, renew_for=60) is None  # two statements: one transaction
        assert await transaction_statements() == ["BEGIN", "COMMIT"]
    finally:
        await single.dispose()
        await engine.dispose()
