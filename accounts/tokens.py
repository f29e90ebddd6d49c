"""Short signed tokens (HMAC-SHA256) for grants that must not need a database read.

Used for the tracking-page grant after a verification code was accepted, and for the
identity the portal hands the chat assistant. Each purpose has its own derived key, so a
token minted for one purpose is worthless for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from functools import lru_cache


@lru_cache(maxsize=64)
def _key(secret: str, purpose: str) -> bytes:
    # Derived once per (secret, purpose): a grant or identity is checked on every request that carries one.
    return hmac.digest(secret.encode(), f"purpose:{purpose}".encode(), "sha256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(secret: str, purpose: str, payload: str, ttl_seconds: int, now: float | None = None) -> str:
    if "|" in payload:
        raise ValueError("payload must not contain '|'")
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    body = f"{payload}|{expires}"
    mac = hmac.digest(_key(secret, purpose), body.encode(), "sha256")
    return f"{_b64(body.encode())}.{_b64(mac)}"


def unsign(secret: str, purpose: str, token: str, now: float | None = None) -> str | None:
    """The payload if the token is genuine, for this purpose and not expired; else None."""
    try:
        body_b64, mac_b64 = token.split(".", 1)
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4)).decode()
        mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
    except (ValueError, UnicodeDecodeError):
        return None
    expected = hmac.digest(_key(secret, purpose), body.encode(), "sha256")
    if not hmac.compare_digest(mac, expected):
        return None
    payload, _, expires = body.rpartition("|")
    try:
        if int(expires) < (now if now is not None else time.time()):
            return None
    except ValueError:
        return None
    return payload


def digest(secret: str, purpose: str, message: str) -> str:
    return hmac.new(_key(secret, purpose), message.encode(), hashlib.sha256).hexdigest()
