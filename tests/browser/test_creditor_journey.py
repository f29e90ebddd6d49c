"""A creditor on a phone and on a desktop, with and without JavaScript: the demo case's
progress, then an asset clue into the court's queue; axe-core finds nothing serious."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "node_modules" / "axe-core" / "axe.min.js")
NUMBER, ID_NUMBER, CODE = "(2025)浙0681执1234号", "330681198506123010", "ZJCS2468"


async def _context(browser: Any, *, phone: bool, js: bool, lang: str = "zh-CN") -> Any:
    size = {"width": 375, "height": 812} if phone else {"width": 1280, "height": 900}
    # bypass_csp: only so that the test can load axe-core into the page; the portal's CSP stays as it is.
    return await browser.new_context(viewport=size, locale=lang, java_script_enabled=js, bypass_csp=True)


async def _serious(page: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: npm ci installs it (package.json)")
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    found = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
    return [v for v in found if v["impact"] in ("serious", "critical")]


async def _open_case(page: Any, portal_url: str) -> None:
    await page.goto(f"{portal_url}/cases")
    await page.fill("input[name=case_number]", "（2025）浙0681执1234号")
    await page.fill("input[name=id_number]", ID_NUMBER)
    await page.fill("input[name=query_code]", "zjcs-2468")
    await page.click("form.stack button[type=submit]")
    await page.wait_for_url(f"{portal_url}/cases/*")


async def _send_clue(page: Any) -> str:
    await page.click("a[href$='/clues/asset_clue']")
    await page.select_option("select[name=asset_type]", "vehicle")
    await page.fill("textarea[name=description]", "被执行人的别克英朗常停在暨阳街道某小区地下车库。")
    await page.fill("input[name=contact_name]", "李建华")
    await page.fill("input[name=contact_phone]", "13905750000")
    await page.click("form.stack button[type=submit]")
    await page.wait_for_url("**/cases/*?sent=WI-*")
    return page.url.split("sent=", 1)[1]


async def test_creditor_on_a_phone_with_javascript(browser: Any, portal_url: str) -> None:
    context = await _context(browser, phone=True, js=True)
    page = await context.new_page()
    try:
        await page.goto(f"{portal_url}/")
        assert await page.locator("#creditors a[href='/cases']").count() == 1  # the creditor entry on the home page
        await page.goto(f"{portal_url}/cases")
        assert await _serious(page) == []
        await _open_case(page, portal_url)
        text = await page.locator("main").inner_text()
        assert NUMBER in text and "诸暨市人民法院" in text and "拍卖成交" in text
        assert "通常的下一步" in await page.locator("#next").inner_text()
        assert "¥1,500,000.00" in await page.locator("#my-payout").inner_text()
        assert "诸暨市恒信小额贷款有限公司" not in text and "诸暨****公司" in text  # others masked
        assert await page.locator("a[href='/lots/ZJ-0681-2026-0142']").count() == 1
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        assert await _serious(page) == []
        await page.click("a[href$='/clues/asset_clue']")
        assert await _serious(page) == []
        await page.go_back()
        ref = await _send_clue(page)
        assert ref.startswith("WI-") and ref in await page.locator("p.ok").inner_text()
        assert await _serious(page) == []
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=portal_url) as staff:  # the clue is in the court's queue, linked back
        await staff.get("/login")
        await staff.post("/login", data={"email": "court@demo.local", "password": "demo-pass-2026",
                                         "_csrf_token": staff.cookies["csrftoken"]})
        item = await staff.get(f"/staff/items/{ref}")
        assert item.status_code == 200 and "/staff/cases/" in item.text and "案件当事人(已核验)" in item.text


async def test_creditor_on_a_desktop_without_javascript_in_english(browser: Any, portal_url: str) -> None:
    context = await _context(browser, phone=False, js=False, lang="en-GB")
    page = await context.new_page()
    try:
        await _open_case(page, portal_url)
        await page.goto(page.url + "?lang=en")
        text = await page.locator("main").inner_text()
        assert "Sold at auction" in text and "Distribution plan" in text and "Your payout" in text
        assert "Reload the page to see the latest state." in text  # the noscript hint
        ref = await _send_clue(page)
        assert ref.startswith("WI-")
    finally:
        await context.close()


async def test_the_pages_pass_axe_on_a_desktop_in_english(browser: Any, portal_url: str) -> None:
    context = await _context(browser, phone=False, js=True, lang="en-GB")
    page = await context.new_page()
    try:
        await _open_case(page, portal_url)
        await page.goto(page.url.split("?")[0] + "?lang=en")
        assert await _serious(page) == []
        await page.goto(f"{portal_url}/cases?lang=en")
        await page.fill("input[name=case_number]", NUMBER)
        await page.fill("input[name=id_number]", ID_NUMBER)
        await page.fill("input[name=query_code]", "WRONG234")
        await page.click("form.stack button[type=submit]")
        assert "do not match" in await page.locator("p.error").inner_text()
        assert await _serious(page) == []
    finally:
        await context.close()
