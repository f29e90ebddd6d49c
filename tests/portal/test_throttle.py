"""The failure counters behave the same on the database store and on Redis."""

from __future__ import annotations

import uuid

import pytest
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from storage.throttle import Throttle


def _redis() -> Store | None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return None
    return RedisStore.with_client(url="redis://127.0.0.1:6379/0", namespace=f"test_{uuid.uuid4().hex[:6]}")


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_limit_then_wait_then_reset(backend: str) -> None:
    store = MemoryStore() if backend == "memory" else _redis()
    if store is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    throttle = Throttle(store, limit=3, window_seconds=60)
    keys = [f"k:{uuid.uuid4().hex}"]
    for _ in range(2):
        await throttle.fail(keys)
    assert await throttle.retry_after(keys) == 0
    await throttle.fail(keys)
    wait = await throttle.retry_after(keys)
    assert 0 < wait <= 60
    await throttle.reset(keys)
    assert await throttle.retry_after(keys) == 0
