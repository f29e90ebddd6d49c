"""Open-loop load at a constant offered rate: request i is due at start + i/rate whatever
happened before, sent on the first idle keep-alive connection (a pool of --connections), and
its latency counts from the moment it was due — so a slow answer delays the ones behind it
and that delay is measured (no coordinated omission).

Same callback-driven connections as bench.loadgen (a few tens of microseconds of client CPU
per request, reported), in its own process. Output (stdout): JSON with the offered rate, the
count, statuses, latency percentiles, the requests that found no idle connection when due
(``queued_in_client``) and the client's CPU time.

    python -m bench.openloop --port 8000 --requests reqs.json --rate 200 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import sys
import time
from typing import Any

from bench.loadgen import Connection, Load, build_requests, percentile, run_and_report


class OpenLoad(Load):
    def __init__(self, requests: list[tuple[bytes, bytes | None]], *, rate: float, total: int, seed: int) -> None:
        super().__init__(requests, duration=1e9, max_requests=total, seed=seed)
        self.rate = rate
        self.total = total
        self.start = 0.0
        self.pending: collections.deque[float] = collections.deque()
        self.idle_conns: list[OpenConnection] = []
        self.completed = 0
        self.queued = 0

    def tick(self, i: int) -> None:
        loop = asyncio.get_running_loop()
        if i + 1 < self.total:
            loop.call_later(max(0.0, self.start + (i + 1) / self.rate - time.perf_counter()), self.tick, i + 1)
        self.pending.append(self.start + i / self.rate)
        if self.idle_conns:
            self.send(self.idle_conns.pop(), self.pending.popleft())
        else:
            self.queued += 1

    def ready(self, conn: OpenConnection) -> None:
        if self.pending:
            self.send(conn, self.pending.popleft())
        else:
            self.idle_conns.append(conn)

    def send(self, conn: OpenConnection, due: float) -> None:
        raw, conn.expect = self.requests[self.rng.randrange(len(self.requests))]
        conn.buf.clear()
        conn.in_flight = True
        conn.started = due
        assert conn.transport is not None
        conn.transport.write(raw)

    def answered(self) -> None:
        self.completed += 1
        if self.completed >= self.total and not self.done.done():
            self.done.set_result(None)


class OpenConnection(Connection):
    load: OpenLoad

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.load.idle_conns.append(self)

    def send_next(self) -> None:  # called when an answer is complete
        self.load.answered()
        self.load.ready(self)

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            if self in self.load.idle_conns:
                self.load.idle_conns.remove(self)
            if self.transport is not None:
                self.transport.close()


async def run(args: argparse.Namespace, specs: list[dict[str, Any]]) -> dict[str, Any]:
    requests = build_requests(args.port, specs)
    loop = asyncio.get_running_loop()
    total = int(args.rate * args.duration)
    load = OpenLoad(requests, rate=args.rate, total=total, seed=args.seed)
    for _ in range(args.connections):
        await loop.create_connection(lambda: OpenConnection(load), "127.0.0.1", args.port)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    load.start = time.perf_counter() + 0.2
    loop.call_later(0.2, load.tick, 0)
    try:
        await asyncio.wait_for(load.done, timeout=args.duration + args.grace)
    except TimeoutError:
        pass  # what did not come back within the grace period is reported as missing
    elapsed = time.perf_counter() - load.start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    stats = load.stats
    lat = sorted(stats.latencies)
    count = len(lat)
    ok = sum(n for s, n in stats.statuses.items() if 200 <= s < 300)
    return {
        "offered_rps": args.rate, "connections": args.connections, "due": total, "answered": count,
        "missing": total - count, "ok_2xx": ok, "non_2xx": count - ok,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "unexpected_body": stats.unexpected_body, "disconnects": stats.disconnects,
        "queued_in_client": load.queued, "achieved_rps": round(count / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * percentile(lat, 50), 2), "p90_ms": round(1000 * percentile(lat, 90), 2),
        "p99_ms": round(1000 * percentile(lat, 99), 2), "max_ms": round(1000 * lat[-1], 2) if lat else None,
        "client_cpu_s": round((usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.openloop")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True, help="JSON file of request specs")
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests per second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections in the pool")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to wait for the last answers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    return run_and_report(run, args)


if __name__ == "__main__":
    sys.exit(main())
