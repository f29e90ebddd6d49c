"""The API page renders its operations in a real browser, under the portal's own CSP, offline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_swagger_page_lists_operations_without_csp_violations(browser, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(portal_url) else None)
    try:
        await page.goto(f"{portal_url}/schema/swagger")
        await page.wait_for_selector(".opblock", timeout=15000)
        assert await page.locator(".opblock").count() > 5
        paths = await page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.startswith("/api/") for p in paths), paths
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
        assert outside == []
    finally:
        await context.close()
