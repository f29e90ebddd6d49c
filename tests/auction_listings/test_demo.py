"""The demo lots: every state, realistic values that keep the rules, findings with a changed
version, rounds, photos with thumbnails, the sold lot with the demo transfer; the queue holds the
pre-review items of the lot under review once the portal starts."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings.models import Lot, LotStatus, Sale
from auction_listings.read import get_lot
from auction_listings.rules import check
from auction_listings.service import lot_input, previous_round
from backoffice.models import WorkItem
from documents.models import Document
from portal.demo import load_demo_data
from portal.settings import Settings
from storage.objects.local import LocalDocumentStore
from tests.conftest import csrf
from title_transfer.models import Transfer


async def test_demo_lots_cover_every_state_keep_the_rules_and_carry_photos(
        app: Litestar, session: AsyncSession, settings: Settings, tmp_path: Path) -> None:
    # ``app``: the portal's wiring (document subject guards), as `python -m portal seed` has it.
    store = LocalDocumentStore(tmp_path / "docs")
    created = await load_demo_data(session, settings.secret_key, store)
    await session.commit()
    assert "lot ZJ-0681-2026-0155 (announced)" in created
    assert await load_demo_data(session, settings.secret_key, store) == []  # idempotent

    lots = (await session.scalars(select(Lot))).all()
    assert {lot.status for lot in lots} == {s.value for s in LotStatus}
    assert {lot.asset_kind for lot in lots} == {"real_estate", "vehicle"}
    for lot in lots:
        if lot.published_at is not None and lot.status in ("announced", "bidding", "suspended"):
            problems = check(lot_input(lot), await previous_round(session, lot), complete=True,
                             announcing_on=lot.announced_on)
            assert problems == [], (lot.lot_no, problems)

    photos = (await session.scalars(select(Document).where(Document.subject_type == "lot"))).all()
    # The dashboards' finished transfers (portal/demo.py PAST_TRANSFERS) are history, not listings: no photos.
    listed = [lot for lot in lots if not lot.lot_no.startswith("ZJ-DEMO-PAST-")]
    assert len(photos) == 2 * len(listed) and all(p.visibility == "public" and p.thumbnail_key for p in photos)
    assert await store.exists(photos[0].thumbnail_key or "")

    sold = await session.scalar(select(Sale).join(Lot).where(Lot.lot_no == "ZJ-0681-2026-0142"))
    assert sold is not None and sold.tracking_no == "ZT2026000001"
    transfer = await session.scalar(select(Transfer).where(Transfer.sale_id == sold.id))
    assert transfer is not None and transfer.buyer_id == sold.buyer_id

    land = await get_lot(session, "ZJ-0681-2026-0155")
    assert land is not None
    registry = next(d for d in land.findings if d.department == "registry")
    assert registry.current is not None and registry.current.version == 2 and [f.version for f in registry.earlier] == [1]
    second = await get_lot(session, "ZJ-0681-2026-0156")
    assert second is not None and [r.lot_no for r in second.rounds] == ["ZJ-0681-2026-0120", "ZJ-0681-2026-0156"]
    assert await get_lot(session, "ZJ-0681-2026-0151") is None  # a draft is not public


async def test_the_portal_opens_the_pre_review_items_the_demo_lot_still_waits_for(
        session: AsyncSession, settings: Settings, tmp_path: Path, app: Litestar) -> None:
    await load_demo_data(session, settings.secret_key, None)
    await session.commit()
    async with AsyncTestClient(app=app) as client:  # start-up reconciles the queue
        page = await client.get("/login")
        assert page.status_code == 200 and csrf(client) is not None
    lot = await session.scalar(select(Lot).where(Lot.lot_no == "ZJ-0681-2026-0148"))
    assert lot is not None
    items = (await session.scalars(select(WorkItem).where(WorkItem.kind == "pre_review"))).all()
    assert sorted(i.department for i in items) == ["electricity", "gas", "urban_management", "water"]
    assert all(i.data["lot_no"] == "ZJ-0681-2026-0148" and i.is_open for i in items)


async def test_the_dashboard_shows_how_long_departments_take_to_answer(
        session: AsyncSession, settings: Settings, app: Litestar) -> None:
    from tests.conftest import login

    await load_demo_data(session, settings.secret_key, None)
    await session.commit()
    async with AsyncTestClient(app=app) as client:
        await login(client, "admin@demo.local", "demo-pass-2026")
        page = await client.get("/staff/dashboard")
    assert page.status_code == 200
    assert "联审:从请求到签署意见" in page.text and "不动产登记中心" in page.text
