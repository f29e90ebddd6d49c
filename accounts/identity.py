"""Who is calling the API on whose behalf: the service token of the assistant's action
server, and the signed citizen identity the portal hands the assistant.

Shared by every domain that serves the assistant (title transfer, back-office queue), so
it lives with the accounts rather than in any one of them.
"""

from __future__ import annotations

import hmac

from accounts.tokens import sign, unsign

CITIZEN_PURPOSE = "citizen-identity"
CITIZEN_TTL = 60 * 60 * 12


def make_citizen_token(secret: str, user_id: int) -> str:
    """The signed identity the portal puts in chat metadata for a signed-in person."""
    return sign(secret, CITIZEN_PURPOSE, str(user_id), CITIZEN_TTL)


def citizen_from_token(secret: str, token: str | None) -> int | None:
    payload = unsign(secret, CITIZEN_PURPOSE, token or "") if token else None
    return int(payload) if payload and payload.isdigit() else None


def service_token_ok(expected: str, authorization: str | None) -> bool:
    if not authorization or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), expected.encode())


__all__ = ["CITIZEN_PURPOSE", "CITIZEN_TTL", "make_citizen_token", "citizen_from_token", "service_token_ok"]
