"""Who is calling: the one place a request's credentials become ``request.user`` / ``request.auth``.

* a signed-in session → ``request.user`` is the :class:`~accounts.principal.Principal`;
* the assistant's service token (``Authorization: Bearer …``), optionally naming a citizen
  with a signed ``X-Citizen-Token`` → ``request.auth.via == "service"``;
* a scoped system token (``Authorization: Bearer …``, e.g. the court's case system's ingest
  token, settings ``scoped_tokens``) → ``request.auth.via == "token"`` and
  ``request.auth.token_scope`` its name: only routes guarded by
  :func:`kernel.guards.requires_token` with that scope accept it (not ``as_service``);
* a code grant cookie → ``request.auth.holds(grant, subject)``.

Anonymous requests pass with ``user`` None: guards (:mod:`kernel.guards`) decide. A
credential that was sent but does not hold is remembered in ``auth.refused`` and raised by
the guards of routes that accept that credential, so pages that ignore it are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from accounts.clients import client_key, service_client_key
from accounts.identity import citizen_from_token, service_token_ok
from accounts.principal import Principal
from accounts.sessions import SESSION_KEY, SessionChecker
from kernel.grants import CodeGrant

CHAT_SENDER_MAX = 80


async def principal_from_session(scope: Any, checker: SessionChecker) -> Principal | None:
    """The one place a session becomes a Principal, re-checked against the user's row.

    The session's version must equal the user's current ``session_version`` (bumped by
    deactivation, role, department or password changes, and by an administrator ending the
    user's sessions), and the account must be active; the Principal is built from the row as
    it is now (cached in-process for a few seconds, ``SessionChecker.ttl``). A session that no
    longer holds is emptied, so its stored entry is deleted and the cookie dropped.
    """
    session = scope.get("session")
    if not isinstance(session, dict) or SESSION_KEY not in session:
        return None
    principal = await checker.principal(session)
    if principal is None:
        scope["session"] = {}
    return principal


@dataclass(frozen=True)
class Auth:
    """How the caller proved who they are (``request.auth``)."""

    via: Literal["anonymous", "session", "service", "token"]
    client_key: str  # what per-client throttles count (accounts.clients): ``ip:<address>``, or the chat's browser
    citizen_id: int | None = None  # the signed-in person, or the citizen the service names
    chat_sender: str | None = None
    refused: HTTPException | None = None  # a credential was sent and did not hold
    secret: str = field(default="", repr=False)
    cookies: Mapping[str, str] = field(default_factory=dict, repr=False)
    token_scope: str | None = None  # via "token": which scoped token was sent

    @property
    def as_service(self) -> bool:
        return self.via == "service"

    def holds(self, grant: CodeGrant, subject: str, version: int = 1) -> bool:
        """True when this browser carries a valid grant of this kind for ``subject`` (at the code's ``version``)."""
        return grant.valid(self.secret, subject, self.cookies.get(grant.cookie_name(subject)), version)


async def resolve(connection: ASGIConnection[Any, Any, Any, Any], *, secret: str, service_token: str,
                  checker: SessionChecker, scoped_tokens: Mapping[str, str] | None = None) -> AuthenticationResult:
    """Resolve the caller of one request (also usable outside the middleware, e.g. in tests)."""
    headers = connection.headers
    cookies = connection.cookies
    authorization = headers.get("authorization")
    if authorization is not None:
        for scope, scoped in (scoped_tokens or {}).items():
            if scoped and service_token_ok(scoped, authorization):  # never a session, never the assistant
                return AuthenticationResult(user=None, auth=Auth("token", client_key(connection), secret=secret,
                                                                 token_scope=scope))
        sender = (headers.get("x-chat-sender") or "unknown")[:CHAT_SENDER_MAX]
        refused: HTTPException | None = None
        citizen_id: int | None = None
        if not service_token_ok(service_token, authorization):
            refused = NotAuthorizedException(detail="invalid service token")
        else:
            token = headers.get("x-citizen-token")
            if token:
                citizen_id = citizen_from_token(secret, token)
                if citizen_id is None:
                    refused = PermissionDeniedException(detail="citizen token invalid or expired")
        # The browser the portal proxied the chat for (signed into the chat's metadata), else the sender.
        client = service_client_key(secret, headers.get("x-chat-client"), sender)
        auth = Auth("service", client, citizen_id, sender, refused, secret, cookies)
        # A service call never acts as the browser's signed-in person.
        return AuthenticationResult(user=None, auth=auth)
    user = await principal_from_session(connection.scope, checker)
    via: Literal["anonymous", "session"] = "session" if user is not None else "anonymous"
    auth = Auth(via, client_key(connection), user.user_id if user else None, None, None, secret, cookies)
    return AuthenticationResult(user=user, auth=auth)


class KernelAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Litestar authentication middleware; runs on every HTTP request (OPTIONS included)."""

    def __init__(self, app: ASGIApp, *, secret: str, service_token: str, checker: SessionChecker,
                 scoped_tokens: Mapping[str, str] | None = None) -> None:
        super().__init__(app, exclude_http_methods=(), scopes=None)
        self.secret = secret
        self.service_token = service_token
        self.checker = checker
        self.scoped_tokens = {k: v for k, v in (scoped_tokens or {}).items() if v}

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        return await resolve(connection, secret=self.secret, service_token=self.service_token, checker=self.checker,
                             scoped_tokens=self.scoped_tokens)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """``request.user`` when it is a Principal (None on apps without the middleware)."""
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else None


def auth_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Auth:
    auth = connection.scope.get("auth")
    if isinstance(auth, Auth):
        return auth
    who = principal_of(connection)
    return Auth("session" if who else "anonymous", client_key(connection), who.user_id if who else None)


__all__ = ["Auth", "KernelAuthenticationMiddleware", "auth_of", "principal_from_session",
           "principal_of", "resolve"]
