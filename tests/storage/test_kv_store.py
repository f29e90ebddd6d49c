"""storage.kv.KVStore (the sessions' and stores' table, one Core statement per operation) keeps the
stock advanced-alchemy store's behaviour: each reads what the other wrote, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from sqlalchemy import select

from portal.app import build_db_config
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
