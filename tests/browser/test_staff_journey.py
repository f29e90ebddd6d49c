"""Staff in a real browser: phone and desktop, Chinese and English, JavaScript on and off.

Every staff page visited is checked with axe-core (no serious or critical findings) and for
horizontal scrolling; the item page's words, checkboxes, grouped and confirmed actions and
the claim's extension are walked as a clerk would. One journey runs the whole job: a buyer's
utility handover request joins the step's item, staff complete it, the tracking page and the
API say done.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import axe_findings, running_portal

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-2026"
SIZES = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
VARIANTS = [(device, lang, js) for device in ("phone", "desktop") for lang in ("zh", "en") for js in (True, False)]
WORDS = {
    "zh": {"claim": "认领", "until": "认领至", "claimed": "认领", "extended": "延长认领", "water": "供水公司 赵*",
           "steps": "自来水过户", "headline": "2.0 天", "table": "以表格查看数据", "complete": "办结(不可撤销)"},
    "en": {"claim": "Claim", "until": "claim runs until", "claimed": "Claimed", "extended": "Claim extended",
           "water": "Water company 赵*", "steps": "Water", "headline": "2.0 days", "table": "Show the figures as a table",
           "complete": "Complete (final)"},
}
CODES = ("request_correction", "source_update", ">claim<", ">extend<", ">open<", "staff:", "buyer:", "citizen:")


@pytest.fixture(scope="module")
def staff_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A portal of this module's own: the journeys below change the demo data."""
    with running_portal(tmp_path_factory.mktemp("staff")) as url:
        yield url


async def _sign_in_client(client: httpx.AsyncClient, email: str) -> None:
    await client.get("/login")
    resp = await client.post("/login", data={"email": email, "password": PASSWORD,
                                             "_csrf_token": client.cookies["csrftoken"]})
    assert resp.status_code in (200, 303)


@pytest.fixture(scope="module")
async def supplement(staff_portal: str) -> str:
    """A citizen's form in the water company's queue (it has fields a correction can name)."""
    async with httpx.AsyncClient(base_url=staff_portal) as buyer:
        await _sign_in_client(buyer, "buyer@demo.local")
        form = (await buyer.get("/my/submissions/new/document_supplement")).text
        key = re.search(r'name="_key" value="([^"]+)"', form)
        assert key, "no one-time key in the form"
        resp = await buyer.post("/my/submissions/new/document_supplement", data={
            "_key": key.group(1), "_csrf_token": buyer.cookies["csrftoken"], "department": "water",
            "reference": "ZT2026000001", "description": "补充水表照片", "contact_phone": "13812345678"})
        assert resp.status_code == 303, resp.text
        match = re.search(r"WI-\d+", resp.headers["location"])
        assert match
        return match.group(0)


async def _context(browser, device: str, lang: str, js: bool):  # type: ignore[no-untyped-def]
    return await browser.new_context(viewport=SIZES[device], locale="zh-CN" if lang == "zh" else "en-US",
                                     java_script_enabled=js, bypass_csp=True)


async def _sign_in(page, url: str, email: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(f"{url}/login?lang={lang}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("main form.stack button[type=submit]")
    await page.wait_for_load_state()


class Visits:
    """Pages seen in a run; checked with axe in the run (JavaScript on) or afterwards in a
    JavaScript-enabled copy of the session (JavaScript off: axe needs script)."""

    def __init__(self, width: int, js: bool) -> None:
        self.width, self.js, self.urls, self.findings = width, js, [], {}  # type: ignore[var-annotated]

    async def check(self, page) -> None:  # type: ignore[no-untyped-def]
        self.urls.append(page.url)
        if self.js:
            await self._axe(page)

    async def _axe(self, page) -> None:  # type: ignore[no-untyped-def]
        assert await page.evaluate("document.documentElement.scrollWidth") <= self.width, page.url
        found = await axe_findings(page)
        if found:
            self.findings[page.url] = found

    async def finish(self, browser, context, device: str, lang: str) -> None:  # type: ignore[no-untyped-def]
        if not self.js:
            state = await context.storage_state()
            copy = await browser.new_context(viewport=SIZES[device], locale="zh-CN" if lang == "zh" else "en-US",
                                             bypass_csp=True, storage_state=state)
            page = await copy.new_page()
            for url in dict.fromkeys(self.urls):
                await page.goto(url)
                await self._axe(page)
            await copy.close()
        assert self.findings == {}


@pytest.mark.parametrize(("device", "lang", "js"), VARIANTS,
                         ids=[f"{d}-{lg}-{'js' if j else 'nojs'}" for d, lg, j in VARIANTS])
async def test_a_clerk_works_an_item_on_every_screen(browser, staff_portal: str, supplement: str,  # type: ignore[no-untyped-def]
                                                     device: str, lang: str, js: bool) -> None:
    words = WORDS[lang]
    context = await _context(browser, device, lang, js)
    page = await context.new_page()
    visits = Visits(SIZES[device]["width"], js)
    try:
        await _sign_in(page, staff_portal, "water@demo.local", lang)
        await page.goto(f"{staff_portal}/staff")
        assert await page.locator(f'a[href="/staff/items/{supplement}"]').count() == 1
        await visits.check(page)

        item_url = f"{staff_portal}/staff/items/{supplement}"
        await page.goto(item_url)
        await visits.check(page)
        await page.click(f'form[action$="/{supplement}/claim"] button')
        await page.wait_for_url(re.compile(r"done=claim"))
        status = await page.locator("#claim-status").inner_text()
        assert words["until"] in status
        await visits.check(page)

        # Each correction checkbox sits to the left of its own label, on the same line.
        boxes = page.locator("input[type=checkbox][name=fields]")
        assert await boxes.count() >= 2
        for i in range(await boxes.count()):
            box = boxes.nth(i)
            label = page.locator(f'label[for="{await box.get_attribute("id")}"]')
            b, lb = await box.bounding_box(), await label.bounding_box()
            assert b and lb and b["width"] < 40 and b["x"] + b["width"] <= lb["x"] + 1
            assert abs((b["y"] + b["height"] / 2) - (lb["y"] + lb["height"] / 2)) < 14

        # Groups; the final button is not the ordinary red one, and does nothing without the tick.
        assert await page.locator("section.action-group").count() == 3
        final = page.locator('form[action$="/complete"] button.final')
        assert await final.inner_text() == words["complete"]
        await final.click()
        assert "done=complete" not in page.url
        assert await page.locator('form[action$="/complete"] input[name=confirm]').is_visible()

        # The claim is extended from the page.
        await page.click(f'form[action$="/{supplement}/extend"] button')
        await page.wait_for_url(re.compile(r"done=extend"))
        history = await page.locator("#history + .table-wrap").inner_text()
        assert words["extended"] in history and words["claimed"] in history and words["water"] in history
        html = await page.locator("#history + .table-wrap").inner_html()
        assert not [c for c in CODES if c in html]
        await visits.check(page)
        await page.click(f'form[action$="/{supplement}/release"] button')
        await page.wait_for_url(re.compile(r"done=release"))

        await page.goto(f"{staff_portal}/staff/transfers/ZT2026000001")
        assert await page.locator('#step-water_handover input[name=confirm][required]').count() == 2
        await visits.check(page)
        await page.goto(f"{staff_portal}/staff/steps")
        assert "water_handover" not in await page.locator("main").inner_text()
        await visits.check(page)
        await page.goto(f"{staff_portal}/staff/dashboard")
        main = await page.locator("main").inner_text()
        assert words["headline"] in main and words["table"] in main
        await visits.check(page)
        await visits.finish(browser, context, device, lang)
    finally:
        await context.close()


async def test_a_request_completed_by_staff_shows_done_on_the_tracking_page(browser, staff_portal: str) -> None:  # type: ignore[no-untyped-def]
    # The buyer, on a phone without JavaScript, asks for the water account handover.
    buyer_ctx = await _context(browser, "phone", "zh", False)
    buyer = await buyer_ctx.new_page()
    staff_ctx = await _context(browser, "desktop", "en", True)
    staff = await staff_ctx.new_page()
    buyer_visits, staff_visits = Visits(375, False), Visits(1280, True)
    try:
        await _sign_in(staff, staff_portal, "water@demo.local", "en")
        await staff.goto(f"{staff_portal}/staff?kind=transfer_step")
        links = staff.locator('li:has-text("ZT2026000001") a[href^="/staff/items/WI-"]')
        assert await links.count() == 1
        step_ref = (await links.first.inner_text()).strip()

        await _sign_in(buyer, staff_portal, "buyer@demo.local", "zh")
        await buyer.goto(f"{staff_portal}/my/submissions/new/utility_handover")
        await buyer_visits.check(buyer)
        # A signed-in buyer picks one of their own transfers (the form offers them; see the citizen journeys).
        await buyer.select_option("select[name=tracking_number]", "ZT2026000001")
        await buyer.select_option("select[name=utility_type]", "water")
        await buyer.fill("input[name=account_holder_name]", "张*明")
        await buyer.fill("input[name=contact_phone]", "13812345678")
        await buyer.click("main form.stack button[type=submit]")
        await buyer.wait_for_url(re.compile(r"/my/submissions/WI-"))
        assert step_ref in buyer.url  # one job, one item
        await buyer_visits.check(buyer)
        await buyer.goto(f"{staff_portal}/track/ZT2026000001")
        step = buyer.locator("#step-water_handover")
        assert step_ref in await step.inner_text()
        await buyer_visits.check(buyer)

        # The water company's clerk completes it, with the tick.
        await staff.goto(f"{staff_portal}/staff/items/{step_ref}")
        assert "13812345678" in await staff.locator("main").inner_text()
        await staff.click(f'form[action$="/{step_ref}/claim"] button')
        await staff.wait_for_url(re.compile(r"done=claim"))
        await staff_visits.check(staff)
        await staff.fill("#note", "已完成过户")
        await staff.check("#confirm-complete")
        await staff.click('form[action$="/complete"] button.final')
        await staff.wait_for_url(re.compile(r"done=complete"))
        await staff_visits.check(staff)

        await buyer.goto(f"{staff_portal}/track/ZT2026000001")
        assert await buyer.locator("#step-water_handover .badge").first.inner_text() == "已完成"
        text = await buyer.locator("#step-water_handover").inner_text()
        assert step_ref in text and "已完成过户" in text
        await buyer_visits.check(buyer)
        async with httpx.AsyncClient(base_url=staff_portal) as api:
            view = (await api.get("/api/v1/transfers/ZT2026000001",
                                  headers={"X-Verification-Code": "YJSZ2468"})).json()
        water = next(s for s in view["steps"] if s["key"] == "water_handover")
        assert water["state"] == "done" and water["details"]["requests"][0]["reference"] == step_ref
        await buyer_visits.finish(browser, buyer_ctx, "phone", "zh")
        await staff_visits.finish(browser, staff_ctx, "desktop", "en")
    finally:
        await buyer_ctx.close()
        await staff_ctx.close()
