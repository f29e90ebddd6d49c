"""Who a request comes from, for per-client limits: one key for the same client everywhere.

A browser is keyed by its address (``ip:<address>``) on every page, form and API call. When
the assistant's action server calls with the service token, the client is the browser the
portal proxied the chat for: the portal signs that browser's key into the chat metadata
(``client``) and the action server sends it back as ``X-Chat-Client``. Without a valid one
the conversation's sender id is the key (``chat:<sender>``), as before.
"""

from __future__ import annotations

from typing import Any

from accounts.tokens import sign, unsign

CLIENT_PURPOSE = "chat-client"
CLIENT_TTL = 60 * 60 * 12


def client_key(request: Any) -> str:
    """The key of the client (browser) making this request."""
    client = getattr(request, "client", None)
    host = client.host if client is not None and client.host else "unknown"
    return f"ip:{host[:64]}"


def make_client_token(secret: str, key: str) -> str:
    """The signed client key the portal puts in chat metadata."""
    return sign(secret, CLIENT_PURPOSE, key.replace("|", "_"), CLIENT_TTL)


def client_from_token(secret: str, token: str | None) -> str | None:
    return unsign(secret, CLIENT_PURPOSE, token[:400]) if token else None


def service_client_key(secret: str, client_token: str | None, chat_sender: str | None) -> str:
    """The client behind a service-token call: the signed browser key, else the chat sender."""
    return client_from_token(secret, client_token) or f"chat:{(chat_sender or 'unknown')[:80]}"


__all__ = ["client_key", "make_client_token", "client_from_token", "service_client_key"]
