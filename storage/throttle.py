"""Counting attempts per key in a shared store, to slow down guessing.

Every check is ONE atomic round trip to the store, made before the outcome of the attempt
is revealed, so parallel requests cannot slip past a limit:

- ``hit(limits)`` counts the attempt on every key (Redis ``INCR`` + ``EXPIRE`` in one Lua
  script; SQL ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in one statement) and says
  whether any key is now over its limit. Attempts are numbered by the store; the one
  numbered past the limit is refused and never evaluated.
- ``peek(limits)`` reads the counts without adding to them, for an attempt whose outcome
  the caller already knows to be a success (a verification code is compared in memory,
  before the store is asked): a success is not a failure, and it is still refused while a
  key is at its limit, so it is placed in the same order as the numbered attempts.
- ``refund``/``reset`` take an attempt back, or clear a holder's key, after a success.

Backed by Redis when REDIS_URL is set, else by the ``throttle_counter`` table, so the
counters hold across processes and replicas either way. The SQL backend runs one
autocommit statement on the app's engine: callers make the round trip while they hold no
other pooled connection (see portal/auth.py), so a full pool cannot deadlock on it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import metadata

throttle_counter = sa.Table(
    "throttle_counter",
    metadata,
    sa.Column("counter_key", sa.String(200), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),  # unix seconds
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one counted attempt: ``retry_after`` > 0 means refused."""

    retry_after: int
    counts: dict[str, int]

    @property
    def refused(self) -> bool:
        return self.retry_after > 0


class Counter(Protocol):
    async def hit(self, keys: list[str], window: int) -> list[tuple[int, int]]:
        """Add one to every key atomically; (count, seconds left) per key, in order."""

    async def peek(self, keys: list[str]) -> list[tuple[int, int]]:
        """(count, seconds left) per key, without changing anything."""

    async def refund(self, keys: list[str]) -> None:
        """Take one back from every key (never below zero)."""

    async def reset(self, keys: list[str]) -> None:
        """Forget the keys."""


class SQLCounter:
    """Counters in the ``throttle_counter`` table (PostgreSQL, or SQLite ≥ 3.35).

    Each call is one statement in autocommit mode (the upsert is atomic on its own): no
    BEGIN/COMMIT round trips, and the connection goes back to the pool at once.
    """

    PURGE_ONE_IN = 200  # now and then a hit also deletes expired rows

    def __init__(self, engine: AsyncEngine, prefix: str = "") -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")  # same pool
        self.prefix = prefix
        self._hits: dict[int, sa.TextClause] = {}
        self._peeks: dict[int, sa.TextClause] = {}

    def _hit_stmt(self, n: int) -> sa.TextClause:
        stmt = self._hits.get(n)
        if stmt is None:
            values = ", ".join(f"(:k{i}, 1, :exp)" for i in range(n))
            stmt = self._hits[n] = sa.text(
                f"INSERT INTO throttle_counter (counter_key, count, expires_at) VALUES {values} "  # noqa: S608
                "ON CONFLICT (counter_key) DO UPDATE SET "
                "count = CASE WHEN throttle_counter.expires_at <= :now THEN 1 ELSE throttle_counter.count + 1 END, "
                "expires_at = CASE WHEN throttle_counter.expires_at <= :now THEN excluded.expires_at "
                "ELSE throttle_counter.expires_at END "
                "RETURNING counter_key, count, expires_at"
            )
        return stmt

    def _peek_stmt(self, n: int) -> sa.TextClause:
        stmt = self._peeks.get(n)
        if stmt is None:
            names = ", ".join(f":k{i}" for i in range(n))
            stmt = self._peeks[n] = sa.text(
                "SELECT counter_key, count, expires_at FROM throttle_counter "  # noqa: S608
                f"WHERE counter_key IN ({names}) AND expires_at > :now"
            )
        return stmt

    async def hit(self, keys: list[str], window: int) -> list[tuple[int, int]]:
        now = int(time.time())
        ordered = sorted(keys)  # rows locked in one order: two checks never wait on each other
        params: dict[str, Any] = {f"k{i}": self.prefix + k for i, k in enumerate(ordered)}
        params.update(now=now, exp=now + window)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(self._hit_stmt(len(ordered)), params)).all()
            if random.randrange(self.PURGE_ONE_IN) == 0:  # noqa: S311 - not security relevant
                await conn.execute(sa.delete(throttle_counter).where(throttle_counter.c.expires_at <= now))
        found = {row[0]: (int(row[1]), max(1, int(row[2]) - now)) for row in rows}
        return [found[self.prefix + k] for k in keys]

    async def peek(self, keys: list[str]) -> list[tuple[int, int]]:
        now = int(time.time())
        params: dict[str, Any] = {f"k{i}": self.prefix + k for i, k in enumerate(keys)}
        params["now"] = now
        async with self.engine.connect() as conn:
            rows = (await conn.execute(self._peek_stmt(len(keys)), params)).all()
        found = {row[0]: (int(row[1]), int(row[2]) - now) for row in rows}
        return [found.get(self.prefix + k, (0, 0)) for k in keys]

    async def refund(self, keys: list[str]) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(
                sa.update(throttle_counter)
                .where(throttle_counter.c.counter_key.in_([self.prefix + k for k in keys]),
                       throttle_counter.c.count > 0)
                .values(count=throttle_counter.c.count - 1)
            )

    async def reset(self, keys: list[str]) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.delete(throttle_counter)
                               .where(throttle_counter.c.counter_key.in_([self.prefix + k for k in keys])))


# KEYS: the counters; ARGV[1]: the window in seconds. Returns count, ttl, count, ttl, ...
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if n == 1 or ttl < 0 then
    redis.call('EXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""
_PEEK = """
local out = {}
for i, key in ipairs(KEYS) do
  out[#out + 1] = tonumber(redis.call('GET', key) or '0')
  out[#out + 1] = redis.call('TTL', key)
end
return out
"""
_REFUND = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class RedisCounter:
    """Counters in Redis, each check one script call (one round trip)."""

    def __init__(self, url: str, prefix: str = "portal_throttle:") -> None:
        from redis.asyncio import Redis

        # A Redis that stops answering fails a check in 2 s (a 503 with Retry-After), never hangs a request.
        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._hit = self.redis.register_script(_HIT)
        self._peek = self.redis.register_script(_PEEK)
        self._refund = self.redis.register_script(_REFUND)

    @staticmethod
    def _pairs(raw: list[Any]) -> list[tuple[int, int]]:
        return [(int(raw[i]), int(raw[i + 1])) for i in range(0, len(raw), 2)]

    async def hit(self, keys: list[str], window: int) -> list[tuple[int, int]]:
        return self._pairs(await self._hit(keys=[self.prefix + k for k in keys], args=[window]))

    async def peek(self, keys: list[str]) -> list[tuple[int, int]]:
        return self._pairs(await self._peek(keys=[self.prefix + k for k in keys]))

    async def refund(self, keys: list[str]) -> None:
        await self._refund(keys=[self.prefix + k for k in keys])

    async def reset(self, keys: list[str]) -> None:
        await self.redis.delete(*[self.prefix + k for k in keys])

    async def aclose(self) -> None:
        await self.redis.aclose()


class Throttle:
    """Limits per key over a fixed window; ``limit`` is the default for keys given without one."""

    def __init__(self, counter: Counter, *, limit: int, window_seconds: int) -> None:
        self.counter = counter
        self.limit = limit
        self.window = window_seconds

    def _verdict(self, limits: dict[str, int], found: list[tuple[int, int]], *, counted: bool) -> Verdict:
        wait = 0
        for limit, (count, ttl) in zip(limits.values(), found, strict=True):
            # A counted attempt is refused past the limit; a success (not counted) while at it.
            if count > limit or (not counted and count >= limit):
                wait = max(wait, ttl if ttl > 0 else self.window)
        return Verdict(wait, {key: count for key, (count, _) in zip(limits, found, strict=True)})

    async def hit(self, limits: dict[str, int]) -> Verdict:
        """Count one attempt on every key (one atomic round trip), before evaluating it."""
        found = await self.counter.hit(list(limits), self.window)
        return self._verdict(limits, found, counted=True)

    async def peek(self, limits: dict[str, int]) -> Verdict:
        """May a success be revealed? Refused while any key is at its limit."""
        found = await self.counter.peek(list(limits))
        return self._verdict(limits, found, counted=False)

    async def refund(self, keys: list[str]) -> None:
        if keys:
            await self.counter.refund(keys)

    async def reset(self, keys: list[str]) -> None:
        if keys:
            await self.counter.reset(keys)
