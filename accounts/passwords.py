from __future__ import annotations

import asyncio

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# A hash to verify against when the account does not exist, so the response time does
# not tell whether an e-mail address is registered.
_DUMMY = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Hashing runs in worker threads, a few at a time (it takes tens of milliseconds of CPU
# each): the event loop keeps serving while a sign-in waits. One limiter per event loop.
HASH_THREADS = 4
_limiters: dict[int, tuple[object, anyio.CapacityLimiter]] = {}


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    entry = _limiters.get(id(loop))
    if entry is None or entry[0] is not loop:
        entry = (loop, anyio.CapacityLimiter(HASH_THREADS))
        _limiters.clear()  # tests make a loop per test; a process serves from one
        _limiters[id(loop)] = entry
    return entry[1]


async def check_password(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in the bounded thread pool."""
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=_limiter())


async def make_password_hash(password: str) -> str:
    """``hash_password`` in the bounded thread pool."""
    return await anyio.to_thread.run_sync(hash_password, password, limiter=_limiter())
