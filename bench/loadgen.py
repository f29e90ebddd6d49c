"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending the
next request as soon as the previous answer is complete.

Pure Python on uvloop, callback-driven (an asyncio Protocol per connection, no coroutine
per request), so it spends a few tens of microseconds of CPU per request: a few percent of
one core at the rates measured here, which it reports (``client_cpu_s``) so the cost is on
the table. It runs in its own process, started by bench.support.run_load.

Input: a JSON file ``[{"path": ..., "headers": {...}, "expect": "substring or null"}, ...]``;
each request picks one at random. Output (stdout): JSON with the count, statuses, errors,
latency percentiles and the client's CPU time.

    python -m bench.loadgen --port 8000 --requests reqs.json --connections 32 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import resource
import sys
import time
from array import array
from collections.abc import Callable, Coroutine
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.latencies = array("d")
        self.statuses: dict[int, int] = {}
        self.unexpected_body = 0
        self.disconnects = 0
        self.bytes = 0


class Load:
    def __init__(self, requests: list[tuple[bytes, bytes | None]], *, duration: float, max_requests: int,
                 seed: int) -> None:
        self.requests = requests
        self.rng = random.Random(seed)
        self.deadline = time.perf_counter() + duration
        self.remaining = max_requests
        self.stats = Stats()
        self.active = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def next_request(self) -> tuple[bytes, bytes | None] | None:
        if self.remaining <= 0 or time.perf_counter() >= self.deadline:
            return None
        self.remaining -= 1
        return self.requests[self.rng.randrange(len(self.requests))]

    def idle(self) -> None:
        self.active -= 1
        if self.active == 0 and not self.done.done():
            self.done.set_result(None)


class Connection(asyncio.Protocol):
    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.started = 0.0
        self.expect: bytes | None = None
        self.in_flight = False
        self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send_next()

    def send_next(self) -> None:
        req = self.load.next_request()
        if req is None:
            self.finish()
            return
        raw, self.expect = req
        self.buf.clear()
        self.in_flight = True
        self.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(raw)

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            if self.transport is not None:
                self.transport.close()
            self.load.idle()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        buf = self.buf
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buf[:head_end]).lower()
        body_start = head_end + 4
        status = int(head[9:12])
        pos = head.find(b"\r\ncontent-length:")
        if pos >= 0:
            end = head.find(b"\r\n", pos + 2)
            length = int(head[pos + 17 : end if end > 0 else None])
            if len(buf) - body_start < length:
                return
            body = bytes(buf[body_start : body_start + length])
        elif b"\r\ntransfer-encoding: chunked" in head:
            body_or_none = _dechunk(buf, body_start)
            if body_or_none is None:
                return
            body = body_or_none
        else:
            body = b""
        now = time.perf_counter()
        stats = self.load.stats
        stats.latencies.append(now - self.started)
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        stats.bytes += len(body)
        if self.expect is not None and 200 <= status < 300 and self.expect not in body:
            stats.unexpected_body += 1
        self.in_flight = False
        if b"\r\nconnection: close" in head:
            self.finish()
            return
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.in_flight:
            self.load.stats.disconnects += 1
            self.in_flight = False
        self.finish()


def _dechunk(buf: bytearray, pos: int) -> bytes | None:
    out = bytearray()
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
        start = line_end + 2
        if size == 0:
            return bytes(out) if len(buf) >= start + 2 else None
        if len(buf) < start + size + 2:
            return None
        out += buf[start : start + size]
        pos = start + size + 2


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def build_requests(port: int, specs: list[dict[str, Any]]) -> list[tuple[bytes, bytes | None]]:
    out = []
    for spec in specs:
        lines = [f"GET {spec['path']} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: bench.loadgen"]
        lines += [f"{k}: {v}" for k, v in spec.get("headers", {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        expect = spec.get("expect")
        out.append((raw, expect.encode() if expect else None))
    return out


async def run(args: argparse.Namespace, specs: list[dict[str, Any]]) -> dict[str, Any]:
    requests = build_requests(args.port, specs)
    loop = asyncio.get_running_loop()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    load = Load(requests, duration=args.duration, max_requests=args.max_requests, seed=args.seed)
    load.active = args.connections
    for _ in range(args.connections):
        try:
            await loop.create_connection(lambda: Connection(load), "127.0.0.1", args.port)
        except OSError:
            load.stats.disconnects += 1
            load.idle()
    await load.done
    elapsed = time.perf_counter() - started
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    stats = load.stats
    lat = sorted(stats.latencies)
    count = len(lat)
    ok = sum(n for s, n in stats.statuses.items() if 200 <= s < 300)
    return {
        "connections": args.connections,
        "duration_s": round(elapsed, 2),
        "requests": count,
        "ok_2xx": ok,
        "non_2xx": count - ok,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "unexpected_body": stats.unexpected_body,
        "disconnects": stats.disconnects,
        "rps": round(count / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * percentile(lat, 50), 2),
        "p90_ms": round(1000 * percentile(lat, 90), 2),
        "p99_ms": round(1000 * percentile(lat, 99), 2),
        "max_ms": round(1000 * lat[-1], 2) if lat else None,
        "mean_body_bytes": round(stats.bytes / count) if count else 0,
        "client_cpu_s": round((usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True, help="JSON file of request specs")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (upper bound)")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="requests in all (upper bound)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return run_and_report(run, args)


def run_and_report(runner: Callable[[argparse.Namespace, list[dict[str, Any]]], Coroutine[Any, Any, dict[str, Any]]],
                   args: argparse.Namespace) -> int:
    """Read the request specs from ``args.requests``, run ``runner`` on uvloop and print its report as
    one JSON line (the load generators' common tail: bench.loadgen and bench.openloop)."""
    with open(args.requests, encoding="utf-8") as fh:
        specs = json.load(fh)
    try:
        import uvloop
    except ImportError:  # plain asyncio works too, a little slower
        report = asyncio.run(runner(args, specs))
    else:
        report = uvloop.run(runner(args, specs))
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
