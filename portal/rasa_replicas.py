"""Several Rasa replicas behind one portal: each conversation sticks to one, and moves when it is down.

Rasa keeps a conversation in its tracker store (PostgreSQL in production) and serialises a
conversation's messages with a lock (Redis), so any replica can continue any conversation;
sticking to one still matters, because each replica caches the trackers it has loaded and
two replicas working one conversation at once only wait on each other's lock.

The replica for a sender is chosen by rendezvous hashing (highest hash of replica and
sender): the same sender always ranks the replicas the same way, senders spread evenly, and
when a replica goes away only its own conversations move (to their second choice), coming
back when it returns. A replica that refuses the connection, closes it without an answer
(a process killed with connections still queued) or answers 502/503/504 is marked down for
``cooldown`` seconds and the message goes to the next in the sender's ranking. A replica
killed while working on the message has not answered either, so the message may then be
in the shared history twice: a repeated question, which is what the person would have
caused by sending it again. A replica that is only slow (the time limit passes) is not
second-guessed: it may still be answering, the person is told to try again.

The replicas' connections are kept here (portal/http1.py: keep-alive, a lean client; httpx
cost the portal a quarter of its CPU per chat message).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from portal.http1 import Answer, ConnectionPool, HTTPFailure, HungUp, TimedOut, Unreachable

log = logging.getLogger("portal.chat")
FAIL_OVER_STATUSES = frozenset({502, 503, 504})


class NoReplicaAnswered(Exception):
    """No replica took the message (all down, or the one that took it failed mid-way)."""


class RasaReplicas:
    def __init__(self, urls: Sequence[str], *, cooldown: float = 10.0,
                 clock: Callable[[], float] = time.monotonic, connections: int = 100) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.cooldown = cooldown
        self.clock = clock
        self._down_until: dict[str, float] = {}
        self.http = ConnectionPool(limit=connections)  # at most this many open to each replica

    def ranked(self, sender: str) -> list[str]:
        """The replicas in this sender's order of preference (stable, independent of health)."""
        def weight(url: str) -> bytes:
            return hashlib.blake2b(f"{url}\x00{sender}".encode(), digest_size=8).digest()

        return sorted(self.urls, key=weight, reverse=True)

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
                resp = await self.http.request("POST", f"{url}{path}", body=body, content_type="application/json",
                                               wait=wait)
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
                resp = await self.http.request("GET", f"{url}/", wait=wait)
            except HTTPFailure:
                continue
            if resp.status_code not in FAIL_OVER_STATUSES:
                return True
        return False

    async def aclose(self) -> None:
        await self.http.aclose()
