"""Court and department staff on a phone: the lots pages pass axe-core (no serious or critical
finding), fit 375 px, and work without JavaScript (plain forms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


async def _context(browser: Any, *, js: bool = True) -> Any:
    return await browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", java_script_enabled=js,
                                     bypass_csp=True)


async def _sign_in(page: Any, portal_url: str, email: str) -> None:
    await page.goto(f"{portal_url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "demo-pass-2026")
    await page.click("main form button[type=submit]")
    await page.wait_for_load_state()


async def _serious(page: Any) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                           .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    return list(found)


async def test_the_court_pages_pass_axe_and_fit_a_phone(browser: Any, portal_url: str) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")
    context = await _context(browser)
    page = await context.new_page()
    await _sign_in(page, portal_url, "court@demo.local")
    for path in ("/staff/lots", "/staff/lots/ZJ-0681-2026-0155", "/staff/lots/ZJ-0681-2026-0142",
                 "/staff/lots/new", "/staff/lots/ZJ-0681-2026-0139/confirm/sale",
                 "/staff/lots/ZJ-0681-2026-0148/edit"):
        resp = await page.goto(f"{portal_url}{path}")
        assert resp.status == 200, path
        assert await _serious(page) == [], path
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375, path
    await context.close()


async def test_a_department_answers_its_pre_review_on_a_phone_without_javascript(browser: Any,
                                                                                  portal_url: str) -> None:
    context = await _context(browser, js=False)
    page = await context.new_page()
    await _sign_in(page, portal_url, "water@demo.local")
    await page.goto(f"{portal_url}/staff/lots/ZJ-0681-2026-0148/review/water")
    assert "联审" in await page.locator("h1").inner_text()
    await page.fill("input[name='utilities.arrears']", "-1")
    await page.click("form.review-form button[type=submit]")
    assert "请填写不小于 0 的数字" in await page.locator(".field-error").first.inner_text()
    await page.fill("input[name='utilities.arrears']", "128.50")
    await page.click("form.review-form button[type=submit]")
    await page.wait_for_load_state()
    assert "已签署" in await page.locator("p.ok").inner_text()
    assert "¥128.50" in await page.locator("section.card").inner_text()
    await context.close()
    if AXE.exists():
        context = await _context(browser)
        page = await context.new_page()
        await _sign_in(page, portal_url, "water@demo.local")
        await page.goto(f"{portal_url}/staff/lots/ZJ-0681-2026-0148/review/water")
        assert await _serious(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await context.close()


async def test_the_court_withdraws_a_lot_only_after_confirming_without_javascript(browser: Any,
                                                                                 portal_url: str) -> None:
    context = await _context(browser, js=False)
    page = await context.new_page()
    await _sign_in(page, portal_url, "court@demo.local")
    await page.goto(f"{portal_url}/staff/lots/ZJ-0681-2026-0151")
    await page.click("a.button.danger")  # the draft's only final action: withdraw
    await page.fill("textarea[name=reason]", "被执行人已全部履行")
    await page.click("form.confirm-form button.danger")
    assert "请勾选确认框" in await page.locator(".error-summary").inner_text()
    await page.check("input[name=confirm]")
    await page.click("form.confirm-form button.danger")
    await page.wait_for_load_state()
    assert "已撤回" in await page.locator("p.ok").inner_text()
    await context.close()
