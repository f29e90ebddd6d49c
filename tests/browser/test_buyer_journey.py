"""A buyer on a phone: code lookup, the task list in Chinese and English, live refresh."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.browser


async def _open_demo_transfer(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/track")
    await phone.fill("input[name=tracking_no]", "zt2026000001")
    await phone.fill("input[name=code]", "yjsz-2468")
    await phone.click("form.stack button[type=submit]")
    await phone.wait_for_url(f"{portal_url}/track/ZT2026000001")


async def test_buyer_follows_the_demo_transfer_on_a_phone(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await _open_demo_transfer(phone, portal_url)
    assert await phone.locator("#step-tax_assessment .badge").inner_text() == "办理中"
    assert "燃气表需入户安全检查" in await phone.locator("#step-gas_handover").inner_text()
    assert "契税" in await phone.locator("table.tax").inner_text()
    # Nothing sticks out of a 375 px screen.
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.click("a.lang")
    await phone.wait_for_load_state()
    assert await phone.locator("#step-tax_assessment .badge").inner_text() == "In progress"
    assert "Deed tax" in await phone.locator("table.tax").inner_text()


async def test_a_wrong_code_is_explained_on_the_page(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/track")
    await phone.fill("input[name=tracking_no]", "ZT2026000002")
    await phone.fill("input[name=code]", "NOTRIGHT")
    await phone.click("form.stack button[type=submit]")
    assert "查询号或查询码不正确" in await phone.locator("p.error").inner_text()


async def test_the_page_updates_itself_when_staff_move_a_step(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await _open_demo_transfer(phone, portal_url)
    assert await phone.locator("#step-water_handover .badge").inner_text() == "可办理"
    # A water-company clerk starts the handover from another device.
    async with httpx.AsyncClient(base_url=portal_url) as staff:
        await staff.get("/login")
        token = staff.cookies["csrftoken"]
        await staff.post("/login", data={"email": "water@demo.local", "password": "demo-pass-2026",
                                         "_csrf_token": token})
        page = (await staff.get("/staff/transfers/ZT2026000001")).text
        block = page.split('id="step-water_handover"', 1)[1]
        revision = block.split('name="revision" value="', 1)[1].split('"', 1)[0]
        resp = await staff.post("/staff/transfers/ZT2026000001/steps/water_handover",
                                data={"action": "start", "revision": revision, "_csrf_token": token})
        assert resp.status_code in (200, 303)
    # htmx polls every 2 s in this test portal: no reload.
    await phone.locator("#step-water_handover .badge", has_text="办理中").wait_for(timeout=10_000)
