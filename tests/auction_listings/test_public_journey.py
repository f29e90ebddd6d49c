"""The bidder's side of a lot, end to end on the lots' own service: announced with findings,
found through search, followed; a finding changed after publication shows both versions and
tells the follower; the sale is the result on the page and in the API, and tells them too."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings import review, sales, service
from backoffice.models import Notification
from tests.auction_listings.helpers import ANSWERS, NOW, clerk, lot_form
from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]


async def test_bidder_finds_follows_and_is_told_of_a_changed_finding_and_the_sale(
        app: Litestar, client: Client, session: AsyncSession, factory: Factory) -> None:
    who = await clerk(factory, session)
    registry = factory.principal(await factory.user("staff", "registry"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    await review.answer(session, registry, lot.lot_no, "registry", ANSWERS["registry"], now=NOW)
    await service.publish(session, who, lot.lot_no, now=NOW)
    await session.commit()

    found = (await client.get("/api/v1/lots", params={"city": "绍兴市", "kind": "real_estate",
                                                      "price_max": "2000000", "sort": "price"})).json()
    assert [i["lot_no"] for i in found["items"]] == [lot.lot_no]
    page = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert page.status_code == 200 and "Mortgaged" in page.text and "Not answered yet:" in page.text
    assert "Deed tax" in page.text  # the estimate for this lot

    bidder = await factory.user("buyer")
    await login(client, bidder.email)
    followed = await client.post(f"/lots/{lot.lot_no}/follow", data={"action": "follow",
                                                                      "_csrf_token": csrf(client)},
                                 follow_redirects=False)
    assert followed.status_code == 303
    before = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})

    changed = {**ANSWERS["registry"], "encumbrances.mortgaged": "no"}
    changed.pop("encumbrances.mortgage_amount")
    await review.answer(session, registry, lot.lot_no, "registry", changed, now=NOW)
    await session.commit()

    after = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"},
                             headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200  # this process saw the change at once (LotChanged → version clock)
    assert "Version 1 beside version 2" in after.text and "<mark>No</mark>" in after.text
    api = (await client.get(f"/api/v1/lots/{lot.lot_no}")).json()
    reg = next(f for f in api["findings"] if f["department"] == "registry")
    assert reg["current"]["after_publication"] is True and "encumbrances.mortgaged" in reg["current"]["changed"]

    await service.start_bidding(session, who, lot.lot_no)
    buyer = await factory.user("buyer")
    await sales.record_sale(session, who, lot.lot_no, {"price": "2100000", "buyer": buyer.email}, now=NOW)
    await session.commit()
    result = (await client.get(f"/api/v1/lots/{lot.lot_no}")).json()["result"]
    assert result["status"] == "sold" and result["price"] == "2100000.00"
    sold_page = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert "Sold for ¥2,100,000.00" in sold_page.text

    told = (await session.scalars(select(Notification.event).where(Notification.recipient_id == bidder.id)
                                  .order_by(Notification.id))).all()
    assert list(told) == ["lot.finding_changed", "lot.sold"]
