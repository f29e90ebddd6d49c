"""Touch targets, focus rings and focus after a failed submit, in a real browser on a phone."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


async def test_header_links_are_44px_touch_targets_on_a_phone(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/")
    heights = await phone.eval_on_selector_all(
        ".top a, .top nav button", "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height])")
    assert heights, "no header links"
    small = [(text, h) for text, h in heights if h < 44]
    assert small == []
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375


async def test_the_red_button_shows_a_focus_ring_from_the_keyboard(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/track")
    await phone.click("input[name=code]")
    await phone.keyboard.press("Tab")
    focused = await phone.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
        return [e.tagName, e.type, s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor, s.backgroundColor]; }""")
    tag, kind, style, width, color, background = focused
    assert (tag, kind) == ("BUTTON", "submit")
    assert style == "solid" and width >= 2 and color != background


async def test_focus_lands_on_the_error_after_a_failed_sign_in(phone, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    await phone.goto(f"{portal_url}/login")
    await phone.fill("input[name=email]", "nobody@example.org")
    await phone.fill("input[name=password]", "wrong password")
    await phone.click("form.stack button[type=submit]")
    await phone.wait_for_selector("#login-error")
    assert await phone.evaluate("document.activeElement && document.activeElement.id") == "login-error"
