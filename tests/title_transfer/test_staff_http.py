"""Staff move steps from a plain page: CSRF, departments, stale forms, and the buyer sees it."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]


async def _act(client: Client, no: str, key: str, **form: str):  # type: ignore[no-untyped-def]
    return await client.post(f"/staff/transfers/{no}/steps/{key}",
                             data={"confirm": "yes", **form, "_csrf_token": csrf(client)},
                             follow_redirects=False)


def _rev(page: str, key: str) -> str:
    block = page.split(f'id="step-{key}"', 1)[1]
    return block.split('name="revision" value="', 1)[1].split('"', 1)[0]


async def test_court_staff_complete_a_step_and_the_buyer_sees_it(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    page = await client.get(f"/staff/transfers/{no}")
    assert page.status_code == 200
    resp = await _act(client, no, "balance_paid", action="complete", note="尾款已到账", revision=_rev(page.text, "balance_paid"))
    assert resp.status_code == 303
    client.cookies.clear()
    await login(client, buyer.email)
    view = (await client.get(f"/api/v1/transfers/{no}")).json()
    states = {s["key"]: s["state"] for s in view["steps"]}
    assert states["balance_paid"] == "done" and states["ruling_served"] == "ready"


async def test_the_department_list_shows_only_own_steps(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    tax = await factory.user("staff", "tax")
    await login(client, tax.email)
    listing = await client.get("/staff/steps")
    assert new.transfer.tracking_no not in listing.text  # only balance_paid (court) is ready
    court = await factory.user("staff", "court")
    client.cookies.clear()
    await login(client, court.email)
    assert new.transfer.tracking_no in (await client.get("/staff/steps")).text


async def test_a_form_without_the_csrf_token_is_refused(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    resp = await client.post(f"/staff/transfers/{new.transfer.tracking_no}/steps/balance_paid",
                             data={"action": "complete", "revision": "1"}, follow_redirects=False)
    assert resp.status_code == 403


async def test_other_department_gets_a_clear_refusal_and_nothing_changes(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    water = await factory.user("staff", "water")
    await login(client, water.email)
    page = await client.get(f"/staff/transfers/{no}")
    assert page.status_code == 200  # water owns a step of this transfer
    assert 'value="complete"' not in page.text.split('id="step-balance_paid"')[1].split("</li>")[0]
    resp = await _act(client, no, "balance_paid", action="complete", revision="1")
    assert resp.status_code == 403 and "不属于您所在的部门" in resp.text
    client.cookies.clear()
    await login(client, (await factory.user("staff", "court")).email)
    after = (await client.get(f"/staff/transfers/{no}")).text
    assert 'badge-ready">可办理' in after.split('id="step-balance_paid"')[1].split("</li>")[0]


async def test_staff_of_an_unrelated_department_cannot_see_a_vehicle_transfer(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer(asset_kind="vehicle", property_use="non_residential", area_m2=0)
    gas = await factory.user("staff", "gas")
    await login(client, gas.email)
    assert (await client.get(f"/staff/transfers/{new.transfer.tracking_no}")).status_code == 404


async def test_double_submitted_form_gets_a_reload_message(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    rev = _rev((await client.get(f"/staff/transfers/{no}")).text, "balance_paid")
    first = await _act(client, no, "balance_paid", action="start", revision=rev)
    second = await _act(client, no, "balance_paid", action="start", revision=rev)
    assert first.status_code == 303
    assert second.status_code == 409 and "刷新" in second.text


async def test_completing_a_waiting_step_names_what_it_waits_on(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    resp = await _act(client, no, "ruling_served", action="complete", revision="1")
    assert resp.status_code == 409 and "尾款到账" in resp.text


async def test_buyers_cannot_use_staff_pages(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    await login(client, buyer.email)
    assert (await client.get(f"/staff/transfers/{new.transfer.tracking_no}")).status_code == 403
    client.cookies.clear()
    anonymous = await client.get("/staff/steps", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
