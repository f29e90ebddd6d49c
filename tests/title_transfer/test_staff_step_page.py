"""The staff step page and list: step names, not keys; final and buyer-visible moves confirmed
(without JavaScript too); a vehicle's tracking page has no real-estate delivery section."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Factory, csrf, login
from tests.title_transfer.test_staff_http import Client, _rev


async def test_the_steps_list_names_steps_and_final_moves_need_the_tick(client: Client, factory: Factory,
                                                                          session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    no = new.transfer.tracking_no
    court = await factory.user("staff", "court")
    await login(client, court.email)
    listing = (await client.get("/staff/steps")).text
    assert "尾款到账" in listing
    assert "balance_paid" not in listing.replace('#step-balance_paid"', "")
    page = (await client.get(f"/staff/transfers/{no}")).text
    block = page.split('id="step-balance_paid"', 1)[1].split("</li>", 1)[0]
    assert 'name="confirm" value="yes" required' in block and "标记受阻" in block and "买受人" in block
    for action, extra in (("complete", {}), ("block", {"reason": "尾款未足额"})):
        refused = await client.post(f"/staff/transfers/{no}/steps/balance_paid", follow_redirects=False, data={
            "action": action, "revision": _rev(page, "balance_paid"), "_csrf_token": csrf(client), **extra})
        assert refused.status_code == 400 and "请勾选确认" in refused.text
    page = (await client.get(f"/staff/transfers/{no}")).text
    assert "state-ready" in page.split('id="step-balance_paid"', 1)[0].rsplit("<li", 1)[1]
    done = await client.post(f"/staff/transfers/{no}/steps/balance_paid", follow_redirects=False, data={
        "action": "complete", "confirm": "yes", "revision": _rev(page, "balance_paid"), "_csrf_token": csrf(client)})
    assert done.status_code == 303


async def test_a_vehicle_transfer_shows_vehicle_handover_not_property_delivery(client: Client,
                                                                              factory: Factory) -> None:
    new, buyer = await factory.transfer(asset_kind="vehicle", title="测试车辆 浙D00001")
    await login(client, buyer.email)
    page = (await client.get(f"/track/{new.transfer.tracking_no}?lang=zh")).text
    assert "车辆交付" in page and "不动产" not in page
    english = (await client.get(f"/track/{new.transfer.tracking_no}?lang=en")).text
    assert "Vehicle delivered" in english and "Delivery of the property" not in english
