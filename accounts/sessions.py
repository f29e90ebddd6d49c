"""Whether a signed-in session still speaks for its user.

A session records the user's ``session_version`` at sign-in. Deactivating the account,
changing its role, department or password bumps that version (a database trigger, so
every path counts: the portal, a script, an operator's SQL), and an administrator may bump
it to end every session at once. Each request compares the two; the user's row is cached
in-process for a few seconds, so a change made on another replica takes effect there
within ``ttl`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.models import User
from accounts.principal import Principal

SESSION_KEY = "principal"
VERSION_KEY = "sv"




def session_payload(user: User) -> dict[str, Any]:
    """What a session stores at sign-in: who, and the version it was issued under."""
    return {
        SESSION_KEY: {"user_id": user.id, "role": user.role, "display_name": user.display_name,
                      "department": user.department},
        VERSION_KEY: user.session_version,
    }


async def end_sessions(db: AsyncSession, user_id: int) -> bool:
    """End every session of a user (on every replica within the checker's ttl). False if no such user."""
    result = await db.execute(update(User).where(User.id == user_id)
                              .values(session_version=User.session_version + 1))
    return bool(getattr(result, "rowcount", 0))


@dataclass
class SessionChecker:
    engine: AsyncEngine
    ttl: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[int, tuple[float, Principal | None, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def expire_cache(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._cache.clear()
        else:
            self._cache.pop(user_id, None)

    async def _current(self, user_id: int) -> tuple[Principal | None, int]:
        now = self.clock()
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        async with self._reader.connect() as conn:
            row = (await conn.execute(
                select(User.is_active, User.session_version, User.role, User.department, User.display_name)
                .where(User.id == user_id))).first()
        if row is None or not row.is_active:
            principal, version = None, -1
        else:
            principal = Principal(user_id=user_id, role=row.role, display_name=row.display_name,
                                  department=row.department)
            version = int(row.session_version)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (now + self.ttl, principal, version)
        return principal, version

    async def principal(self, session: Any) -> Principal | None:
        """The session's person as the database knows them now, or None if the session no longer holds."""
        if not isinstance(session, dict):
            return None
        raw, version = session.get(SESSION_KEY), session.get(VERSION_KEY)
        if not isinstance(raw, dict) or not isinstance(version, int) or isinstance(version, bool):
            return None
        user_id = raw.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        principal, current = await self._current(user_id)
        if principal is None or current != version:
            return None
        return principal
