"""Shared pieces of the lots' tests: a court clerk with a court, a lot form that keeps every rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from auction_listings.service import assign_court
from tests.conftest import Factory

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in China
TODAY = dt.date(2026, 12, 1)


async def clerk(factory: Factory, session: AsyncSession, court: str = "浙0681") -> Principal:
    user = await factory.user("staff", "court")
    await assign_court(session, user.id, court)
    await session.commit()
    return factory.principal(user)


def lot_form(**over: Any) -> dict[str, str]:
    """A first-round flat that keeps every rule when announced on TODAY (bidding 40 days later)."""
    form = {
        "title": "诸暨市暨阳街道望云路18号3幢201室", "asset_kind": "real_estate",
        "address": "浙江省诸暨市暨阳街道望云路18号3幢201室", "court_code": "浙0681",
        "case_number": "(2025)浙0681执1234号", "city": "绍兴市", "district": "诸暨市",
        "appraisal": "2600000", "starting_price": "1820000", "deposit": "182000", "increment": "5000",
        "bidding_starts_at": "2027-01-10T10:00", "bidding_ends_at": "2027-01-11T10:00",
        "platform": "taobao", "platform_url": "https://sf-item.taobao.com/sf_item/1001.htm",
        "tax_clause": "by_law", "property_use": "residential", "area_m2": "89.5", "location": "city",
        "utility_arrears_clause": "proceeds", "seller_type": "individual", "has_gas": "on",
    }
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


COURT_ANSWER = {"occupancy.occupied_by": "vacant", "property_fees.arrears": "0", "defects.defects": "厨房吊顶渗水"}
ANSWERS: dict[str, dict[str, str]] = {
    "court": COURT_ANSWER,
    "registry": {"land_use.land_use": "residential", "land_use.right_type": "granted",
                 "land_use.term_ends_on": "2080-06-30", "encumbrances.mortgaged": "yes",
                 "encumbrances.mortgage_amount": "1200000", "encumbrances.other_seizures": "1"},
    "tax": {"taxes.unpaid_taxes": "0"},
    "urban_management": {"illegal_construction.found": "no"},
    "water": {"utilities.arrears": "86.40", "utilities.account_no": "W-203344"},
    "electricity": {"utilities.arrears": "0"},
    "gas": {"utilities.arrears": "0"},
    "vehicles": {"encumbrances.mortgaged": "no", "encumbrances.other_seizures": "0",
                 "vehicle_record.open_violations": "2"},
}
