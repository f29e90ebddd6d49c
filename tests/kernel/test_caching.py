"""kernel.caching: ETags, If-None-Match, the version clock and the render cache."""

from __future__ import annotations

import asyncio

import pytest

from kernel.caching import RenderCache, VersionClock, etag, matches


def test_etag_depends_on_every_part() -> None:
    assert etag("lot", 3, "zh") == etag("lot", 3, "zh")
    assert etag("lot", 3, "zh") != etag("lot", 4, "zh") != etag("lot", 3, "en")
    assert etag("x").startswith('W/"')


def test_if_none_match_compares_weakly_and_accepts_lists_and_star() -> None:
    tag = etag("lot", 1)
    assert matches(tag, tag)
    assert matches(tag[2:], tag)  # the strong form of the same tag
    assert matches(f'"other", {tag}', tag)
    assert matches("*", tag)
    assert not matches('"other"', tag) and not matches(None, tag) and not matches("", tag)


async def test_version_clock_asks_once_per_ttl_and_once_for_concurrent_callers() -> None:
    calls: list[str] = []
    now = [100.0]

    async def fetch(key: str) -> int | None:
        calls.append(key)
        await asyncio.sleep(0.01)
        return 7

    clock = VersionClock(fetch, ttl=1.0, clock=lambda: now[0])
    results = await asyncio.gather(*(clock.version("A") for _ in range(50)))
    assert results == [7] * 50 and calls == ["A"]
    assert await clock.version("A") == 7 and calls == ["A"]  # within the second: no lookup
    now[0] += 1.5
    assert await clock.version("A") == 7 and calls == ["A", "A"]


async def test_version_clock_bump_is_seen_at_once_and_never_goes_back() -> None:
    async def fetch(key: str) -> int | None:
        return 1

    clock = VersionClock(fetch, ttl=60)
    assert await clock.version("A") == 1
    clock.bump("A", 5)
    assert await clock.version("A") == 5
    clock.bump("A", 3)  # an older event arriving late
    assert await clock.version("A") == 5


async def test_version_clock_passes_a_failed_lookup_to_every_waiter_and_retries_later() -> None:
    attempts = [0]

    async def fetch(key: str) -> int | None:
        attempts[0] += 1
        await asyncio.sleep(0.01)
        if attempts[0] == 1:
            raise ConnectionError("database down")
        return 2

    clock = VersionClock(fetch, ttl=60)
    results = await asyncio.gather(clock.version("A"), clock.version("A"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await clock.version("A") == 2


def test_render_cache_evicts_the_least_recently_used() -> None:
    cache: RenderCache[str, str] = RenderCache(max_entries=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"
    cache.put("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and cache.get("c") == "3"
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


@pytest.mark.parametrize("header", ['W/"abc"', '"abc"'])
def test_weak_and_strong_forms_match(header: str) -> None:
    assert matches(header, 'W/"abc"')
