"""A mass payee checks their payout: phone and desktop, with and without JavaScript, and axe-core.

The demo batch PF2026HZ0001 is seeded by `python -m portal seed` (cases/payouts_demo.py).
axe-core comes from node_modules (package.json); without it the accessibility checks skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BATCH = "PF2026HZ0001"
PAID_ID = "330106198503151238"
FAILED_ID = "330108199207082466"


@pytest.fixture
async def desktop(browser):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def phone_without_js(browser):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN",
                                        java_script_enabled=False)
    page = await context.new_page()
    yield page
    await context.close()


async def _serious_axe_findings(page) -> list[str]:  # type: ignore[no-untyped-def]
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm install: package.json)")
    # Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not govern.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate("""async () => {
        const r = await axe.run(document);
        return [r.passes.length, r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                           .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))];
    }""")
    passes, findings = result
    assert passes > 10  # axe really ran its rules on this page
    return list(findings)


async def _check(page, portal_url: str, id_number: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(f"{portal_url}/payouts")
    await page.fill("input[name=batch_code]", BATCH.lower())
    await page.fill("input[name=id_number]", id_number)
    await page.click("form.stack button[type=submit]")


async def test_a_payee_sees_their_paid_payout_on_a_phone(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await _check(phone, portal_url, PAID_ID)
    await phone.locator("#payout-status").wait_for(timeout=10_000)
    assert await phone.locator("#payout-status").inner_text() == "已发放"
    assert await phone.locator("#payout-amount").inner_text() == "¥56,800.00"
    assert "尾号 7891" in await phone.locator("#payout-next").inner_text()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert await _serious_axe_findings(phone) == []


async def test_a_failed_payout_says_why_and_whom_to_call_on_a_desktop_in_english(desktop, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await desktop.goto(f"{portal_url}/payouts?lang=en")
    await desktop.fill("input[name=batch_code]", BATCH)
    await desktop.fill("input[name=id_number]", FAILED_ID)
    await desktop.click("form.stack button[type=submit]")
    await desktop.locator("#payout-status").wait_for(timeout=10_000)
    assert "returned" in await desktop.locator("#payout-status").inner_text()
    text = await desktop.locator("#payout-result").inner_text()
    assert "does not match the payee's name" in text and "0571-12368" in text
    assert await _serious_axe_findings(desktop) == []


async def test_the_lookup_works_without_javascript(phone_without_js, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await _check(phone_without_js, portal_url, PAID_ID)
    await phone_without_js.wait_for_load_state()
    assert phone_without_js.url.endswith("/payouts")
    assert await phone_without_js.locator("#payout-status").inner_text() == "已发放"
    # A wrong ID number gets the same refusal as an unknown batch, beside the form.
    await phone_without_js.fill("input[name=batch_code]", BATCH)
    await phone_without_js.fill("input[name=id_number]", "11010119700101999" + "6")
    await phone_without_js.click("form.stack button[type=submit]")
    await phone_without_js.wait_for_load_state()
    error = await phone_without_js.locator("#payout-error").inner_text()
    assert "没有找到对应的发放记录" in error or "校验位" in error


async def test_the_staff_batch_page_shows_progress_and_passes_axe(desktop, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await desktop.goto(f"{portal_url}/login")
    await desktop.fill("input[name=email]", "court@demo.local")
    await desktop.fill("input[name=password]", "demo-pass-2026")
    await desktop.click("form.stack button[type=submit]")
    await desktop.wait_for_load_state()
    await desktop.goto(f"{portal_url}/staff/payouts/{BATCH}")
    assert await desktop.locator("svg.chart title").text_content() == "发放进度"
    rows = await desktop.locator("#progress-table tbody tr").all_inner_texts()
    assert rows[-1].split("\t")[1].strip() == "3,000"
    assert await _serious_axe_findings(desktop) == []


async def test_staff_pages_fit_a_phone_and_closing_asks_first(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/login")
    await phone.fill("input[name=email]", "court@demo.local")
    await phone.fill("input[name=password]", "demo-pass-2026")
    await phone.click("form.stack button[type=submit]")
    await phone.wait_for_load_state()
    for path in ("/staff/payouts", f"/staff/payouts/{BATCH}", f"/staff/payouts/{BATCH}/close"):
        await phone.goto(f"{portal_url}{path}")
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 375, path
        assert await _serious_axe_findings(phone) == [], path
    # The confirmation page is where closing happens; leaving it keeps the batch open.
    assert await phone.locator("button.danger").count() == 1
    await phone.click("text=不,暂不结束")
    await phone.wait_for_load_state()
    assert "发放中" in await phone.locator("main").inner_text()
