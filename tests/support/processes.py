"""Start a process, wait until it answers, stop it: the one helper the tests and bench/ use.

    server = Process("portal", [sys.executable, "-m", "portal", "serve"], env={...}, log_path=tmp / "portal.log")
    server.start()
    server.wait_http("http://127.0.0.1:8000/healthz", timeout=30)
    ...
    server.stop()

or ``with Process(...).start() as server: ...``. The process's output goes to ``log_path``
(or nowhere); a failure to start says why and shows the log's last lines. ``stop`` sends
``stop_signal`` (SIGINT by default: uvicorn, Rasa and Sanic shut down cleanly on it), waits,
then kills — the whole process group when it was started in a session of its own.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]

Accept = Callable[[int, bytes], bool]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ok_200(status: int, body: bytes) -> bool:
    return status == 200


@dataclass
class Process:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)  # over os.environ
    cwd: Path = ROOT
    log_path: Path | None = None  # None: output discarded
    new_session: bool = False  # its own process group, killed as a whole
    stop_signal: int = signal.SIGINT
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        env = {**os.environ, **self.env}
        if self.log_path is None:
            self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                                         stderr=subprocess.DEVNULL, start_new_session=self.new_session)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=env, stdout=log,  # noqa: S603
                                             stderr=subprocess.STDOUT, start_new_session=self.new_session)
        return self

    @property
    def running(self) -> bool:
        """Started and not exited."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was not started"
        return self.proc.pid

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _failed(self, message: str) -> RuntimeError:
        where = f"; see {self.log_path}:\n{self.tail()}" if self.log_path else ""
        return RuntimeError(f"{self.name} {message}{where}")

    def _check_alive(self) -> None:
        assert self.proc is not None, f"{self.name} was not started"
        if self.proc.poll() is not None:
            raise self._failed(f"exited with {self.proc.returncode} while starting")

    def wait_http(self, url: str, timeout: float = 30.0, accept: Accept = ok_200,
                  headers: dict[str, str] | None = None, interval: float = 0.2) -> float:
        """Poll ``GET url`` until ``accept(status, body)``; returns the seconds it took.

        Raises (and stops the process) if it exits or is not ready in time."""
        parts = urllib.parse.urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        last = "no answer"
        try:
            while time.monotonic() - started < timeout:
                self._check_alive()
                try:
                    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
                    try:
                        conn.request("GET", path, headers=headers or {})
                        resp = conn.getresponse()
                        body = resp.read()
                    finally:
                        conn.close()
                    if accept(resp.status, body):
                        return time.monotonic() - started
                    last = f"HTTP {resp.status} for {path}"
                except OSError as exc:
                    last = type(exc).__name__
                time.sleep(interval)
            raise self._failed(f"not ready after {timeout:.0f}s ({last})")
        except BaseException:
            self.stop()
            raise

    def wait_port(self, port: int, timeout: float = 30.0, interval: float = 0.05) -> float:
        """Wait until something listens on 127.0.0.1:port (for servers without an HTTP check)."""
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                self._check_alive()
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return time.monotonic() - started
                time.sleep(interval)
            raise self._failed(f"did not listen on 127.0.0.1:{port} within {timeout:.0f}s")
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                if self.new_session:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self) -> Process:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
