"""A small client for the portal's JSON API.

Every call carries the service token and names the person the bot acts for: a
signed identity from the portal (``X-Citizen-Token``) or, for a transfer lookup by
someone not signed in, the verification code they typed (``X-Verification-Code``).
``X-Chat-Sender`` lets the portal throttle per conversation like it throttles the
web. A response is success only when its status is 2xx: callers get the status,
the parsed body and Retry-After, and ``status is None`` means the portal could not
be reached or did not answer within the timeout.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"
DEFAULT_SERVICE_TOKEN = "dev-service-token"
DEFAULT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PortalSettings:
    base_url: str
    service_token: str
    timeout_s: float

    @classmethod
    def from_env(cls) -> PortalSettings:
        """Read PORTAL_URL, PORTAL_SERVICE_TOKEN and PORTAL_TIMEOUT_S (seconds)."""
        return cls(
            base_url=os.environ.get("PORTAL_URL", DEFAULT_PORTAL_URL).rstrip("/"),
            service_token=os.environ.get("PORTAL_SERVICE_TOKEN", DEFAULT_SERVICE_TOKEN),
            timeout_s=float(os.environ.get("PORTAL_TIMEOUT_S", DEFAULT_TIMEOUT_S)),
        )


@dataclass
class PortalResponse:
    status: int | None
    body: Any = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unreachable(self) -> bool:
        """Down, timed out, or a server error: worth trying again later."""
        return self.status is None or self.status >= 500

    def field_errors(self) -> list[dict[str, str]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("errors"), list):
            return [e for e in self.body["errors"] if isinstance(e, dict)]
        return []


# One HTTP session (and its keep-alive connections to the portal) per event loop, for every
# call: a session per call opened and closed a TCP connection each time, on both sides.
# Idle connections are dropped after 2 s, before the portal (uvicorn: 5 s) may close them.
KEEPALIVE_S = 2.0
_shared: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None


def _session() -> aiohttp.ClientSession:
    global _shared
    loop = asyncio.get_running_loop()
    if _shared is None or _shared[0] is not loop or _shared[1].closed:
        connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S, limit=100)
        _shared = (loop, aiohttp.ClientSession(connector=connector))
    return _shared[1]


class PortalClient:
    """Calls the portal on behalf of one chat sender."""

    def __init__(self, sender_id: str, settings: PortalSettings | None = None, client: str | None = None):
        self.sender_id = sender_id
        self.client = client  # the browser's signed client key, from the portal's metadata
        self.settings = settings or PortalSettings.from_env()

    def _headers(
        self,
        identity: str | None = None,
        verification_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.settings.service_token}",
            "X-Chat-Sender": self.sender_id,
            "Accept": "application/json",
        }
        if self.client:
            headers["X-Chat-Client"] = self.client
        if identity:
            headers["X-Citizen-Token"] = identity
        elif verification_code:
            headers["X-Verification-Code"] = verification_code
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        payload: dict[str, Any] | None = None,
    ) -> PortalResponse:
        url = f"{self.settings.base_url}{path}"
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        try:
            async with _session().request(
                method, url, headers=headers, json=payload, timeout=timeout
            ) as resp:
                raw = await resp.read()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
                return PortalResponse(resp.status, body, retry_after)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            logger.warning("portal %s %s unreachable: %r", method, path, exc)
            return PortalResponse(None)

    async def get_transfer(
        self,
        tracking_no: str,
        identity: str | None = None,
        verification_code: str | None = None,
    ) -> PortalResponse:
        """GET /api/v1/transfers/{tracking_no}; needs an identity or a code."""
        return await self._request(
            "GET",
            f"/api/v1/transfers/{quote(tracking_no, safe='')}",
            self._headers(identity=identity, verification_code=verification_code),
        )

    async def lookup_case(self, case_number: str, id_number: str, query_code: str, language: str = "zh",
                          ) -> PortalResponse:
        """POST /api/v1/cases/lookup: a creditor's case by case number + ID number + case query code
        (labels in ``language``)."""
        return await self._request("POST", "/api/v1/cases/lookup", self._headers(),
                                   payload={"case_number": case_number, "id_number": id_number,
                                            "query_code": query_code, "language": language})

    async def get_my_cases(self, identity: str, language: str = "zh") -> PortalResponse:
        """GET /api/v1/cases/mine for the signed-in person: {"cases": [...]}."""
        return await self._request("GET", f"/api/v1/cases/mine?language={quote(language)}",
                                   self._headers(identity=identity))

    async def lookup_payout(self, batch_code: str, id_number: str, language: str = "zh") -> PortalResponse:
        """POST /api/v1/payouts/lookup: a payee's payout by batch code + ID number."""
        return await self._request("POST", "/api/v1/payouts/lookup", self._headers(),
                                   payload={"batch_code": batch_code, "id_number": id_number, "lang": language})

    async def get_lot(self, lot_no: str) -> PortalResponse:
        """GET /api/v1/lots/{lot_no}: a lot with its departments' findings (public)."""
        return await self._request("GET", f"/api/v1/lots/{quote(lot_no, safe='')}", self._headers())

    async def get_form_schema(self, kind: str) -> PortalResponse:
        """GET /api/v1/forms/{kind}: fields, types, labels and help text."""
        return await self._request(
            "GET", f"/api/v1/forms/{quote(kind, safe='')}", self._headers()
        )

    async def submit(
        self,
        kind: str,
        data: dict[str, Any],
        idempotency_key: str,
        language: str,
        transcript: list[dict[str, str]] | None = None,
        identity: str | None = None,
    ) -> PortalResponse:
        """POST /api/v1/submissions with an Idempotency-Key."""
        body: dict[str, Any] = {
            "kind": kind,
            "data": data,
            "channel": "chat",
            "language": language,
        }
        if transcript is not None:
            body["transcript"] = transcript
        return await self._request(
            "POST",
            "/api/v1/submissions",
            self._headers(identity=identity, idempotency_key=idempotency_key),
            payload=body,
        )


def _parse_retry_after(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return max(0, int(float(value)))
    except ValueError:
        return None
