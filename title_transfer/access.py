"""Who may see a transfer, and the throttled check of a verification code.

A transfer is visible to its buyer (signed in), to whoever proved the verification code
(a signed grant cookie afterwards, or the code in a header on each API call), to staff
of a department that owns one of its steps, and to administrators. Unknown numbers and
wrong codes get the same answer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from accounts.principal import Principal
from accounts.tokens import sign, unsign
from storage.throttle import Throttle
from title_transfer import codes
from title_transfer.read import TransferRecord

GRANT_PURPOSE = "tracking-grant"
CITIZEN_PURPOSE = "citizen-identity"
GRANT_TTL = 60 * 60 * 24 * 30  # the buyer keeps access on this device for 30 days
CITIZEN_TTL = 60 * 60 * 12


def grant_cookie_name(tracking_no: str) -> str:
    return f"tt_{tracking_no}"


def make_grant(secret: str, tracking_no: str) -> str:
    return sign(secret, GRANT_PURPOSE, tracking_no, GRANT_TTL)


def grant_valid(secret: str, tracking_no: str, token: str | None) -> bool:
    return bool(token) and unsign(secret, GRANT_PURPOSE, token or "") == tracking_no


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


def principal_may_view(principal: Principal | None, record: TransferRecord) -> bool:
    if principal is None:
        return False
    if principal.is_admin or principal.user_id == record.buyer_id:
        return True
    return principal.is_staff and any(s.department == principal.department for s in record.view.steps)


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


# A client (an IP address or a chat sender) may fail more often than one number may,
# since many people share an address; a number is what guessing attacks.
CLIENT_LIMIT_FACTOR = 4


@dataclass
class CodeChecker:
    secret: str
    throttle: Throttle

    def __post_init__(self) -> None:
        self.client_throttle = Throttle(self.throttle.store, limit=self.throttle.limit * CLIENT_LIMIT_FACTOR,
                                        window_seconds=self.throttle.window)

    async def check(self, record: TransferRecord | None, tracking_no: str, code: str, client_key: str) -> bool:
        """True when the code opens this transfer. Raises Throttled after repeated failures."""
        number_keys = [f"code:no:{tracking_no}"]
        client_keys = [f"code:client:{client_key}"]
        wait = max(await self.throttle.retry_after(number_keys), await self.client_throttle.retry_after(client_keys))
        if wait:
            raise Throttled(wait)
        ok = record is not None and codes.code_matches(self.secret, tracking_no, code, record.code_digest)
        if not ok:
            await self.throttle.fail(number_keys)
            await self.client_throttle.fail(client_keys)
        return ok
