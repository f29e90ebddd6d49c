"""Case query codes (案件查询码): printed on the notice each party receives; stored as digests."""

from __future__ import annotations

import hmac
import re
import secrets

from accounts.tokens import digest

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 8
_SEPARATORS = re.compile(r"[\s\-_\u3000]+")
PURPOSE = "case-query-code"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    return _SEPARATORS.sub("", raw or "").upper()[:64]


def code_digest(secret: str, case_number: str, code: str) -> str:
    """Keyed digest of the code, bound to the case (the same code on two cases digests differently)."""
    return digest(secret, PURPOSE, f"{case_number}:{normalise_code(code)}")


def code_matches(secret: str, case_number: str, code: str, stored: str | None) -> bool:
    # Compared even without a stored digest, so a missing case costs the same work as a wrong code.
    return hmac.compare_digest(code_digest(secret, case_number, code), stored or "0" * 64) and stored is not None
