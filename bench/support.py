"""What every benchmark here needs: a throwaway PostgreSQL database, a server process
measured from outside, and the numbers read off /proc.

Nothing here imports the portal, so a benchmark can use it before deciding what to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import Process, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench-results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- PostgreSQL -----------------------------------------------------------------------------


def server_url() -> str:
    """The PostgreSQL server the benchmarks use: BENCH_DATABASE_URL, else the local one (trust auth)."""
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL


def plain_url(url: str) -> str:
    """postgresql://… (what asyncpg and Settings.from_env take), whatever driver suffix was given."""
    scheme, rest = url.split("://", 1)
    if scheme.startswith(("postgresql", "postgres")):
        return "postgresql://" + rest
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://…")


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(plain_url(url))
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def maintenance_url(url: str) -> str:
    """The same server, database ``postgres`` unless the URL names another to connect to."""
    parts = urllib.parse.urlsplit(plain_url(url))
    return plain_url(url) if parts.path not in ("", "/") else with_database(url, "postgres")


async def create_database(url: str, prefix: str) -> str:
    """Create an empty database named ``<prefix>_<random>`` on ``url``'s server; returns its URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(maintenance_url(url), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(url, name)


async def drop_database(db_url: str) -> None:
    import asyncpg

    name = urllib.parse.urlsplit(db_url).path.lstrip("/")
    conn = await asyncpg.connect(maintenance_url(with_database(db_url, "postgres")), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def check_server(url: str) -> str | None:
    """None when the server answers, else a message saying what to do."""
    import asyncpg

    try:
        conn = await asyncpg.connect(maintenance_url(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return (f"cannot reach PostgreSQL at {_redact(url)} ({type(exc).__name__}: {exc}). Start it, or set "
                "BENCH_DATABASE_URL=postgresql://user:password@host:port/postgres (a user who may create databases).")
    await conn.close()
    return None


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


# --- processes --------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak RSS) of a live process, in KiB."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, for utilisation over an interval."""
    with open("/proc/stat", encoding="ascii") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class Server:
    """A uvicorn process (one worker, in-process) serving ``app`` on 127.0.0.1."""

    name: str
    app: str
    env: dict[str, str]
    factory: bool = False
    port: int = field(default_factory=free_port)
    process: Process | None = None
    log_path: Path | None = None
    cwd: Path = ROOT  # another checkout (with its directory first on PYTHONPATH) to run that code

    def start(self, ready_path: str, ready_headers: dict[str, str], timeout: float = 90.0) -> None:
        RESULTS_DIR.mkdir(exist_ok=True)
        self.log_path = RESULTS_DIR / f"server-{self.name}.log"
        cmd = [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
               "--no-access-log", "--no-proxy-headers", "--timeout-keep-alive", "30"]
        if self.factory:
            cmd.append("--factory")
        self.process = Process(self.name, cmd, env={**self.env, "PYTHONUNBUFFERED": "1"}, cwd=self.cwd,
                               log_path=self.log_path).start()
        self.process.wait_http(f"http://127.0.0.1:{self.port}{ready_path}", timeout, headers=ready_headers)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        return self.process.tail(lines) if self.process else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@contextlib.contextmanager
def running(server: Server, ready_path: str, ready_headers: dict[str, str]) -> Iterator[Server]:
    server.start(ready_path, ready_headers)
    try:
        yield server
    finally:
        server.stop()


# --- load -----------------------------------------------------------------------------------


def run_load(port: int, requests_file: Path, *, connections: int, duration: float, max_requests: int,
             seed: int) -> dict[str, Any]:
    """Run bench.loadgen in its own process against 127.0.0.1:port; returns its JSON report."""
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--requests", str(requests_file),
           "--connections", str(connections), "--duration", str(duration), "--max-requests", str(max_requests),
           "--seed", str(seed)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=duration + 120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}):\n{out.stderr.decode(errors='replace')}")
    return json.loads(out.stdout)


def measure(server: Server, requests_file: Path, *, connections: int, duration: float, warmup: float,
            max_requests: int, seed: int) -> dict[str, Any]:
    """Warm up, then one measured run, with the server's CPU time and the machine's utilisation.

    ``background_busy_pct`` is the machine's utilisation over one second with the server
    idle, just before the run: other work on the box (this machine is shared) shows there.
    """
    busy0, total0 = machine_cpu()
    time.sleep(1.0)
    busy1, total1 = machine_cpu()
    background = round(100 * (busy1 - busy0) / max(total1 - total0, 1), 1)
    if warmup > 0:
        run_load(server.port, requests_file, connections=connections, duration=warmup, max_requests=max_requests,
                 seed=seed + 1)
    cpu0, (busy0, total0) = cpu_seconds(server.pid), machine_cpu()
    report = run_load(server.port, requests_file, connections=connections, duration=duration,
                      max_requests=max_requests, seed=seed)
    cpu1, (busy1, total1) = cpu_seconds(server.pid), machine_cpu()
    report["server_cpu_s"] = round(cpu1 - cpu0, 2)
    report["server_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / max(report["requests"], 1), 3)
    report["machine_cpu_busy_pct"] = round(100 * (busy1 - busy0) / max(total1 - total0, 1), 1)
    report["server_rss_kib"] = proc_status(server.pid).get("VmRSS")
    report["background_busy_pct"] = background
    return report
