"""Headers, the chat's "message sent" page and tracking grants: what the outside probe found."""

from __future__ import annotations

import secrets

from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.settings import Settings
from tests.conftest import Factory, _env, csrf, login

Client = AsyncTestClient[Litestar]


def _main(html: str) -> str:
    return html.split("<main", 1)[1]


async def test_hsts_in_production_only(database_url: str, client: Client) -> None:
    assert "strict-transport-security" not in (await client.get("/")).headers
    prod = Settings.from_env(_env(database_url, PORTAL_ENV="production", PORTAL_SECRET=secrets.token_urlsafe(48),
                                  PORTAL_SERVICE_TOKEN=secrets.token_urlsafe(24), LOAD_DEMO_DATA="false"))
    async with AsyncTestClient(app=create_app(prod), base_url="https://portal.example") as https:
        resp = await https.get("/")
        assert resp.status_code == 200
        hsts = resp.headers["strict-transport-security"]
        assert "max-age=31536000" in hsts and "includeSubDomains" in hsts


async def test_personal_pages_and_api_json_are_not_stored(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    api = await client.get(f"/api/v1/transfers/{no}", headers={"X-Verification-Code": new.code})
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    missing = await client.get("/api/v1/transfers/ZT2099000001", headers={"X-Verification-Code": "AAAAAAAA"})
    assert missing.headers["cache-control"] == "no-store"
    await login(client, buyer.email)
    for path in ("/my/submissions", f"/track/{no}", "/track"):
        resp = await client.get(path)
        assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store", path
    css = await client.get("/static/portal.css")
    assert css.status_code == 200 and css.headers.get("cache-control") != "no-store"


async def test_message_sent_page_shows_only_the_browsers_own_references(client: Client) -> None:
    forged = await client.get("/chat/message/sent/您的案件已结案请转账")
    assert forged.status_code == 404 and "您的案件已结案请转账" not in _main(forged.text)
    form = await client.get("/chat/message")
    key = form.text.split('name="_key" value="', 1)[1].split('"', 1)[0]
    sent = await client.post("/chat/message", follow_redirects=False, data={
        "topic": "过户问题", "contact_name": "王五", "contact_phone": "13900001111", "message": "请回电",
        "_key": key, "_csrf_token": csrf(client)})
    assert sent.status_code == 303
    ref = sent.headers["location"].rsplit("/", 1)[1]
    mine = await client.get(sent.headers["location"])
    assert mine.status_code == 200 and ref in mine.text
    client.cookies.clear()  # another browser, same reference
    other = await client.get(sent.headers["location"])
    assert other.status_code == 404 and ref not in _main(other.text)


# --- tracking grants ------------------------------------------------------------------------------------------------

async def _verify(client: Client, tracking_no: str, code: str) -> str:
    await client.get("/track")
    resp = await client.post("/track", data={"tracking_no": tracking_no, "code": code, "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 303, resp.text
    grant = client.cookies.get(f"tt_{tracking_no}")
    assert grant
    return grant


def _deleted(resp: object, name: str) -> bool:
    return any(h.startswith(f"{name}=") and "max-age=0" in h.lower()
               for h in resp.headers.get_list("set-cookie"))  # type: ignore[attr-defined]


async def test_sign_out_clears_tracking_grants(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    await login(client, buyer.email)
    await _verify(client, no, new.code)
    out = await client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and _deleted(out, f"tt_{no}")


async def test_forget_this_device_ends_the_grant_without_javascript(client: Client, factory: Factory) -> None:
    new, _buyer = await factory.transfer()
    no = new.transfer.tracking_no
    await _verify(client, no, new.code)
    page = await client.get(f"/track/{no}")
    assert page.status_code == 200 and 'action="/track/forget"' in page.text
    forget = await client.post("/track/forget", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert forget.status_code == 303 and _deleted(forget, f"tt_{no}")
    client.cookies.delete(f"tt_{no}")
    assert (await client.get(f"/track/{no}", follow_redirects=False)).status_code == 303


async def test_reissuing_a_code_ends_grants_made_with_the_old_one(client: Client, factory: Factory) -> None:
    new, _buyer = await factory.transfer()
    no = new.transfer.tracking_no
    old_grant = await _verify(client, no, new.code)
    court = await factory.user("staff", "court")
    client.cookies.clear()
    await login(client, court.email)
    staff_page = await client.get(f"/staff/transfers/{no}")
    assert f'action="/staff/transfers/{no}/code"' in staff_page.text
    reissued = await client.post(f"/staff/transfers/{no}/code", data={"_csrf_token": csrf(client)})
    assert reissued.status_code == 200
    new_code = reissued.text.split('class="new-code">', 1)[1].split("<", 1)[0].strip()
    assert len(new_code) == 8 and new_code != new.code
    client.cookies.clear()
    client.cookies.set(f"tt_{no}", old_grant, domain="testserver.local")
    assert (await client.get(f"/track/{no}", follow_redirects=False)).status_code == 303  # the old grant is dead
    api_old = await client.get(f"/api/v1/transfers/{no}", headers={"X-Verification-Code": new.code})
    assert api_old.status_code == 404
    client.cookies.clear()
    await _verify(client, no, new_code)
    assert (await client.get(f"/track/{no}")).status_code == 200


async def test_only_court_staff_and_admins_reissue_codes(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    water = await factory.user("staff", "water")
    await login(client, water.email)
    resp = await client.post(f"/staff/transfers/{no}/code", data={"_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 403
    client.cookies.clear()
    await login(client, buyer.email)
    resp = await client.post(f"/staff/transfers/{no}/code", data={"_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 403
    api = await client.get(f"/api/v1/transfers/{no}", headers={"X-Verification-Code": new.code})
    assert api.status_code == 200  # nothing was reissued
