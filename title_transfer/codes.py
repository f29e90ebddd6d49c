"""Tracking numbers and verification codes printed on the sale confirmation."""

from __future__ import annotations

import hmac
import re
import secrets

from accounts.tokens import digest

TRACKING_RE = re.compile(r"^ZT\d{10}$")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 8
_SEPARATORS = re.compile(r"[\s\-_]+")


class MalformedTrackingNumber(ValueError):
    pass


def normalise_tracking_no(raw: str) -> str:
    """Upper-case, without spaces or dashes; raises if it cannot be a tracking number."""
    value = _SEPARATORS.sub("", raw or "").upper()
    if not TRACKING_RE.match(value):
        raise MalformedTrackingNumber(raw)
    return value


def format_tracking_no(year: int, sequence: int) -> str:
    return f"ZT{year:04d}{sequence:06d}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "").upper()[:64]


def code_digest(secret: str, tracking_no: str, code: str) -> str:
    return digest(secret, "verification-code", f"{tracking_no}:{normalise_code(code)}")


def code_matches(secret: str, tracking_no: str, code: str, stored_digest: str) -> bool:
    return hmac.compare_digest(code_digest(secret, tracking_no, code), stored_digest)
