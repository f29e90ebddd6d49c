"""A small HTTP/1.1 client for the portal's calls to Rasa: keep-alive connections per origin,
one request at a time on each, the answer read whole.

Each chat message is one POST to a Rasa replica. httpx spent about a quarter of the portal's
CPU per chat turn on it (request and response models, header validation, its connection pool
and the anyio layer under it: a few milliseconds per message on the benchmark's machine).
Rasa (Sanic) answers with a status line, headers and a ``Content-Length`` (or chunked) body,
which is all this reads; an asyncio Protocol per connection, no task per request.

Errors say what happened, for portal/rasa_replicas.py to decide: :class:`Unreachable` (no
connection: refused, or not made in time), :class:`HungUp` (closed before a whole answer)
and :class:`TimedOut` (connected, no whole answer in time, or no free connection in time).
A kept connection is not used after ``idle_seconds`` (Sanic closes it after 5 s idle: a
request written just then would meet a hang-up it did not cause).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import msgspec


class HTTPFailure(Exception):
    """The request got no whole answer."""


class Unreachable(HTTPFailure):
    """No connection could be made (refused, or not in time)."""


class HungUp(HTTPFailure):
    """The connection closed before the whole answer had come."""


class TimedOut(HTTPFailure):
    """Connected, but the whole answer did not come in time (or no free connection in time)."""


class Answer:
    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers  # (lower-case name, value) in the order received
        self.body = body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> object:
        """The body as JSON; ValueError if it is not JSON."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from exc


def parse_answer(buf: bytearray) -> tuple[Answer, bool] | None:
    """The whole response at the start of ``buf`` and whether its connection may be kept, or None
    while it is incomplete (a response without a length or chunks has no body here)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buf[:head_end]).decode("latin-1").split("\r\n")
    status_line = lines[0]
    keep = status_line.startswith("HTTP/1.1")
    headers = []
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers.append((name, value))
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            keep = value.lower() == "keep-alive" or (keep and value.lower() != "close")
    start = head_end + 4
    if chunked:
        body = _dechunk(buf, start)
        if body is None:
            return None
    elif length is not None:
        if len(buf) - start < length:
            return None
        body = bytes(buf[start:start + length])
    else:
        body = b""
    return Answer(int(status_line[9:12]), headers, body), keep


def _dechunk(buf: bytearray, pos: int) -> bytes | None:
    out = bytearray()
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
        start = line_end + 2
        if size == 0:
            return bytes(out) if buf.find(b"\r\n\r\n", line_end) >= 0 else None  # (trailers, if any, end it)
        if len(buf) < start + size + 2:
            return None
        out += buf[start:start + size]
        pos = start + size + 2


class Connection(asyncio.Protocol):
    """One keep-alive connection: :meth:`send` writes a request, the future gets its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.reusable = True
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, raw: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self.buf.clear()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buf += data
        parsed = parse_answer(self.buf)
        if parsed is None:
            return
        answer, self.reusable = parsed
        self.buf.clear()
        waiter, self.waiter = self.waiter, None
        if not self.reusable:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(HungUp("the connection closed before the whole answer had come"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Keep-alive connections by origin (``http://host:port``), at most ``limit`` open to each."""

    def __init__(self, *, limit: int = 100, idle_seconds: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._idle: dict[tuple[str, int], list[Connection]] = {}
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._origins: dict[str, tuple[str, int, str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def _split(self, url: str) -> tuple[str, int, str]:
        found = self._origins.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError(f"only http://host[:port] URLs: {url!r}")
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            found = (parts.hostname, parts.port or 80, target)
            if len(self._origins) < 1024:
                self._origins[url] = found
        return found

    def _own_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections and semaphores belong to the loop that made them
            self._idle.clear()
            self._slots.clear()
            self._loop = loop

    async def request(self, method: str, url: str, *, body: bytes = b"", content_type: str | None = None,
                      headers: str = "", wait: float) -> Answer:
        """``headers``: further header lines, each ending in CRLF; ``wait``: seconds for each of connecting,
        a free connection and the whole answer."""
        self._own_loop()
        host, port, target = self._split(url)
        origin = (host, port)
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.limit)
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        raw = (head + headers + "\r\n").encode("latin-1") + body
        try:
            await asyncio.wait_for(slots.acquire(), wait)
        except TimeoutError as exc:
            raise TimedOut(f"no free connection to {host}:{port} in {wait}s") from exc
        try:
            conn = await self._connection(origin, wait)
            try:
                answer = await asyncio.wait_for(conn.send(raw), wait)
            except TimeoutError as exc:
                conn.close()
                raise TimedOut(f"no answer from {host}:{port} in {wait}s") from exc
            except BaseException:
                conn.close()
                raise
            if conn.reusable and not conn.closed:
                conn.idle_since = self.clock()
                self._idle.setdefault(origin, []).append(conn)
            return answer
        finally:
            slots.release()

    async def _connection(self, origin: tuple[str, int], wait: float) -> Connection:
        idle = self._idle.get(origin)
        now = self.clock()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_seconds:
                return conn
            conn.close()
        try:
            _transport, conn = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(Connection, *origin), wait)
        except TimeoutError as exc:
            raise Unreachable(f"no connection to {origin[0]}:{origin[1]} in {wait}s") from exc
        except OSError as exc:
            raise Unreachable(f"{origin[0]}:{origin[1]}: {exc.strerror or exc}") from exc
        return conn

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
