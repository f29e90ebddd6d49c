"""A real portal process (uvicorn, SQLite, demo data) and headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def portal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    db = tmp_path_factory.mktemp("browser") / "portal.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PORT": str(port), "PORTAL_ENV": "development",
           "TRACKING_POLL_SECONDS": "2", "RASA_URL": "http://127.0.0.1:9", "DOCUMENT_DIR": str(db.parent / "docs")}
    for command in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                       capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "portal", "serve"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("portal did not start: " + (proc.stderr.read() or b"").decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    path = _chromium()
    if path is None:
        pytest.skip("Chromium not installed (apt-get install chromium); .ci/run installs it")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield b
        await b.close()


@pytest.fixture
async def phone(browser):  # type: ignore[no-untyped-def]
    """A 375 px phone-sized page, Chinese locale."""
    context = await browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page = await context.new_page()
    yield page
    await context.close()
