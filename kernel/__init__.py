"""The shared web kernel: who is calling (authentication middleware and guards), what a
handler may ask for (dependency providers), and one bilingual error family with one
exception handler. Domains import it; it imports only storage/ and accounts/.
"""

from kernel.auth import Auth, KernelAuthenticationMiddleware, principal_from_session
from kernel.errors import BilingualError, Throttled, error_view, exception_handler, exception_handlers
from kernel.grants import CodeGrant
from kernel.guards import requires_caller, requires_service, requires_signed_in, requires_staff

__all__ = [
    "Auth",
    "BilingualError",
    "CodeGrant",
    "KernelAuthenticationMiddleware",
    "Throttled",
    "error_view",
    "exception_handler",
    "exception_handlers",
    "principal_from_session",
    "requires_caller",
    "requires_service",
    "requires_signed_in",
    "requires_staff",
]
