"""The attempt counters behave the same in the database and in Redis, and hold under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from portal.settings import Settings
from storage.throttle import Counter, RedisCounter, SQLCounter, Throttle


def _redis() -> RedisCounter | None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:  # noqa: BLE001
        return None
    return RedisCounter("redis://127.0.0.1:6379/0", prefix=f"test_{uuid.uuid4().hex[:6]}:")


@pytest.fixture(params=["sql", "redis"])
async def counter(request: pytest.FixtureRequest, settings: Settings):  # type: ignore[no-untyped-def]
    if request.param == "redis":
        found = _redis()
        if found is None:
            pytest.skip("no Redis on 127.0.0.1:6379")
        yield found
        await found.aclose()
        return
    engine = create_async_engine(settings.database.url)
    yield SQLCounter(engine, prefix=f"test_{uuid.uuid4().hex[:6]}:")
    await engine.dispose()


async def test_limit_then_wait_then_reset(counter: Counter) -> None:
    throttle = Throttle(counter, limit=3, window_seconds=60)
    key = f"k:{uuid.uuid4().hex}"
    for _ in range(3):
        assert not (await throttle.hit({key: 3})).refused
    assert (await throttle.peek({key: 3})).refused  # a success waits too, at the limit
    verdict = await throttle.hit({key: 3})
    assert verdict.refused and 0 < verdict.retry_after <= 60 and verdict.counts == {key: 4}
    await throttle.reset([key])
    assert not (await throttle.peek({key: 3})).refused
    await throttle.hit({key: 3})
    await throttle.refund([key])
    await throttle.refund([key])  # never below zero
    assert (await throttle.peek({key: 3})).counts == {key: 0}


async def test_parallel_hits_each_get_their_own_number(counter: Counter) -> None:
    throttle = Throttle(counter, limit=5, window_seconds=60)
    a, b = f"a:{uuid.uuid4().hex}", f"b:{uuid.uuid4().hex}"
    verdicts = await asyncio.gather(*(throttle.hit({a: 5, b: 50}) for _ in range(30)))
    assert sorted(v.counts[a] for v in verdicts) == list(range(1, 31))
    assert sum(not v.refused for v in verdicts) == 5

