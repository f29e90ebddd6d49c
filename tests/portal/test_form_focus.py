"""Sign-in and tracking lookup: a refusal is read with the inputs and takes the focus."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.backoffice.test_form_accessibility import _assert_wired, _Page
from tests.conftest import Factory, csrf

Client = AsyncTestClient[Litestar]


def _focused_error(html: str, error_id: str) -> None:
    tag = html.split(f'id="{error_id}"', 1)
    assert len(tag) == 2, f"no #{error_id} on the page"
    attrs = tag[0].rsplit("<", 1)[1] + tag[1].split(">", 1)[0]
    assert 'tabindex="-1"' in attrs and "autofocus" in attrs


async def test_a_refused_sign_in_is_tied_to_both_inputs_and_focused(client: Client, factory: Factory) -> None:
    user = await factory.user("creditor")
    await client.get("/login")
    resp = await client.post("/login", data={"email": user.email, "password": "not the password",
                                             "_csrf_token": csrf(client)}, follow_redirects=False)
    assert resp.status_code in (200, 400, 401, 403, 422), resp.status_code
    page = _Page(resp.text)
    _assert_wired(page)
    assert resp.text.count('aria-describedby="login-error"') == 2  # e-mail and password
    _focused_error(resp.text, "login-error")


async def test_the_lookup_hint_and_refusal_describe_the_code_input(client: Client) -> None:
    blank = _Page((await client.get("/track")).text)
    _assert_wired(blank)
    assert blank.described.get("input") == ["code-hint"]
    resp = await client.post("/track", data={"tracking_no": "ZT2026999999", "code": "NOTRIGHT",
                                             "_csrf_token": csrf(client)}, follow_redirects=False)
    page = _Page(resp.text)
    _assert_wired(page)
    assert "lookup-error" in page.described.get("input", [])
    _focused_error(resp.text, "lookup-error")
