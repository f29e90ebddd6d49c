"""Citizen journeys of issue 12 in headless Chromium: phone and desktop, Chinese and English,
JavaScript on and off, with axe-core on every page visited (no serious or critical findings)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from portal.demo_documents import one_page_pdf
from storage.workdays import default_calendar

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LOCALES = {"zh": "zh-CN", "en": "en-GB"}
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


class Checker:
    """Runs axe-core on each page; a page seen without JavaScript is checked as served, in a JS page."""

    def __init__(self, browser: Any, portal_url: str) -> None:
        self.browser = browser
        self.portal_url = portal_url
        self.context: Any = None
        self.found: dict[str, list[str]] = {}

    async def check(self, page: Any, label: str) -> None:
        if not AXE.exists():
            pytest.skip("axe-core not installed (npm install, package.json)")
        target = page
        if not await _scripts_run(page):
            if self.context is None:
                self.context = await self.browser.new_context(**DESKTOP)
            target = await self.context.new_page()
            html = (await page.content()).replace("<head>", f'<head><base href="{self.portal_url}/">', 1)
            await target.set_content(html)
        await target.evaluate(AXE.read_text(encoding="utf-8"))
        serious = await target.evaluate(AXE_RUN)
        if target is not page:
            await target.close()
        if serious:
            self.found[f"{label} {page.url}"] = serious

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


async def _scripts_run(page: Any) -> bool:
    """Whether the page runs scripts: a timer fires only where JavaScript is on."""
    try:
        return bool(await asyncio.wait_for(
            page.evaluate("() => new Promise(resolve => setTimeout(() => resolve(true), 0))"), 2))
    except TimeoutError:
        return False


@pytest.fixture
async def axe(browser, portal_url: str):  # type: ignore[no-untyped-def]
    checker = Checker(browser, portal_url)
    yield checker
    await checker.close()
    assert checker.found == {}, checker.found


async def _page(browser: Any, device: dict[str, Any], lang: str, js: bool = True) -> tuple[Any, Any]:
    context = await browser.new_context(**device, locale=LOCALES[lang], java_script_enabled=js,
                                        extra_http_headers={"Accept-Language": LOCALES[lang]})
    return context, await context.new_page()


async def _sign_in(page: Any, url: str, email: str) -> None:
    await page.goto(f"{url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "demo-pass-2026")
    await page.click("form.stack button[type=submit]")
    await page.wait_for_load_state()


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_public_pages_and_the_demo_transfer(browser, portal_url: str, axe: Checker, device: dict[str, Any],
                                                  lang: str) -> None:
    context, page = await _page(browser, device, lang)
    try:
        await page.goto(f"{portal_url}/?lang={lang}")
        await axe.check(page, "home")
        await page.click("main a[href='/stats']")
        await page.wait_for_url(f"{portal_url}/stats")
        assert await page.locator("details.chart-table table").count() >= 1
        await axe.check(page, "stats")
        for path in ("/guide", "/taxes", "/account/help", "/login", "/chat"):
            await page.goto(f"{portal_url}{path}")
            await axe.check(page, path)
        # An error page in the reader's language (?lang= honoured; no English detail on a Chinese page).
        other = "en" if lang == "zh" else "zh"
        resp = await page.goto(f"{portal_url}/no-such-page?lang={other}")
        assert resp is not None and resp.status == 404
        assert await page.evaluate("document.documentElement.lang") == ("en" if other == "en" else "zh-CN")
        assert ("Not found" if other == "en" else "未找到") in await page.locator("h1").inner_text()
        await axe.check(page, "404")
        await page.goto(f"{portal_url}/?lang={lang}")

        await page.goto(f"{portal_url}/track")
        await axe.check(page, "lookup")
        assert "0575-0000-1001" in await page.locator("section[aria-labelledby=courts-h]").text_content()
        await page.fill("input[name=tracking_no]", "ZT2026000001")
        await page.fill("input[name=code]", "YJSZ2468")
        await page.click("form.stack button[type=submit]")
        await page.wait_for_url(f"{portal_url}/track/ZT2026000001")
        await axe.check(page, "tracking")
        # The next action and the task list come before the tax estimate; utilities and delivery once.
        next_y = (await page.locator("#next-h").bounding_box())["y"]
        steps_y = (await page.locator("#steps-h").bounding_box())["y"]
        tax_y = (await page.locator("#tax-h").bounding_box())["y"]
        assert next_y < steps_y < tax_y
        assert await page.locator("#util-h, #deliv-h").count() == 0
        # Free text in the reader's language, never a "中文 / English" pair.
        gas = await page.locator("#step-gas_handover").inner_text()
        if lang == "en":
            assert "The gas meter needs a safety check" in gas and "燃气表" not in gas
            assert "Flat 201, Building 3" in await page.locator("h1").inner_text()
        else:
            assert "燃气表需入户安全检查" in gas and "The gas meter" not in gas
        assert " / " not in await page.locator("#live").inner_text()
        # The gas company's contact is on the blocked step, open.
        assert await page.locator("#step-gas_handover details.contact[open] a[href^='tel:']").count() == 1
        # The sale ruling downloads.
        link = page.locator("#docs-h ~ ul a[download]", has_text="sale-ruling")
        assert await link.count() == 1
        got = await page.request.get(portal_url + (await link.get_attribute("href")))
        assert got.status == 200 and (await got.body()).startswith(b"%PDF-")
        # The language switch keeps the query string.
        await page.goto(f"{portal_url}/track/ZT2026000001?from=test")
        switch = await page.locator("a.lang").get_attribute("href")
        assert switch.endswith("next=/track/ZT2026000001%3Ffrom%3Dtest")
        if device is PHONE:
            assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        await context.close()


async def test_the_api_page_passes_axe(browser, portal_url: str, axe: Checker) -> None:
    context, page = await _page(browser, DESKTOP, "en")
    try:
        await page.goto(f"{portal_url}/schema/swagger")
        await page.wait_for_selector(".opblock", timeout=15000)
        assert await page.locator("#servers").get_attribute("aria-label") == "Server"
        await axe.check(page, "schema")
    finally:
        await context.close()


async def test_signed_in_buyer_on_a_phone_with_javascript(browser, portal_url: str, axe: Checker) -> None:
    context, page = await _page(browser, PHONE, "zh")
    try:
        await _sign_in(page, portal_url, "buyer@demo.local")
        assert "已登录" in await page.locator("header .who").inner_text()
        heights = await page.eval_on_selector_all(".top a, .top nav button",
                                                  "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and min(heights) >= 44
        await axe.check(page, "signed-in home")
        await page.goto(f"{portal_url}/my/submissions/new")
        await axe.check(page, "new request")
        first_cards = await page.locator("main > .cards").inner_text()
        assert "水电气过户申请" in first_cards and "财产线索" not in first_cards
        await page.click("a[href='/my/submissions/new/utility_handover']")
        await page.wait_for_url(f"{portal_url}/my/submissions/new/utility_handover")
        options = await page.locator("#f-tracking_number option").all_inner_texts()
        assert any("ZT2026000001" in o for o in options) and any("ZT2026000002" in o for o in options)
        assert await page.input_value("#f-contact_phone") == "13900001234"
        await axe.check(page, "utility form")
        await page.select_option("#f-utility_type", index=1)
        # A date in the past passes the browser's own checks; the server refuses it.
        await page.fill("#f-preferred_date", (dt.date.today() - dt.timedelta(days=1)).isoformat())
        await page.click("form.stack button[type=submit]")
        await page.wait_for_selector("#error-summary")
        assert await page.evaluate("document.activeElement && document.activeElement.id") == "error-summary"
        assert await page.get_attribute("#f-preferred_date", "aria-describedby") == "e-preferred_date"
        assert await page.locator("#error-summary a[href='#f-preferred_date']").count() == 1
        await axe.check(page, "utility form with errors")
        await page.fill("#f-preferred_date", "")
        await page.click("form.stack button[type=submit]")
        await page.wait_for_url("**/my/submissions/WI-*?sent=1")
        feedback = await page.locator(".feedback").inner_text()
        assert "确认短信将发送至 139****1234" in feedback and "前答复" in feedback
        await axe.check(page, "confirmation")
        # An htmx upload shows in the documents list at once.
        await page.click("details.attach summary")
        await page.set_input_files("details.attach input[type=file]", files=[
            {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf(["receipt (demo)"])}])
        await page.click("details.attach button[type=submit]")
        await page.locator("ul.doc-list a", has_text="receipt.pdf").wait_for(timeout=10_000)
        assert not await page.locator("ul.doc-list li.doc-empty").is_visible()
        # A message says what happens next.
        await page.fill("#reply-body", "请问什么时候可以办理?")
        await page.click("form[action$='/reply'] button[type=submit]")
        await page.wait_for_url("**done=reply")
        assert "下一步:他们将于" in await page.locator(".feedback").inner_text()
        await axe.check(page, "after reply")
    finally:
        await context.close()


async def test_signed_in_buyer_on_a_desktop_without_javascript(browser, portal_url: str, axe: Checker) -> None:
    context, page = await _page(browser, DESKTOP, "en", js=False)
    try:
        await _sign_in(page, portal_url, "buyer@demo.local")
        await page.goto(f"{portal_url}/my/submissions/new/delivery_appointment?lang=en")
        assert await page.locator("text=YYYY-MM-DD").count() == 0
        calendar = default_calendar()
        day = dt.date.today() + dt.timedelta(days=5)
        while calendar.is_working_day(day):
            day += dt.timedelta(days=1)
        await page.fill("#f-preferred_date", day.isoformat())
        await page.select_option("#f-time_slot", index=1)
        await page.click("form.stack button[type=submit]")
        await page.wait_for_load_state()
        # Without JavaScript, the summary is the first thing in the page's main content.
        first = await page.evaluate("document.querySelector('main').firstElementChild.id")
        assert first == "error-summary"
        summary = await page.locator("#error-summary").inner_text()
        assert "must be a working day" in summary and calendar.next_working_day(day).strftime("%d %b %Y") in summary
        await axe.check(page, "delivery form with errors (no JS)")
        await page.fill("#f-preferred_date", calendar.next_working_day(day).isoformat())
        await page.click("form.stack button[type=submit]")
        await page.wait_for_load_state()
        assert "?sent=1" in page.url
        assert "An SMS confirming it will follow to 139****1234." in await page.locator(".feedback").inner_text()
        await axe.check(page, "confirmation (no JS)")
    finally:
        await context.close()
