"""A real portal process (uvicorn, SQLite, demo data) and headless Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import Process, free_port

ROOT = Path(__file__).resolve().parents[2]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def running_portal(directory: Path) -> Iterator[str]:
    """A migrated, seeded portal on a free port (SQLite in ``directory``), stopped on exit."""
    port = free_port()
    db = directory / "portal.db"
    env = {"DATABASE_URL": f"sqlite:///{db}", "PORT": str(port), "PORTAL_ENV": "development",
           "TRACKING_POLL_SECONDS": "2", "RASA_URL": "http://127.0.0.1:9", "DOCUMENT_DIR": str(directory / "docs")}
    for command in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "portal", command], env={**os.environ, **env}, cwd=ROOT, check=True,
                       capture_output=True)
    url = f"http://127.0.0.1:{port}"
    with Process("portal", [sys.executable, "-m", "portal", "serve"], env=env, log_path=directory / "portal.log",
                 stop_signal=signal.SIGTERM) as portal:
        portal.wait_http(f"{url}/healthz", timeout=30, accept=lambda status, _body: status in (200, 503))
        yield url


@pytest.fixture(scope="session")
def portal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_portal(tmp_path_factory.mktemp("browser")) as url:
        yield url


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


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


async def axe_findings(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the page as it is now ("rule: target" lines).

    The page's context must bypass the CSP (``bypass_csp=True``): axe is injected as a script.
    """
    if not AXE.exists():
        pytest.skip("axe-core not installed (npm install: it is in package.json)")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')));
    }""")
    return list(result)
