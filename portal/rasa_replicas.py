"""Several Rasa replicas behind one portal: each conversation sticks to one, and moves when it is down.

Rasa keeps a conversation in its tracker store (PostgreSQL in production) and serialises a
conversation's messages with a lock (Redis), so any replica can continue any conversation;
sticking to one still matters, because each replica caches the trackers it has loaded and
two replicas working one conversation at once only wait on each other's lock.

The replica for a sender is chosen by rendezvous hashing (highest hash of replica and
sender): the same sender always ranks the replicas the same way, and when a replica goes
away only its own conversations move (to their second choice), coming back when it returns.
Random senders spread over the replicas only on average: 20 conversations split 14 to 6 in
one benchmark run, and the busier replica set the latency of all. So the portal mints each
new conversation's sender (:meth:`RasaReplicas.new_sender`) with the replicas taking turns
as first choice (a random id drawn again until its first choice is the one whose turn it
is: about as many draws as there are replicas). Every portal still finds a sender's replica
from the sender alone, with nothing stored or shared.

A replica that refuses the connection, closes it without an answer
(a process killed with connections still queued) or answers 502/503/504 is marked down for
``cooldown`` seconds and the message goes to the next in the sender's ranking. A replica
killed while working on the message has not answered either, so the message may then be
in the shared history twice: a repeated question, which is what the person would have
caused by sending it again. A replica that is only slow (the time limit passes) is not
second-guessed: it may still be answering, the person is told to try again.

The replicas' connections are kept here: one aiohttp session, made on the running event loop
at the first message and closed when the app stops (keep-alive, at most ``connections`` to
each replica, none reused after 4 s idle: Sanic closes them at 5 s). httpx cost the portal a
quarter of its CPU per chat message; aiohttp a fifth of that.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import msgspec
import yarl

log = logging.getLogger("portal.chat")
FAIL_OVER_STATUSES = frozenset({502, 503, 504})
_JSON = {"Content-Type": "application/json"}  # (aiohttp copies a request's headers; this is never changed)


class NoReplicaAnswered(Exception):
    """No replica took the message (all down, or the one that took it failed mid-way)."""


class Unreachable(Exception):
    """No connection to the replica (refused, or not made in time): the message was not sent."""


class HungUp(Exception):
    """The replica closed the connection before its whole answer had come."""


class TimedOut(Exception):
    """Connected, but the answer did not come (nothing read for the time limit), or no free
    connection to the replica in time."""


class Answer:
    """A replica's whole answer."""

    __slots__ = ("body", "status_code")

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body

    def json(self) -> object:
        """The body as JSON; ValueError if it is not JSON."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from exc


class RasaReplicas:
    def __init__(self, urls: Sequence[str], *, cooldown: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, connections: int = 100) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.cooldown = cooldown
        self.clock = clock
        self._down_until: dict[str, float] = {}
        self.connections = connections  # at most this many open to each replica
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: dict[str, asyncio.Semaphore] = {}
        # Built once, not per message: aiohttp parses a string URL at every request, and the
        # timeouts of a given wait are the same object each time (both immutable).
        self._targets: dict[tuple[str, str], yarl.URL] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._turns = itertools.cycle(self.urls)

    def _http(self) -> aiohttp.ClientSession:
        """The session of the running loop (sessions belong to the loop that made them)."""
        session, loop = self._session, asyncio.get_running_loop()
        if session is None or session.closed or self._loop is not loop:
            self._loop = loop
            self._session = session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=self.connections, keepalive_timeout=4.0),
                cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False)
            self._slots = {url: asyncio.Semaphore(self.connections) for url in self.urls}
        return session

    async def request(self, method: str, url: str, path: str, *, body: bytes | None = None,
                      wait: float) -> Answer:
        """One request to replica ``url``, the answer read whole. ``wait``: seconds for each of a
        free connection, connecting, and each read of the answer (aiohttp's ``sock_read``).
        Raises Unreachable, HungUp or TimedOut."""
        session = self._http()
        slots = self._slots[url]  # bounds the waiting for a free connection (aiohttp's own counts it as connecting)
        if slots.locked():  # all taken: wait for one, at most ``wait``
            try:
                await asyncio.wait_for(slots.acquire(), wait)
            except TimeoutError as exc:
                raise TimedOut(f"no free connection in {wait}s") from exc
        else:
            await slots.acquire()  # (at once, without wait_for's task)
        try:
            timeout = self._timeouts.get(wait)
            if timeout is None:
                timeout = self._timeouts[wait] = aiohttp.ClientTimeout(
                    total=None, connect=wait, sock_connect=wait, sock_read=wait)
            target = self._targets.get((url, path))
            if target is None:
                target = self._targets[url, path] = yarl.URL(f"{url}{path}")
            headers = _JSON if body is not None else None
            async with session.request(method, target, data=body, headers=headers,
                                       timeout=timeout) as resp:
                return Answer(resp.status, await resp.read())
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from exc  # not connected: not sent
        except TimeoutError as exc:  # (aiohttp's SocketTimeoutError too) connected, no answer in time
            raise TimedOut(f"no answer in {wait}s") from exc
        except aiohttp.ClientError as exc:  # closed, reset, half an answer, or not HTTP
            raise HungUp(str(exc) or type(exc).__name__) from exc
        finally:
            slots.release()

    def ranked(self, sender: str) -> list[str]:
        """The replicas in this sender's order of preference (stable, independent of health)."""
        def weight(url: str) -> bytes:
            return hashlib.blake2b(f"{url}\x00{sender}".encode(), digest_size=8).digest()

        return sorted(self.urls, key=weight, reverse=True)

    def new_sender(self) -> str:
        """A new conversation's sender id (32 hex digits, random) whose first choice is the replica
        whose turn it is, skipping replicas marked down. Senders keep their replica by hashing
        alone, so any portal routes them alike; only new conversations are dealt out in turn."""
        want = next(self._turns)
        for _ in range(len(self.urls)):  # a replica that is down gets no new conversations
            if not self.is_down(want):
                break
            want = next(self._turns)
        sender = uuid.uuid4().hex
        for _ in range(64 * len(self.urls)):  # each draw hits with probability 1/len(urls)
            if self.ranked(sender)[0] == want:
                break
            sender = uuid.uuid4().hex
        return sender

    def is_down(self, url: str) -> bool:
        return self._down_until.get(url, 0.0) > self.clock()

    def order(self, sender: str) -> list[str]:
        """Healthy replicas first, in the sender's order; those marked down last (a last resort)."""
        ranked = self.ranked(sender)
        return [u for u in ranked if not self.is_down(u)] + [u for u in ranked if self.is_down(u)]

    def mark_down(self, url: str) -> None:
        self._down_until[url] = self.clock() + self.cooldown

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)

    async def post(self, sender: str, path: str, payload: dict[str, Any], wait: float) -> tuple[str, Answer]:
        """POST ``payload`` as JSON to the sender's replica (failing over as described); returns (replica, answer)."""
        body = msgspec.json.encode(payload)
        last = "no replica"
        for url in self.order(sender):
            try:
                resp = await self.request("POST", url, path, body=body, wait=wait)
            except (Unreachable, HungUp) as exc:
                self.mark_down(url)  # not there, or gone without an answer: the next one
                last = f"{url}: {type(exc).__name__}"
                log.warning("Rasa replica %s failed (%s): marked down for %ss, trying the next",
                            url, exc, self.cooldown)
                continue
            except TimedOut as exc:
                self.mark_down(url)  # slow: it may still be answering; do not send the message twice
                log.warning("Rasa replica %s: %s; marked down for %ss", url, exc, self.cooldown)
                raise NoReplicaAnswered(f"{url}: {type(exc).__name__}") from exc
            if resp.status_code in FAIL_OVER_STATUSES:
                self.mark_down(url)
                log.warning("Rasa replica %s answered %s: marked down for %ss", url, resp.status_code, self.cooldown)
                last = f"{url}: HTTP {resp.status_code}"
                continue
            self.mark_up(url)
            return url, resp
        raise NoReplicaAnswered(last)

    async def any_answers(self, wait: float = 1.0) -> bool:
        """Whether at least one replica is up (listens and is not behind a 502-504)."""
        for url in sorted(self.urls, key=self.is_down):
            try:
                resp = await self.request("GET", url, "/", wait=wait)
            except (Unreachable, HungUp, TimedOut):
                continue
            if resp.status_code not in FAIL_OVER_STATUSES:
                return True
        return False

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
