"""Who may see a transfer, and the throttled check of a verification code.

A transfer is visible to its buyer (signed in), to whoever proved the verification code
(a signed grant cookie afterwards, or the code in a header on each API call), to staff
of a department that owns one of its steps, and to administrators. Unknown numbers and
wrong codes get the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from litestar.datastructures import Cookie

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
from accounts.tokens import sign, unsign
from storage.errors import Throttled
from storage.throttle import Throttle
from title_transfer import codes
from title_transfer.read import TransferRecord

GRANT_PURPOSE = "tracking-grant"
GRANT_TTL = 60 * 60 * 24 * 30  # the buyer keeps access on this device for 30 days


GRANT_PREFIX = "tt_"


def grant_cookie_name(tracking_no: str) -> str:
    return f"{GRANT_PREFIX}{tracking_no}"


def grant_cookie_names(cookie_names: Iterable[str]) -> list[str]:
    """The tracking grants among a request's cookies (to clear them at sign-out or on "forget this device")."""
    return [name for name in cookie_names if name.startswith(GRANT_PREFIX)]


def grant_deletions(cookie_names: Iterable[str], *, secure: bool) -> list[Cookie]:
    """Cookies that make the browser drop its tracking grants (at sign-out and on "forget this device")."""
    return [Cookie(key=name, value="", path="/", httponly=True, secure=secure, samesite="lax", max_age=0, expires=0)
            for name in grant_cookie_names(cookie_names)]


def make_grant(secret: str, tracking_no: str, code_version: int = 1) -> str:
    """A grant names the code version it was earned with: reissuing the code ends it."""
    return sign(secret, GRANT_PURPOSE, f"{tracking_no}:{code_version}", GRANT_TTL)


def grant_valid(secret: str, tracking_no: str, token: str | None, code_version: int = 1) -> bool:
    return bool(token) and unsign(secret, GRANT_PURPOSE, token or "") == f"{tracking_no}:{code_version}"


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
