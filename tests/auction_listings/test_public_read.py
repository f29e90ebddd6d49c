"""The lot page's Core reader gives exactly what read.get_lot gives the public."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auction_listings import review, service
from auction_listings.public_read import public_lot
from auction_listings.read import get_lot
from storage.events import hub
from tests.auction_listings.helpers import ANSWERS, NOW, clerk, lot_form
from tests.auction_listings.public_support import make_lot
from tests.conftest import Factory


async def _same(engine: AsyncEngine, session: AsyncSession, lot_no: str) -> None:
    expected = await get_lot(session, lot_no, public=True)
    async with engine.connect() as conn:
        got = await public_lot(conn, lot_no)
    assert got == expected


async def test_core_reader_matches_get_lot_across_rounds_findings_and_versions(
        engine: AsyncEngine, session: AsyncSession, factory: Factory) -> None:
    who = await clerk(factory, session)
    registry = factory.principal(await factory.user("staff", "registry"))
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(), now=NOW)
        await review.request_review(session, who, lot.lot_no, now=NOW)
        await review.answer(session, registry, lot.lot_no, "registry", ANSWERS["registry"], now=NOW)
        await service.publish(session, who, lot.lot_no, now=NOW)
        changed = {**ANSWERS["registry"], "encumbrances.other_seizures": "2"}
        await review.answer(session, registry, lot.lot_no, "registry", changed, now=NOW)
        await service.start_bidding(session, who, lot.lot_no)
        await service.record_unsold(session, who, lot.lot_no, now=NOW)
        await session.commit()
    detail = await get_lot(session, lot.lot_no, public=True)
    assert detail is not None
    assert any(d.earlier for d in detail.findings)  # two versions of the registry's finding
    assert len(detail.rounds) >= 1
    await _same(engine, session, lot.lot_no)
    session.expire_all()
    for r in detail.rounds:
        await _same(engine, session, r.lot_no)


async def test_core_reader_hides_what_the_public_may_not_see(engine: AsyncEngine, session: AsyncSession) -> None:
    draft = await make_lot(session, status="draft")
    async with engine.connect() as conn:
        assert await public_lot(conn, draft.lot_no) is None
        assert await public_lot(conn, "NO-SUCH-LOT") is None
    shown = await make_lot(session)
    await _same(engine, session, shown.lot_no)
