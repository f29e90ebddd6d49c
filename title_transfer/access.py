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


def principal_may_view(principal: Principal | None, record: TransferRecord) -> bool:
    if principal is None:
        return False
    if principal.is_admin or principal.user_id == record.buyer_id:
        return True
    return principal.is_staff and any(s.department == principal.department for s in record.view.steps)


# Limits per throttle window (THROTTLE_WINDOW_SECONDS), in multiples of THROTTLE_FAILURES
# (5 by default): a client (a browser's address, or a chat without one) may fail 20 times,
# across numbers; one number may take 100 wrong codes from everyone together. The number's
# cap only bounds a distributed attack (see docs/security.md, "Limits and their numbers"):
# it is high so that a stranger who knows a tracking number cannot easily lock its holder out.
CLIENT_LIMIT_FACTOR = 4
NUMBER_LIMIT_FACTOR = 20


@dataclass
class CodeChecker:
    secret: str
    throttle: Throttle

    def limits(self, tracking_no: str, client_key: str) -> dict[str, int]:
        return {f"code:no:{tracking_no}": self.throttle.limit * NUMBER_LIMIT_FACTOR,
                f"code:client:{client_key}": self.throttle.limit * CLIENT_LIMIT_FACTOR}

    async def check(self, record: TransferRecord | None, tracking_no: str, code: str, client_key: str) -> bool:
        """True when the code opens this transfer. Raises Throttled after repeated failures.

        One round trip to the counters per check. The code is compared in memory first (an
        HMAC: the result stays here until the counters agree): a wrong code is counted
        atomically, and its answer given only if the count is within every limit; a right
        code counts nothing, and is refused too while a limit is reached.
        """
        ok = record is not None and codes.code_matches(self.secret, tracking_no, code, record.code_digest)
        limits = self.limits(tracking_no, client_key)
        verdict = await (self.throttle.peek(limits) if ok else self.throttle.hit(limits))
        if verdict.refused:
            raise Throttled(verdict.retry_after)
        number_key = f"code:no:{tracking_no}"
        if ok and verdict.counts.get(number_key):
            await self.throttle.reset([number_key])  # the holder proved the code: strangers' misses go
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
