"""The chat benchmark's simulated browser: the portal's lean HTTP/1.1 client (portal/http1.py:
keep-alive, an asyncio Protocol per connection) with a cookie jar, fixed headers and gzip.

The chat benchmark counts the CPU every process spends per turn, its own client's included;
with httpx that client spent milliseconds per request (models, header validation, cookie jar,
connection pool, anyio), a sizeable part of what two cores give. This spends tens of
microseconds.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import urlencode

from portal.http1 import Answer, ConnectionPool, HTTPFailure

__all__ = ["Answer", "Client", "HTTPFailure"]


class Client:
    """One person's browser: a base URL, headers sent with every request, its cookies."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Accept-Encoding": "gzip", **(headers or {})}.items())
        self.cookies: dict[str, str] = {}
        self._pool = ConnectionPool(limit=1, idle_seconds=25.0)  # (uvicorn keeps an idle connection 30 s here)

    async def request(self, method: str, path: str, *, body: bytes = b"", content_type: str | None = None,
                      headers: dict[str, str] | None = None) -> Answer:
        extra = self._fixed + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        if self.cookies:
            extra += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        answer = await self._pool.request(method, self.base_url + path, body=body, content_type=content_type,
                                          headers=extra, wait=self.timeout)
        for name, value in answer.headers:
            if name == "set-cookie":
                self._keep_cookie(value)
            elif name == "content-encoding" and value.lower() == "gzip" and answer.body:
                answer.body = zlib.decompress(answer.body, 16 + zlib.MAX_WBITS)
        return answer

    def _keep_cookie(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if any(a.strip().lower() in ("max-age=0", "max-age=-1") for a in attributes.split(";")):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value.strip('"')

    async def get(self, path: str, **kw: Any) -> Answer:
        return await self.request("GET", path, **kw)

    async def post_form(self, path: str, form: dict[str, str], **kw: Any) -> Answer:
        return await self.request("POST", path, body=urlencode(form).encode(),
                                  content_type="application/x-www-form-urlencoded", **kw)

    async def post_json(self, path: str, payload: Any, **kw: Any) -> Answer:
        return await self.request("POST", path, body=json.dumps(payload).encode(), content_type="application/json",
                                  **kw)

    async def aclose(self) -> None:
        await self._pool.aclose()
