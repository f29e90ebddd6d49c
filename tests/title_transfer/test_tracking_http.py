"""The buyer's tracking page and the transfer API, over real HTTP handling."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from accounts.models import User
from tests.conftest import TEST_TOKEN, Factory, csrf, login
from title_transfer.access import make_citizen_token

Client = AsyncTestClient[Litestar]


async def _verify(client: Client, tracking_no: str, code: str, **headers: str):  # type: ignore[no-untyped-def]
    await client.get("/track")
    return await client.post("/track", data={"tracking_no": tracking_no, "code": code, "_csrf_token": csrf(client)},
                             headers=headers, follow_redirects=False)


async def test_code_opens_the_tracking_page_with_steps_taxes_and_utilities(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    resp = await _verify(client, new.transfer.tracking_no.lower(), f" {new.code[:4]}-{new.code[4:].lower()} ")
    assert resp.status_code == 303 and resp.headers["location"] == f"/track/{new.transfer.tracking_no}"
    page = await client.get(resp.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert "尾款到账" in html and "法院执行局" in html  # Chinese by default
    assert "契税" in html and "¥20,000.00" in html  # deed tax 1% of 2,000,000
    assert "以税务部门核定为准" in html  # the estimate says it is an estimate
    assert "水务过户" in html and "燃气过户" in html
    assert f'hx-get="/track/{new.transfer.tracking_no}/live"' in html  # refreshes itself


async def test_english_on_request(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    await _verify(client, new.transfer.tracking_no, new.code)
    page = await client.get(f"/track/{new.transfer.tracking_no}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Balance received" in page.text and "Deed tax" in page.text and page.headers["content-language"] == "en"
    switched = await client.get(f"/track/{new.transfer.tracking_no}?lang=zh")
    assert "尾款到账" in switched.text


async def test_wrong_code_and_unknown_number_get_the_same_answer(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    wrong = await _verify(client, new.transfer.tracking_no, "WRONG234", **{"X-Forwarded-For": "1"})
    unknown = await _verify(client, "ZT1999000001", "WRONG234")
    assert wrong.status_code == unknown.status_code == 404
    strip = lambda t: t.replace(new.transfer.tracking_no, "N").replace("ZT1999000001", "N")  # noqa: E731
    assert strip(wrong.text.split('<main id="main">')[1]) == strip(unknown.text.split('<main id="main">')[1])


async def test_malformed_number_is_explained(client: Client) -> None:
    resp = await _verify(client, "<script>alert(1)</script>", "X")
    assert resp.status_code == 400
    assert "ZT" in resp.text and "<script>alert(1)</script>" not in resp.text
    assert "&lt;script&gt;" in resp.text


async def test_repeated_failures_are_throttled(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    for _ in range(20):  # 20 wrong codes per client per window
        assert (await _verify(client, new.transfer.tracking_no, "BADCODE2")).status_code == 404
    blocked = await _verify(client, new.transfer.tracking_no, new.code)  # even the right code now waits
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


async def test_without_a_grant_the_page_sends_you_to_the_lookup(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    resp = await client.get(f"/track/{new.transfer.tracking_no}", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == f"/track?no={new.transfer.tracking_no}"
    forged = await client.get(f"/track/{new.transfer.tracking_no}", follow_redirects=False,
                              cookies={f"tt_{new.transfer.tracking_no}": "forged.value"})
    assert forged.status_code == 303


async def test_a_grant_for_one_transfer_does_not_open_another(client: Client, factory: Factory) -> None:
    a, _ = await factory.transfer()
    b, _ = await factory.transfer()
    await _verify(client, a.transfer.tracking_no, a.code)
    grant = client.cookies.get(f"tt_{a.transfer.tracking_no}")
    resp = await client.get(f"/track/{b.transfer.tracking_no}", follow_redirects=False,
                            cookies={f"tt_{b.transfer.tracking_no}": grant or ""})
    assert resp.status_code == 303


async def test_signed_in_buyer_sees_own_transfer_not_others(client: Client, factory: Factory) -> None:
    mine, me = await factory.transfer()
    theirs, _ = await factory.transfer()
    await login(client, me.email)
    lookup = await client.get("/track")
    assert mine.transfer.tracking_no in lookup.text and theirs.transfer.tracking_no not in lookup.text
    assert (await client.get(f"/track/{mine.transfer.tracking_no}")).status_code == 200
    assert (await client.get(f"/track/{theirs.transfer.tracking_no}", follow_redirects=False)).status_code == 303


async def test_live_fragment_and_etag(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    await _verify(client, new.transfer.tracking_no, new.code)
    live = await client.get(f"/track/{new.transfer.tracking_no}/live")
    assert live.status_code == 200 and "<html" not in live.text and "尾款到账" in live.text
    etag = live.headers["etag"]
    again = await client.get(f"/track/{new.transfer.tracking_no}/live", headers={"If-None-Match": etag})
    assert again.status_code == 304


async def test_the_page_shows_each_browser_its_own_csrf_token_as_a_fresh_render_would(
        client: Client, factory: Factory) -> None:
    """Visitors with the code get the page from a cache with the CSRF token filled in per request:
    the bytes must be those of a full render, whatever the token (a hostile cookie included)."""
    transfers = [(await factory.transfer())[0] for _ in range(2)]  # the second one gets the first one's shell
    for new in transfers:
        await _verify(client, new.transfer.tracking_no, new.code)
    for new, token, path in [(transfers[0], "plain0123abc", "/track/{}"), (transfers[1], 'a<b>&"q\'', "/track/{}"),
                             (transfers[1], csrf(client), "/track/{}"), (transfers[0], "t0k", "/track/{}/")]:
        no = new.transfer.tracking_no
        cookie = {"Cookie": f"tt_{no}={client.cookies.get(f'tt_{no}')}; csrftoken={token}"}
        first = await client.get(path.format(no), headers=cookie)
        again = await client.get(path.format(no), headers=cookie)
        # a query string takes the ordinary path (Litestar's Template response, rendered in full)
        full = await client.get(path.format(no) + "?x=1", headers=cookie)
        assert first.status_code == again.status_code == full.status_code == 200
        assert first.text == again.text == full.text.replace("%3Fx%3D1", "")
        assert no in first.text and all(other.transfer.tracking_no not in first.text
                                        for other in transfers if other is not new)
        assert {k: v for k, v in first.headers.items() if k != "content-length"} == \
            {k: v for k, v in full.headers.items() if k != "content-length"}
        assert "<b>" not in first.text and first.text.count(token if token.isalnum() else "a&lt;b&gt;&amp;") == 2


# --- API -------------------------------------------------------------------------------------------


async def test_api_with_code_header(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    ok = await client.get(f"/api/v1/transfers/{no}", headers={"X-Verification-Code": new.code})
    assert ok.status_code == 200
    body = ok.json()
    assert body["tracking_no"] == no and body["progress"] == {"done": 0, "total": 11}
    assert body["steps"][0]["key"] == "balance_paid" and body["steps"][0]["state"] == "ready"
    assert body["next_steps"] == ["balance_paid"]
    assert "code_digest" not in ok.text and "buyer_id" not in ok.text
    wrong = await client.get(f"/api/v1/transfers/{no}", headers={"X-Verification-Code": "NOPE2345"})
    unknown = await client.get("/api/v1/transfers/ZT1999000002", headers={"X-Verification-Code": "NOPE2345"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json()["detail"] == unknown.json()["detail"]


async def test_api_malformed_number_is_400(client: Client) -> None:
    resp = await client.get("/api/v1/transfers/..%2F..%2Fetc", headers={"X-Verification-Code": "X"})
    assert resp.status_code in (400, 404)
    resp = await client.get("/api/v1/transfers/ZT12", headers={"X-Verification-Code": "X"})
    assert resp.status_code == 400 and "ZT followed by 10 digits" in resp.json()["detail"]


async def test_api_for_the_signed_in_owner(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    await login(client, buyer.email)
    assert (await client.get(f"/api/v1/transfers/{new.transfer.tracking_no}")).status_code == 200


async def test_api_for_the_action_server(client: Client, factory: Factory, settings) -> None:  # type: ignore[no-untyped-def]
    new, buyer = await factory.transfer()
    other: User = await factory.user("buyer")
    no = new.transfer.tracking_no
    bearer = {"Authorization": f"Bearer {TEST_TOKEN}"}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=bearer)).status_code == 403  # names nobody
    as_buyer = {**bearer, "X-Citizen-Token": make_citizen_token(settings.secret_key, buyer.id)}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=as_buyer)).status_code == 200
    as_other = {**bearer, "X-Citizen-Token": make_citizen_token(settings.secret_key, other.id)}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=as_other)).status_code == 404
    forged = {**bearer, "X-Citizen-Token": "eyJ.forged"}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=forged)).status_code == 403
    with_code = {**bearer, "X-Verification-Code": new.code, "X-Chat-Sender": "s1"}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=with_code)).status_code == 200
    bad_token = {"Authorization": "Bearer nope", "X-Verification-Code": new.code}
    assert (await client.get(f"/api/v1/transfers/{no}", headers=bad_token)).status_code == 401


async def test_api_code_guessing_is_throttled_per_chat_sender(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    headers = {"Authorization": f"Bearer {TEST_TOKEN}", "X-Chat-Sender": "guesser"}
    statuses = []
    for i in range(21):
        r = await client.get(f"/api/v1/transfers/{new.transfer.tracking_no}",
                             headers={**headers, "X-Verification-Code": f"BAD{i:02d}2345"})
        statuses.append(r.status_code)
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


async def test_openapi_schema_lists_the_transfer_api(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/transfers/{tracking_no}" in schema["paths"]
