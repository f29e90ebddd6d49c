"""Litestar guards for the three kinds of caller. Use them in route decorators or a
controller's ``guards=[...]``; handlers then read ``request.user`` / the ``principal``
dependency, already checked.

Guards are ``async def``: Litestar runs a plain ``def`` guard in a worker thread, a thread
hand-off on every request (it cost the service-token API a third of its throughput);
``tests/kernel/test_guards_async.py`` fails on any route whose guard is not a coroutine.

A guard's refusal is an HTTPException: the kernel's exception handler sends a browser to
the sign-in page for 401 and renders 403 as a page, or as JSON under /api/.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from kernel.auth import auth_of, principal_of
from kernel.i18n import N_

Connection = ASGIConnection[Any, Any, Any, Any]


async def requires_signed_in(connection: Connection, _: BaseRouteHandler) -> None:
    """A person signed in with a session."""
    if principal_of(connection) is None:
        raise NotAuthorizedException(detail="sign in first")


def requires_staff(department: str | None = None) -> Guard:
    """Department staff (or an administrator); with ``department``, staff of that department only."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        who = principal_of(connection)
        if who is None:
            raise NotAuthorizedException(detail="sign in first")
        if not (who.is_staff or who.is_admin):
            raise PermissionDeniedException(detail=N_("Department staff only."))
        if department is not None and not who.works_for(department):
            raise PermissionDeniedException(detail=N_("This page belongs to another department's staff."))

    guard.__name__ = f"requires_staff_{department or 'any'}"
    return guard


async def requires_admin(connection: Connection, _: BaseRouteHandler) -> None:
    """An administrator (user management, who works at which court)."""
    who = principal_of(connection)
    if who is None:
        raise NotAuthorizedException(detail="sign in first")
    if not who.is_admin:
        raise PermissionDeniedException(detail="administrators only")


async def requires_service(connection: Connection, _: BaseRouteHandler) -> None:
    """The assistant's action server, with a valid service token (and citizen token, if sent)."""
    auth = auth_of(connection)
    if auth.refused is not None:
        raise auth.refused
    if not auth.as_service:
        raise NotAuthorizedException(detail="call with the service token")


def requires_token(scope: str) -> Guard:
    """A system calling with the scoped token named ``scope`` (e.g. ``case_ingest``): the only
    credential these routes take; the assistant's service token is refused (403)."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        auth = auth_of(connection)
        if auth.via == "token" and auth.token_scope == scope:
            return
        if auth.as_service and auth.refused is None:
            raise PermissionDeniedException(detail=f"the service token cannot call this: use the {scope} token")
        raise NotAuthorizedException(detail=f"call with the {scope} token")

    guard.__name__ = f"requires_token_{scope}"
    return guard


async def requires_caller(connection: Connection, _: BaseRouteHandler) -> None:
    """Either a signed-in person or the service: the API routes a browser and the assistant share."""
    auth = auth_of(connection)
    if auth.refused is not None:
        raise auth.refused
    if not auth.as_service and principal_of(connection) is None:
        raise NotAuthorizedException(detail="sign in, or call with the service token")


async def checks_credentials(connection: Connection, _: BaseRouteHandler) -> None:
    """Anyone may call, but a credential that was sent must hold (a wrong service token is 401)."""
    auth = auth_of(connection)
    if auth.refused is not None:
        raise auth.refused


__all__ = ["checks_credentials", "requires_admin", "requires_caller", "requires_service", "requires_signed_in", "requires_staff",
           "requires_token"]
