"""The one helper that starts, waits for and stops processes (tests and bench/ use it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.processes import Process, free_port


def test_a_server_is_waited_for_over_http_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "hello.txt").write_text("hello", encoding="utf-8")
    server = Process("http.server", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                     cwd=tmp_path, log_path=tmp_path / "server.log")
    with server.start():
        assert server.wait_http(f"http://127.0.0.1:{port}/hello.txt", timeout=30) >= 0
        assert server.proc is not None and server.proc.poll() is None
    assert server.proc.poll() is not None  # stopped on leaving the block


def test_a_process_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    crash = Process("crasher", [sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)"],
                    log_path=tmp_path / "crash.log").start()
    with pytest.raises(RuntimeError, match=r"crasher exited with 3(.|\n)*boom: bad config"):
        crash.wait_http(f"http://127.0.0.1:{free_port()}/", timeout=30)
