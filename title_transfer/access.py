"""Who may see a transfer, and the throttled check of a verification code.

A transfer is visible to its buyer (signed in), to whoever proved the verification code
(a signed grant cookie afterwards, or the code in a header on each API call), to staff
of a department that owns one of its steps, and to administrators. Unknown numbers and
wrong codes get the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The service token and citizen identity moved to accounts.identity (the queue needs them too);
# re-exported here for existing callers.
from accounts.identity import (  # noqa: F401
    CITIZEN_PURPOSE,
    CITIZEN_TTL,
    citizen_from_token,
    make_citizen_token,
    service_token_ok,
)
from accounts.principal import Principal
from kernel.grants import CodeGrant
from storage.errors import Throttled
from storage.throttle import Throttle
from title_transfer import codes
from title_transfer.read import TransferRecord, fetch_transfer

GRANT_PURPOSE = "tracking-grant"
GRANT_TTL = 60 * 60 * 24 * 30  # the buyer keeps access on this device for 30 days
# Proof of the code, kept by the browser; checked through request.auth.holds(TRACKING_GRANT, number).
TRACKING_GRANT = CodeGrant(cookie_prefix="tt_", purpose=GRANT_PURPOSE, ttl_seconds=GRANT_TTL)


def grant_cookie_name(tracking_no: str) -> str:
    return TRACKING_GRANT.cookie_name(tracking_no)


def make_grant(secret: str, tracking_no: str) -> str:
    return TRACKING_GRANT.issue(secret, tracking_no)


def grant_valid(secret: str, tracking_no: str, token: str | None) -> bool:
    return TRACKING_GRANT.valid(secret, tracking_no, token)


def principal_may_view(principal: Principal | None, record: TransferRecord) -> bool:
    if principal is None:
        return False
    if principal.is_admin or principal.user_id == record.buyer_id:
        return True
    return principal.is_staff and any(s.department == principal.department for s in record.view.steps)


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


async def may_act_on(engine: Any, checker: CodeChecker, tracking_no: str, code: str | None,
                     citizen_id: int | None, client_key: str) -> TransferRecord | None:
    """The transfer, if whoever asks holds its verification code (throttled) or is its buyer."""
    record = await fetch_transfer(engine, tracking_no)
    if code:
        # Throttled (shared with the tracking page) propagates to the caller as it is.
        ok = await checker.check(record, tracking_no, code, client_key)
        return record if ok else None
    if record is None or citizen_id is None or record.buyer_id != citizen_id:
        return None
    return record
