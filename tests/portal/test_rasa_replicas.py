"""The portal's choice of Rasa replica: sticky by sender, spread over replicas, moving a
conversation when its replica is down and only then. Two tiny real HTTP servers stand in
for the replicas (they answer like Rasa's REST webhook, naming themselves); small asyncio
servers check the connections (kept and reused, answers by length or chunked) and that
refused, hung up and silent replicas are told apart."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.rasa_replicas import HungUp, NoReplicaAnswered, RasaReplicas, TimedOut, Unreachable
from portal.settings import Settings, SettingsError
from tests.conftest import _env, csrf
from tests.support.processes import free_port


class Replica:
    """A stand-in Rasa on 127.0.0.1 that answers "<name>:<sender>" and can be stopped and restarted."""

    def __init__(self, name: str, status: int = 200) -> None:
        self.name = name
        self.status = status
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[str] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Replica:
        replica = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(replica.status, {"version": "stand-in"})

            def do_POST(self) -> None:  # noqa: N802
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if replica.status != 200:
                    self._answer(replica.status, {"error": "unavailable"})
                    return
                replica.received.append(payload["sender"])
                self._answer(200, [{"text": f"{replica.name}:{payload['sender']}"}])

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def replicas() -> Iterator[tuple[Replica, Replica]]:
    a, b = Replica("a").start(), Replica("b").start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., RasaReplicas]]:
    """Makes RasaReplicas and closes their connections when the test ends."""
    made: list[RasaReplicas] = []

    def make(urls: list[str], **kwargs: Any) -> RasaReplicas:
        made.append(RasaReplicas(urls, **kwargs))
        return made[-1]

    yield make
    for pool in made:
        await pool.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SENDERS = [f"sender-{i}" for i in range(40)]


async def _ask(pool: RasaReplicas, sender: str) -> str:
    _url, resp = await pool.post(sender, "/webhooks/rest/webhook", {"sender": sender, "message": "hi"}, wait=2.0)
    answer = resp.json()
    assert isinstance(answer, list)
    return str(answer[0]["text"]).split(":")[0]


async def test_a_conversation_sticks_to_one_replica_and_conversations_spread(replicas: tuple[Replica, Replica],
        pools: Callable[..., RasaReplicas]) -> None:
    a, b = replicas
    pool = pools([a.url, b.url])
    first = {s: await _ask(pool, s) for s in SENDERS}
    again = {s: await _ask(pool, s) for s in SENDERS}
    assert first == again  # sticky
    counts = {name: list(first.values()).count(name) for name in ("a", "b")}
    assert min(counts.values()) >= 10, counts  # spread (40 senders, rendezvous hashing)
    # Every process ranks a sender the same way: another portal replica picks the same Rasa.
    assert all(RasaReplicas([b.url, a.url]).ranked(s)[0] == pool.ranked(s)[0] for s in SENDERS)


async def test_a_conversation_moves_when_its_replica_is_down_and_only_those_move(
        replicas: tuple[Replica, Replica], pools: Callable[..., RasaReplicas]) -> None:
    a, b = replicas
    clock = Clock()
    pool = pools([a.url, b.url], cooldown=10, clock=clock)
    before = {s: await _ask(pool, s) for s in SENDERS}
    a.stop()
    during = {s: await _ask(pool, s) for s in SENDERS}
    assert set(during.values()) == {"b"}  # a's conversations moved, nobody was refused
    assert pool.is_down(a.url)
    a.start()  # back on the same address
    clock.now += 11  # after the cool-down a is tried again, and its conversations go back
    after = {s: await _ask(pool, s) for s in SENDERS}
    assert after == before
    moved = [s for s in SENDERS if before[s] == "a"]
    assert moved and all(during[s] == "b" for s in moved)
    assert all(during[s] == "b" for s in SENDERS if before[s] == "b")  # b's own never moved


async def test_a_replica_behind_a_proxy_saying_503_is_skipped(replicas: tuple[Replica, Replica],
        pools: Callable[..., RasaReplicas]) -> None:
    a, b = replicas
    a.status = 503
    pool = pools([a.url, b.url])
    answers = {await _ask(pool, s) for s in SENDERS}
    assert answers == {"b"} and a.received == []
    b.stop()
    with pytest.raises(NoReplicaAnswered):
        await _ask(pool, "sender-1")  # none left: the chat page offers the message form


async def test_a_replica_that_hangs_up_without_an_answer_is_skipped(pools: Callable[..., RasaReplicas]) -> None:
    """A killed replica whose queued connections the kernel closes: the message goes to the next one."""
    hangs_up = socket.socket()
    hangs_up.bind(("127.0.0.1", 0))
    hangs_up.listen(8)
    stop = threading.Event()

    def close_each() -> None:
        hangs_up.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = hangs_up.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    threading.Thread(target=close_each, daemon=True).start()
    b = Replica("b").start()
    try:
        url = f"http://127.0.0.1:{hangs_up.getsockname()[1]}"
        pool = pools([url, b.url])
        sender = next(s for s in SENDERS if pool.ranked(s)[0] == url)
        assert await _ask(pool, sender) == "b"
        assert b.received == [sender] and pool.is_down(url)
    finally:
        stop.set()
        hangs_up.close()
        b.stop()


async def test_a_slow_replica_is_not_second_guessed(pools: Callable[..., RasaReplicas]) -> None:
    """A read timeout may mean the replica is still answering: the message is not re-sent elsewhere."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    b = Replica("b").start()
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        pool = pools([url, b.url])
        sender = next(s for s in SENDERS if pool.ranked(s)[0] == url)
        with pytest.raises(NoReplicaAnswered):
            await pool.post(sender, "/webhooks/rest/webhook", {"sender": sender}, wait=0.5)
        assert b.received == [] and pool.is_down(url)
        assert await _ask(pool, sender) == "b"  # the next message goes to the other replica
    finally:
        silent.close()
        b.stop()


def test_rasa_urls_are_read_and_checked() -> None:
    env = _env("sqlite:///x.db", RASA_URLS="http://127.0.0.1:5005, http://127.0.0.1:5006/")
    assert Settings.from_env(env).bot.rasa_urls == ("http://127.0.0.1:5005", "http://127.0.0.1:5006")
    assert Settings.from_env(_env("sqlite:///x.db")).bot.rasa_urls == ("http://127.0.0.1:9",)  # RASA_URL alone
    with pytest.raises(SettingsError, match="RASA_URLS"):
        Settings.from_env(_env("sqlite:///x.db", RASA_URLS="127.0.0.1:5005"))


async def test_the_chat_page_uses_the_replicas(database_url: str, replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    app: Litestar = create_app(Settings.from_env(_env(database_url, RASA_URLS=f"{a.url},{b.url}")))
    async with AsyncTestClient(app=app) as client:
        await client.get("/chat")
        for _ in range(3):
            resp = await client.post("/chat", data={"message": "你好", "_csrf_token": csrf(client)},
                                     headers={"HX-Request": "true"})
            assert resp.status_code == 200
        talked_to = "a" if a.received else "b"
        sender = (a.received or b.received)[0]
        assert (a.received or b.received) == [sender] * 3  # one conversation, one replica
        (a if talked_to == "a" else b).stop()
        resp = await client.post("/chat", data={"message": "还在吗", "_csrf_token": csrf(client)},
                                 headers={"HX-Request": "true"})
        other = b if talked_to == "a" else a
        assert other.received == [sender] and f"{other.name}:{sender}" in resp.text


def test_new_conversations_take_the_replicas_in_turn_and_every_portal_agrees() -> None:
    """Random senders split 20 conversations 14 to 6 in a benchmark run; minted senders deal them
    out in turn, and another portal (another process, another order of URLs) routes each the same."""
    urls = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
    pool = RasaReplicas(urls[:2])
    senders = [pool.new_sender() for _ in range(20)]
    firsts = [pool.ranked(s)[0] for s in senders]
    assert firsts == [urls[0], urls[1]] * 10
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in senders) and len(set(senders)) == 20
    assert [RasaReplicas(urls[1::-1]).ranked(s)[0] for s in senders] == firsts
    three = RasaReplicas(urls)
    counts = Counter(three.ranked(three.new_sender())[0] for _ in range(30))
    assert counts == {url: 10 for url in urls}
    assert RasaReplicas(urls[:1]).ranked(RasaReplicas(urls[:1]).new_sender()) == urls[:1]


def test_a_replica_marked_down_gets_no_new_conversations() -> None:
    clock = Clock()
    pool = RasaReplicas(["http://127.0.0.1:1", "http://127.0.0.1:2"], clock=clock)
    pool.mark_down("http://127.0.0.1:1")
    assert {pool.ranked(pool.new_sender())[0] for _ in range(6)} == {"http://127.0.0.1:2"}
    clock.now += pool.cooldown + 1  # back: its turns again
    assert Counter(pool.ranked(pool.new_sender())[0] for _ in range(6)) == {
        "http://127.0.0.1:1": 3, "http://127.0.0.1:2": 3}


async def test_the_chat_page_deals_new_conversations_out_in_turn(database_url: str,
                                                                 replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    app: Litestar = create_app(Settings.from_env(_env(database_url, RASA_URLS=f"{a.url},{b.url}")))
    async with AsyncTestClient(app=app) as client:
        for _ in range(6):  # six people: six conversations (a new one after each clear)
            await client.get("/chat")
            resp = await client.post("/chat", data={"message": "你好", "_csrf_token": csrf(client)},
                                     headers={"HX-Request": "true"})
            assert resp.status_code == 200
            await client.post("/chat/clear", data={"_csrf_token": csrf(client)})
    assert len(a.received) == len(b.received) == 3 and not set(a.received) & set(b.received)


class Counting:
    """Answers each request with its connection's number and the request's body, by length or
    chunked; an HTTP/1.0 one closes each connection after its answer."""

    def __init__(self, chunked: bool = False, http10: bool = False) -> None:
        self.chunked = chunked
        self.http10 = http10
        self.connections = 0
        self.server: asyncio.AbstractServer | None = None
        self.url = ""

    async def start(self) -> Counting:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
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


async def test_a_replica_connection_is_kept_and_reused_and_answers_are_read_whole() -> None:
    for chunked in (False, True):
        server = await Counting(chunked=chunked).start()
        pool = RasaReplicas([server.url])
        try:
            answers = [await pool.request("POST", server.url, "/x", body=f"message {i}".encode(), wait=2)
                       for i in range(3)]
            assert [a.body for a in answers] == [b"1:message 0", b"1:message 1", b"1:message 2"]
            assert all(a.status_code == 200 for a in answers) and server.connections == 1
        finally:
            await pool.aclose()
            await server.stop()
    old = await Counting(http10=True).start()  # closes after each answer: a new connection each time
    pool = RasaReplicas([old.url])
    try:
        bodies = [(await pool.request("POST", old.url, "/", body=b"m", wait=2)).body for _ in range(2)]
        assert bodies == [b"1:m", b"2:m"]
    finally:
        await pool.aclose()
        await old.stop()


async def test_refused_hung_up_and_silent_are_told_apart() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nobody = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there
    pool = RasaReplicas([nobody])
    try:
        with pytest.raises(Unreachable):
            await pool.request("POST", nobody, "/", body=b"{}", wait=2)
    finally:
        await pool.aclose()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")  # then gone
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    for handler, error in ((hang_up, HungUp), (silent, TimedOut)):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        pool = RasaReplicas([url])
        try:
            with pytest.raises(error):
                await pool.request("POST", url, "/", body=b"{}", wait=0.3)
        finally:
            await pool.aclose()
            server.close()


async def test_no_free_connection_in_time_is_timed_out_not_unreachable() -> None:
    """Every connection to the replica busy: the message waits at most the time limit and is not
    sent elsewhere (the replica is there, only slow), nor is a connection opened past the limit."""
    accepted: list[int] = []
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        connected.set()
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    pool = RasaReplicas([url], connections=1)
    busy = asyncio.create_task(pool.request("POST", url, "/", body=b"{}", wait=5))
    try:
        await asyncio.wait_for(connected.wait(), 5)
        with pytest.raises(TimedOut, match="no free connection"):
            await pool.request("POST", url, "/", body=b"{}", wait=0.2)
        assert len(accepted) == 1
    finally:
        busy.cancel()
        await asyncio.gather(busy, return_exceptions=True)
        await pool.aclose()
        server.close()


async def test_a_replica_that_sends_half_an_answer_is_skipped(pools: Callable[..., RasaReplicas]) -> None:
    """Closed mid-answer (killed while writing it): the message goes to the next replica."""
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"text\"")
        writer.close()

    server = await asyncio.start_server(half, "127.0.0.1", 0)
    b = Replica("b").start()
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    pool = pools([url, b.url])
    try:
        sender = next(s for s in SENDERS if pool.ranked(s)[0] == url)
        assert await _ask(pool, sender) == "b"
        assert b.received == [sender] and pool.is_down(url)
    finally:
        server.close()
        b.stop()


async def test_each_wait_is_its_own_timeout_and_each_replica_its_own_address(
        replicas: tuple[Replica, Replica], pools: Callable[..., RasaReplicas]) -> None:
    """The pool builds a request's timeout and address once and reuses them: a message still
    goes to its own replica, and a shorter or longer wait is still that wait."""
    a, b = replicas
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        pool = pools([a.url, b.url, url])
        for wait in (0.3, 1.2, 0.3):
            started = asyncio.get_running_loop().time()
            with pytest.raises(TimedOut):
                await pool.request("POST", url, "/webhooks/rest/webhook", body=b"{}", wait=wait)
            assert wait - 0.05 <= asyncio.get_running_loop().time() - started < wait + 0.7
        for replica in (a, b, a):
            answer = await pool.request("POST", replica.url, "/webhooks/rest/webhook",
                                        body=b'{"sender": "s", "message": "hi"}', wait=2.0)
            assert answer.json() == [{"text": f"{replica.name}:s"}]
        assert a.received == ["s", "s"] and b.received == ["s"]
    finally:
        silent.close()
