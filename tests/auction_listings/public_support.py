"""Lots for the public-page tests, written straight into the tables (the staff workflow is
tested with the lots' own service; here only what the public sees matters)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings.models import Finding, Lot, ReviewRequest

CHINA = dt.timezone(dt.timedelta(hours=8))


def lot_no() -> str:
    return f"PM-{uuid.uuid4().hex[:10].upper()}"


async def make_lot(session: AsyncSession, **fields: Any) -> Lot:
    values: dict[str, Any] = dict(
        lot_no=lot_no(), title="诸暨市暨阳街道望云路 12 幢 301 室", asset_kind="real_estate",
        address="望云路 12 幢 301 室", court="诸暨市人民法院", court_code="浙0681", city="绍兴市", district="诸暨市",
        case_number="(2025)浙0681执1234号", platform="taobao", platform_url="https://sf-item.taobao.com/sf_item/1.htm",
        appraisal=Decimal("2500000"), starting_price=Decimal("1750000"), deposit=Decimal("200000"),
        increment=Decimal("5000"), property_use="residential", area_m2=Decimal("90"), location="city",
        tax_clause="by_law", seller_type="individual", seller_acquired_on=dt.date(2019, 5, 1),
        seller_purchase_price=Decimal("1500000"), status="announced", round="first",
        announced_on=dt.date(2026, 11, 1), bidding_starts_at=dt.datetime(2026, 12, 10, 10, tzinfo=CHINA),
        bidding_ends_at=dt.datetime(2026, 12, 11, 10, tzinfo=CHINA), version=1,
        published_at=dt.datetime(2026, 11, 1, 9, tzinfo=CHINA),
    )
    values.update(fields)
    lot = Lot(**values)
    session.add(lot)
    await session.commit()
    return lot


async def ask(session: AsyncSession, lot: Lot, *departments: str) -> None:
    now = dt.datetime.now(dt.UTC)
    for dept in departments:
        session.add(ReviewRequest(lot_id=lot.id, department=dept, requested_at=now))
    await session.commit()


async def answer(session: AsyncSession, lot: Lot, department: str, version: int, answers: dict[str, Any], *,
                 changed: list[str] | None = None, after_publication: bool = False, bump: bool = True) -> Finding:
    finding = Finding(lot_id=lot.id, department=department, version=version, answers=answers, note=None,
                      signed_by_name="王芳", signed_at=dt.datetime.now(dt.UTC), public=True,
                      after_publication=after_publication, changed=changed)
    session.add(finding)
    if bump:
        await session.execute(update(Lot).where(Lot.id == lot.id).values(version=Lot.version + 1))
    await session.commit()
    return finding
