"""kernel.pool: a returned connection goes to the longest waiter, never to a request that asks later."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from kernel.pool import FairAsyncPool, HandOffQueue


async def test_a_returned_item_is_the_waiters_not_a_newcomers() -> None:
    q: HandOffQueue[str] = HandOffQueue(maxsize=2)
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)  # both wait, in that order
    q.put_nowait("a")
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()  # what SQLAlchemy's pool tries first for a new request: nothing to take
    q.put_nowait("b")
    assert (await first, await second) == ("a", "b")
    q.put_nowait("c")  # nobody waits: kept for the next request
    assert await q.get() == "c"


async def test_an_item_handed_to_a_cancelled_waiter_goes_to_the_next() -> None:
    q: HandOffQueue[str] = HandOffQueue(maxsize=1)
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.put_nowait("a")  # handed to the first …
    first.cancel()  # … which gives up (the pool's timeout) before it runs
    assert await second == "a"
    assert first.cancelled()


async def test_the_pool_serves_waiting_requests_in_order() -> None:
    """Three clients in a closed loop on one connection, through the engine: each asks again as
    soon as it gives the connection back and is served after the two that were waiting."""
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=FairAsyncPool, pool_size=1, max_overflow=0)
    order: list[int] = []

    async def client(n: int) -> None:
        for _ in range(3):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                order.append(n)

    try:
        await asyncio.gather(*(client(n) for n in range(3)))
    finally:
        await engine.dispose()
    assert order == [0, 1, 2] * 3
