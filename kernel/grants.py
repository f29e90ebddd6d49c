"""Code grants: proof, kept in a signed cookie, that this browser once gave the right code for
an object (a transfer's tracking number and verification code, later a case's).

A domain declares its grant once (cookie prefix, purpose, lifetime); the kernel's
authentication middleware exposes ``request.auth.holds(grant, subject)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.tokens import sign, unsign


@dataclass(frozen=True)
class CodeGrant:
    cookie_prefix: str
    purpose: str
    ttl_seconds: int

    def cookie_name(self, subject: str) -> str:
        return f"{self.cookie_prefix}{subject}"

    def issue(self, secret: str, subject: str) -> str:
        return sign(secret, self.purpose, subject, self.ttl_seconds)

    def valid(self, secret: str, subject: str, token: str | None) -> bool:
        return bool(token) and unsign(secret, self.purpose, token or "") == subject


__all__ = ["CodeGrant"]
