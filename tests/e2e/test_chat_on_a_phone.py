"""The chat page on a 375 px phone, in a real browser, against the real assistant."""

from __future__ import annotations

import pytest

from tests.browser.conftest import browser, phone  # noqa: F401 - fixtures shared with the browser journeys
from tests.e2e.test_chat_to_queue import _staff_inbox, stack  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def test_ask_check_and_file_on_a_phone(phone, stack: dict[str, str]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = stack["portal"]
    await phone.goto(f"{base}/chat")

    async def say(text: str) -> str:
        before = await phone.locator("#chat-log > li").count()
        await phone.fill("#chat-input", text)
        await phone.click(".chat-form button[type=submit]")
        # The user's turn and at least one reply are appended (the page's CSP forbids eval'd waits).
        await phone.locator("#chat-log > li").nth(before + 1).wait_for(timeout=30_000)
        await phone.wait_for_timeout(300)
        return await phone.locator("#chat-log").inner_text()

    log = await say("契税要交多少?")
    assert "契税" in log and phone.url.startswith(f"{base}/chat")  # answered in place, no reload
    assert await phone.locator("#chat-log a[href='/taxes']").count() >= 1
    await say("我要办电力过户")
    await say("ZT2026000001")
    await say("YJSZ2468")
    await say("张明")
    await say("13800138000")
    log = await say("确认")
    assert "WI-" in log, log
    reference = "WI-" + log.rsplit("WI-", 1)[1][:6]
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert reference in _staff_inbox(base, "electricity@demo.local")
