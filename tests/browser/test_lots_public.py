"""A bidder on a phone and on a desktop, with JavaScript and without: searching the lots,
reading a lot's findings and versions, adjusting the tax estimate; axe-core on every page."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.auction_listings.public_support import CHINA, answer, ask, make_lot
from tests.support.processes import Process, free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HOUSE, CAR = "BT-HOUSE-0001", "BT-CAR-0002"


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        house = await make_lot(s, lot_no=HOUSE, title="诸暨市暨阳街道望云路12幢301室", area_m2=D("150"))
        await ask(s, house, "registry", "tax", "court")
        await answer(s, house, "registry", 1, {"encumbrances": {"mortgaged": False, "other_seizures": 0}})
        await answer(s, house, "registry", 2, {"encumbrances": {"mortgaged": True, "other_seizures": 0}},
                     changed=["encumbrances.mortgaged"], after_publication=True)
        await make_lot(s, lot_no=CAR, title="2019年 大众帕萨特", asset_kind="vehicle", city="杭州市", district="拱墅区",
                       court_code="浙0105", starting_price=D("80000"), appraisal=D("100000"), area_m2=D("0"),
                       bidding_starts_at=dt.datetime(2026, 12, 5, 10, tzinfo=CHINA))
        for n in range(25):
            await make_lot(s, title=f"绍兴市区 住宅 {n:02d}", starting_price=D(3_000_000 + n * 1000))
    await engine.dispose()


@pytest.fixture(scope="module")
def lots_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = tmp_path_factory.mktemp("lots-browser") / "portal.db"
    env = {"DATABASE_URL": f"sqlite:///{db}", "PORT": str(port), "PORTAL_ENV": "development",
           "RASA_URL": "http://127.0.0.1:9", "DOCUMENT_DIR": str(db.parent / "docs")}
    subprocess.run([sys.executable, "-m", "portal", "migrate"], env={**os.environ, **env}, cwd=ROOT, check=True,
                   capture_output=True)
    asyncio.run(_seed(f"sqlite+aiosqlite:///{db}"))
    url = f"http://127.0.0.1:{port}"
    with Process("portal", [sys.executable, "-m", "portal", "serve"], env={**env, "LOAD_DEMO_DATA": "false"},
                 log_path=db.parent / "portal.log", stop_signal=signal.SIGTERM) as portal:
        portal.wait_http(f"{url}/healthz", timeout=30, accept=lambda status, _body: status in (200, 503))
        yield url


async def _page(browser: Any, *, phone: bool, js: bool) -> Any:
    size = {"width": 375, "height": 812} if phone else {"width": 1280, "height": 900}
    context = await browser.new_context(viewport=size, locale="zh-CN", java_script_enabled=js, bypass_csp=True)
    return await context.new_page()


async def _axe(page: Any) -> list[str]:
    """Serious or critical axe-core findings on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => { const r = await axe.run(document); return r.violations"
                                 ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                                 ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')); }")
    return list(result)


async def _axe_without_js(browser: Any, url: str, html: str) -> list[str]:
    """axe-core needs JavaScript: audit the HTML a no-JS browser got, in a JS context."""
    page = await _page(browser, phone=True, js=True)
    await page.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    await page.goto(url)
    found = await _axe(page)
    await page.context.close()
    return found


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
async def test_bidder_searches_and_reads_a_lot_with_javascript(browser, lots_url: str, phone: bool) -> None:  # type: ignore[no-untyped-def]
    page = await _page(browser, phone=phone, js=True)
    await page.goto(f"{lots_url}/lots")
    assert await _axe(page) == []
    await page.select_option("select[name=kind]", "vehicle")
    await page.wait_for_url("**/lots?*kind=vehicle*")
    await page.locator("#results", has_text="大众帕萨特").wait_for()
    assert await page.locator("#results .lot-card").count() == 1
    await page.select_option("select[name=kind]", "real_estate")
    await page.locator("#results h2", has_text="找到 26 件拍品").wait_for()
    assert "下一页" in await page.locator("#results").inner_text()  # 26 lots: two pages
    await page.goto(f"{lots_url}/lots/{HOUSE}")
    text = await page.locator("main").inner_text()
    assert "尚未答复的部门" in text and "第 1 版与第 2 版对照" in text
    assert await page.locator("table.versions tr.changed mark").inner_text() == "是"
    assert "¥26,250.00" in text  # deed tax, only home > 140 m²: 1.5% of the starting price 1,750,000
    before = await page.locator("#tax").inner_text()
    await page.fill("input[name=buyer_homes]", "2")
    await page.locator("input[name=buyer_homes]").dispatch_event("change")
    await page.locator("#tax", has_text="¥35,000.00").wait_for()  # second home > 140 m²: 2% of 1,750,000
    assert before != await page.locator("#tax").inner_text()
    assert await _axe(page) == []
    if phone:
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await page.context.close()


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
async def test_bidder_without_javascript_uses_the_plain_forms(browser, lots_url: str, phone: bool) -> None:  # type: ignore[no-untyped-def]
    page = await _page(browser, phone=phone, js=False)
    await page.goto(f"{lots_url}/lots")
    await page.select_option("select[name=kind]", "real_estate")
    await page.fill("input[name=price_max]", "2000000")
    await page.click("#lot-filters button[type=submit]")
    await page.wait_for_url("**/lots?*price_max=2000000*")
    results = await page.locator("#results").inner_text()
    assert "望云路" in results and "住宅 00" not in results and "帕萨特" not in results
    assert await _axe_without_js(browser, page.url, await page.content()) == []
    await page.click(f"a[href='/lots/{HOUSE}']")
    await page.fill("input[name=buyer_homes]", "2")
    await page.click("#tax button[type=submit]")
    await page.wait_for_url(f"**/lots/{HOUSE}?*buyer_homes=2*")
    assert "¥35,000.00" in await page.locator("#tax").inner_text()
    assert await _axe_without_js(browser, page.url, await page.content()) == []
    bad = await page.goto(f"{lots_url}/lots?page=abc")
    assert bad is not None and bad.status == 400
    assert "页码(page)" in await page.locator("#search-error").inner_text()
    if phone:
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await page.context.close()
