"""Cross-cutting behaviour: health, headers, language, sign-in, demo data, production guard."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from accounts.models import User
from portal.app import StartupRefused, create_app
from portal.cli import migrate, seed
from portal.i18n import parse_accept_language
from portal.settings import Settings
from tests.conftest import Factory, _env, csrf, login
from title_transfer.models import Transfer

Client = AsyncTestClient[Litestar]


async def test_healthz_reports_database_documents_and_bot(client: Client) -> None:
    body = (await client.get("/healthz")).json()
    assert body["database"]["ok"] is True
    assert body["bot"]["ok"] is False and "url" in body["bot"]  # no Rasa in this test: reported, not fatal
    assert body["ok"] is True


async def test_security_headers_on_every_page(client: Client) -> None:
    resp = await client.get("/")
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "same-origin"


async def test_chinese_by_default_english_on_request_and_remembered(client: Client) -> None:
    assert "查询过户进度" in (await client.get("/")).text
    assert "Track my transfer" in (await client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"})).text
    switched = await client.get("/lang/en?next=/guide", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/guide"
    assert "Balance received" in (await client.get("/guide")).text  # the cookie holds
    assert "尾款到账" in (await client.get("/guide?lang=zh")).text


async def test_language_switch_never_redirects_off_site(client: Client) -> None:
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        resp = await client.get("/lang/en", params={"next": target}, follow_redirects=False)
        assert resp.headers["location"] == "/"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("en-GB,en;q=0.9", "en"), ("fr,en;q=0.5,zh;q=0.8", "zh"), ("de", None), ("", None), ("zh-CN", "zh"),
     ("en;q=abc,zh;q=0.1", "zh")],
)
def test_accept_language_parsing(header: str, expected: str | None) -> None:
    assert parse_accept_language(header) == expected


async def test_sign_in_with_a_wrong_password_is_refused_then_throttled(client: Client, factory: Factory) -> None:
    user = await factory.user("buyer")
    await client.get("/login")
    for _ in range(5):
        bad = await client.post("/login", data={"email": user.email, "password": "wrong", "_csrf_token": csrf(client)})
        assert bad.status_code == 400 and "不正确" in bad.text
    locked = await client.post("/login", data={"email": user.email, "password": "correct horse battery staple",
                                               "_csrf_token": csrf(client)})
    assert locked.status_code == 429


async def test_sign_in_and_out(client: Client, factory: Factory) -> None:
    staff = await factory.user("staff", "tax")
    await login(client, staff.email)
    assert "退出" in (await client.get("/")).text
    out = await client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303
    assert "退出" not in (await client.get("/")).text


async def test_unknown_page_is_a_friendly_404_and_api_gets_json(client: Client) -> None:
    page = await client.get("/no/such/page")
    assert page.status_code == 404 and "未找到" in page.text
    api = await client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["status_code"] == 404


# Migrations run their own event loop (as `python -m portal migrate` does), so these two are sync tests.
def test_demo_data_is_idempotent(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(f"sqlite:///{tmp_path / 'demo.db'}"))
    migrate(settings)
    first = asyncio.run(seed(settings))
    assert "transfer ZT2026000001" in first and "user buyer@demo.local" in first
    assert asyncio.run(seed(settings)) == []

    async def counts() -> tuple[int, int]:
        app = create_app(settings)
        async with app.state.ctx.engine.connect() as conn:
            users = (await conn.execute(select(func.count()).select_from(User))).scalar_one()
            transfers = (await conn.execute(select(func.count()).select_from(Transfer))).scalar_one()
        await app.state.ctx.engine.dispose()
        return users, transfers

    assert asyncio.run(counts()) == (11, 7)  # + the past transfers' buyer and its five finished transfers


def test_production_refuses_to_start_with_demo_accounts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    migrate(Settings.from_env(_env(url)))
    asyncio.run(seed(Settings.from_env(_env(url))))
    prod = Settings.from_env(_env(url, PORTAL_ENV="production", PORTAL_SECRET=secrets.token_urlsafe(48),
                                  PORTAL_SERVICE_TOKEN=secrets.token_urlsafe(24)))

    async def start() -> None:
        app = create_app(prod)
        try:
            async with AsyncTestClient(app=app):
                pass
        finally:
            await app.state.ctx.engine.dispose()

    with pytest.raises(BaseException) as info:  # the test client wraps start-up errors in a group
        asyncio.run(start())
    errors = list(info.value.exceptions) if isinstance(info.value, BaseExceptionGroup) else [info.value]
    assert any(isinstance(e, StartupRefused) and "demo accounts" in str(e) for e in errors)


def test_every_ui_message_has_a_chinese_translation() -> None:
    from tests.portal.test_i18n import untranslated

    missing = untranslated()
    assert missing == [], f"run `make messages` and translate: {missing}"
