"""The portal's lean HTTP/1.1 client (portal/http1.py), against a small real asyncio server:
keep-alive connections are reused, one idle too long is not, bodies by length or in chunks,
and each way of failing has its own error."""

from __future__ import annotations

import asyncio
import socket

import pytest

from portal.http1 import ConnectionPool, HungUp, TimedOut, Unreachable


class Server:
    """Answers each request with its connection's number and the request's body, by length or chunked."""

    def __init__(self, chunked: bool = False, http10: bool = False) -> None:
        self.chunked = chunked
        self.http10 = http10
        self.connections = 0
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = f"{number}:".encode() + await reader.readexactly(length)
                version = b"HTTP/1.0" if self.http10 else b"HTTP/1.1"
                if self.chunked:
                    half = len(body) // 2
                    writer.write(version + b" 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half,
                                                                        body[half:]))
                else:
                    writer.write(version + b" 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if self.http10:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_connection_is_kept_and_reused_and_bodies_are_read_whole() -> None:
    for chunked in (False, True):
        server = await Server(chunked=chunked).start()
        pool = ConnectionPool()
        try:
            url = f"http://127.0.0.1:{server.port}/x"
            answers = [await pool.request("POST", url, body=f"message {i}".encode(), wait=2) for i in range(3)]
            assert [a.body for a in answers] == [b"1:message 0", b"1:message 1", b"1:message 2"]
            assert all(a.status_code == 200 for a in answers) and server.connections == 1
        finally:
            await pool.aclose()
            await server.stop()


async def test_an_idle_connection_is_not_reused_after_its_time_nor_an_http10_one() -> None:
    server = await Server().start()
    now = [0.0]
    pool = ConnectionPool(idle_seconds=4.0, clock=lambda: now[0])
    try:
        url = f"http://127.0.0.1:{server.port}/"
        await pool.request("GET", url, wait=2)
        now[0] += 3.9
        assert (await pool.request("GET", url, wait=2)).body == b"1:"
        now[0] += 4.1  # the server may be closing it just now: a new one
        assert (await pool.request("GET", url, wait=2)).body == b"2:"
    finally:
        await pool.aclose()
        await server.stop()
    old = await Server(http10=True).start()
    pool = ConnectionPool()
    try:
        url = f"http://127.0.0.1:{old.port}/"
        bodies = [(await pool.request("GET", url, wait=2)).body for _ in range(2)]
        assert bodies == [b"1:", b"2:"]
    finally:
        await pool.aclose()
        await old.stop()


async def test_refused_hung_up_and_silent_are_told_apart() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    pool = ConnectionPool()
    with pytest.raises(Unreachable):
        await pool.request("GET", f"http://127.0.0.1:{port}/", wait=2)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")  # then gone
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    for handler, error in ((hang_up, HungUp), (silent, TimedOut)):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        try:
            with pytest.raises(error):
                await pool.request("GET", f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", wait=0.3)
        finally:
            server.close()
    await pool.aclose()
