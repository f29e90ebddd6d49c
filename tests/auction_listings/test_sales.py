"""Recording a sale opens the buyer's title transfer once: twice is a 409, two clerks at the same
moment give one sale and one transfer (PostgreSQL, two sessions on two connections)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.principal import Principal
from auction_listings import sales, service
from auction_listings.errors import AlreadySold, LotRulesBroken, WrongStatus
from auction_listings.models import Lot, LotStatus, Sale
from tests.auction_listings.helpers import NOW, clerk, lot_form
from tests.conftest import Factory
from title_transfer.models import Transfer


async def _bidding(session: AsyncSession, who: Principal, **over: str) -> Lot:
    lot = await service.create_lot(session, who, lot_form(**over), now=NOW)
    await service.publish(session, who, lot.lot_no, now=NOW)
    await service.start_bidding(session, who, lot.lot_no)
    await session.commit()
    return lot


async def test_recording_a_sale_opens_the_buyers_transfer_with_number_and_code(
        app: Litestar, factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    buyer = await factory.user("buyer")
    lot = await _bidding(session, who)
    sale, receipt = await sales.record_sale(session, who, lot.lot_no, {"price": "2350000", "buyer": buyer.email},
                                            now=NOW)
    await session.commit()
    assert receipt.tracking_no and receipt.code and len(receipt.code) >= 6
    transfer = await session.scalar(select(Transfer).where(Transfer.sale_id == sale.id))
    assert transfer is not None and transfer.buyer_id == buyer.id and transfer.tracking_no == receipt.tracking_no
    assert Decimal(transfer.price or 0) == Decimal("2350000")
    assert lot.status == LotStatus.sold and sale.recorded_by_id == who.user_id and sale.sold_at == NOW
    with pytest.raises(AlreadySold) as caught:
        await sales.record_sale(session, who, lot.lot_no, {"price": "2350000", "buyer": buyer.email}, now=NOW)
    assert caught.value.status_code == 409 and caught.value.details["tracking_no"] == receipt.tracking_no


async def test_a_bad_sale_form_names_every_field_and_writes_nothing(app: Litestar, factory: Factory,
                                                                   session: AsyncSession) -> None:
    who = await clerk(factory, session)
    lot_no = (await _bidding(session, who)).lot_no
    with pytest.raises(LotRulesBroken) as caught:
        await sales.record_sale(session, who, lot_no, {"price": "abc", "buyer": "nobody@x.local",
                                                           "sold_at": "yesterday", "buyer_homes": "castle"}, now=NOW)
    assert set(caught.value.details["fields"]) == {"price", "buyer", "sold_at", "buyer_homes"}
    await session.rollback()
    buyer = await factory.user("buyer")
    with pytest.raises(LotRulesBroken) as below:
        await sales.record_sale(session, who, lot_no, {"price": "1000", "buyer": buyer.email}, now=NOW)
    assert set(below.value.details["fields"]) == {"price"}
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Sale)) == 0


async def test_a_lot_not_under_bidding_cannot_be_sold(app: Litestar, factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    buyer = await factory.user("buyer")
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    with pytest.raises(WrongStatus):
        await sales.record_sale(session, who, lot.lot_no, {"price": "2350000", "buyer": buyer.email}, now=NOW)


async def test_two_clerks_recording_the_same_sale_at_once_make_one_sale_and_one_transfer(
        app: Litestar, factory: Factory, session: AsyncSession, engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises writers)")
    one = await clerk(factory, session)
    two = await clerk(factory, session)
    buyer = await factory.user("buyer")
    lot = await _bidding(session, one)
    start = asyncio.Event()
    paths: list[str | None] = []

    async def record(who: Principal) -> str:
        async with AsyncSession(engine, expire_on_commit=False) as own:
            await own.connection()  # each on its own connection before either starts
            await start.wait()
            try:
                await sales.record_sale(own, who, lot.lot_no, {"price": "2400000", "buyer": buyer.email}, now=NOW)
                await own.commit()
                return "sold"
            except AlreadySold as exc:
                await own.rollback()
                paths.append(exc.details.get("tracking_no"))
                return "already sold"

    tasks = [asyncio.create_task(record(one)), asyncio.create_task(record(two))]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(results) == ["already sold", "sold"]
    # Both read the lot under bidding and inserted: the unique key, not the status check, refused one.
    assert paths == [None]
    assert await session.scalar(select(func.count()).select_from(Sale).where(Sale.lot_id == lot.id)) == 1
    sale_id = await session.scalar(select(Sale.id).where(Sale.lot_id == lot.id))
    assert await session.scalar(select(func.count()).select_from(Transfer).where(Transfer.sale_id == sale_id)) == 1
