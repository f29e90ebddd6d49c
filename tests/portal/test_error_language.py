"""Error pages speak the reader's language, honour ?lang=, and the language switch keeps the query."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Factory, login

Client = AsyncTestClient[Litestar]


async def test_unknown_page_in_chinese_has_no_english_detail(client: Client) -> None:
    resp = await client.get("/no-such-page", headers={"accept": "text/html"})
    assert resp.status_code == 404
    assert "未找到" in resp.text
    assert "Not Found" not in resp.text


async def test_lang_query_is_honoured_on_an_error_page(client: Client) -> None:
    resp = await client.get("/no-such-page?lang=en", headers={"accept": "text/html"})
    assert resp.status_code == 404
    assert '<html lang="en">' in resp.text
    assert "Not found" in resp.text and "未找到" not in resp.text


async def test_staff_only_refusal_is_translated_for_a_buyer(client: Client, factory: Factory) -> None:
    buyer = await factory.user("buyer")
    await login(client, buyer.email)
    resp = await client.get("/staff", headers={"accept": "text/html"})
    assert resp.status_code == 403
    assert "department staff only" not in resp.text
    assert "仅限部门工作人员" in resp.text
    resp = await client.get("/staff?lang=en", headers={"accept": "text/html"})
    assert "Department staff only." in resp.text


async def test_missing_submission_is_translated(client: Client, factory: Factory) -> None:
    buyer = await factory.user("buyer")
    await login(client, buyer.email)
    resp = await client.get("/my/submissions/WI-999999", headers={"accept": "text/html"})
    assert resp.status_code == 404
    assert "no such submission" not in resp.text
    assert "没有这份申请" in resp.text


async def test_language_switch_keeps_the_query_string(client: Client) -> None:
    page = await client.get("/track?tracking_no=ZT2026000001")
    assert 'href="/lang/en?next=/track%3Ftracking_no%3DZT2026000001"' in page.text
    resp = await client.get("/lang/en?next=/track%3Ftracking_no%3DZT2026000001", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/track?tracking_no=ZT2026000001"
