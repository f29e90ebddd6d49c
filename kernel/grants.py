"""Code grants: proof, kept in a signed cookie, that this browser once gave the right code for
an object (a transfer's tracking number and verification code, later a case's).

A domain declares its grant once (cookie prefix, purpose, lifetime); the kernel's
authentication middleware exposes ``request.auth.holds(grant, subject)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from litestar.datastructures import Cookie

from accounts.tokens import sign, unsign


@dataclass(frozen=True)
class CodeGrant:
    cookie_prefix: str
    purpose: str
    ttl_seconds: int

    def cookie_name(self, subject: str) -> str:
        return f"{self.cookie_prefix}{subject}"

    def issue(self, secret: str, subject: str, version: int = 1) -> str:
        """A grant names the version of the code it was earned with: reissuing the code ends it."""
        return sign(secret, self.purpose, f"{subject}:{version}", self.ttl_seconds)

    def valid(self, secret: str, subject: str, token: str | None, version: int = 1) -> bool:
        return bool(token) and unsign(secret, self.purpose, token or "") == f"{subject}:{version}"

    def cookie(self, secret: str, subject: str, version: int, *, secure: bool) -> Cookie:
        return Cookie(key=self.cookie_name(subject), value=self.issue(secret, subject, version), path="/",
                      httponly=True, secure=secure, samesite="lax", max_age=self.ttl_seconds)

    def held(self, cookie_names: Iterable[str]) -> list[str]:
        """The grants of this kind among a request's cookies."""
        return [name for name in cookie_names if name.startswith(self.cookie_prefix)]

    def deletions(self, cookie_names: Iterable[str], *, secure: bool) -> list[Cookie]:
        """Cookies that make the browser drop every grant of this kind it holds (sign-out, "forget this device")."""
        return [Cookie(key=name, value="", path="/", httponly=True, secure=secure, samesite="lax", max_age=0,
                       expires=0) for name in self.held(cookie_names)]


__all__ = ["CodeGrant"]
