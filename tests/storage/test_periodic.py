"""The background loop behind the outbox drain and the purge."""

from __future__ import annotations

import asyncio

from storage.periodic import Periodic


async def test_a_failed_round_is_retried_and_stop_ends_the_loop() -> None:
    rounds: list[int] = []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round fails")

    task = Periodic("test-loop", 0.001, work)
    await task.start()
    for _ in range(200):
        if len(rounds) >= 3:
            break
        await asyncio.sleep(0.005)
    await task.stop()
    assert len(rounds) >= 3  # the failure did not end the loop
    seen = len(rounds)
    await asyncio.sleep(0.02)
    assert len(rounds) == seen  # nothing runs after stop


async def test_an_interval_of_zero_never_starts() -> None:
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)

    task = Periodic("off", 0, work)
    await task.start()
    await asyncio.sleep(0.01)
    await task.stop()
    assert calls == []
