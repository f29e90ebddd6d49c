"""The public read of one lot on a plain connection (SQLAlchemy Core, no ORM session): the same
:class:`~auction_listings.read.LotDetail` as ``read.get_lot(..., public=True)``, built with
read.py's own helpers, for the lot page's cache misses (``tests/auction_listings/
test_public_read.py`` holds the two equal).

Why a second reader: a miss on a popular page is on the hot path, and the ORM's identity map,
unit of work and session close cost several times the database's own time here (see
docs/auction_listings_public.md, benchmark).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from accounts.departments import DEPARTMENT_NAMES, Department
from auction_listings import catalogue
from auction_listings.models import PUBLIC_STATUSES, Finding, Lot, ReviewRequest, Sale
from auction_listings.read import DepartmentFindings, LotDetail, RoundView, SaleView, finding_view, lot_view


def _t(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


LOT, FINDING, REQUEST, SALE = _t(Lot), _t(Finding), _t(ReviewRequest), _t(Sale)
_PUBLIC = frozenset(s.value for s in PUBLIC_STATUSES)
_BY_NO = select(LOT).where(LOT.c.lot_no == bindparam("no"))
_BY_ID = select(LOT).where(LOT.c.id == bindparam("id"))
_NEXT = select(LOT).where(LOT.c.previous_lot_id == bindparam("id"))
_ASKED = select(REQUEST.c.department).where(REQUEST.c.lot_id == bindparam("id"))
_FINDINGS = (select(FINDING).where(FINDING.c.lot_id == bindparam("id"), FINDING.c.public.is_(True))
             .order_by(FINDING.c.department, FINDING.c.version.desc()))
_SALE = select(SALE.c.price, SALE.c.sold_at, SALE.c.confirmed_on).where(SALE.c.lot_id == bindparam("id"))


async def public_lot(conn: AsyncConnection, lot_no: str) -> LotDetail | None:
    """The lot as the public sees it (None: no such lot, or not public)."""
    lot = (await conn.execute(_BY_NO, {"no": (lot_no or "").strip()[:40]})).first()
    if lot is None or lot.status not in _PUBLIC:
        return None
    chain = [lot]
    current = lot
    while current.previous_lot_id is not None and len(chain) < 10:
        before = (await conn.execute(_BY_ID, {"id": current.previous_lot_id})).first()
        if before is None:
            break
        chain.insert(0, before)
        current = before
    current = lot
    while len(chain) < 10:
        after = (await conn.execute(_NEXT, {"id": current.id})).first()
        if after is None:
            break
        chain.append(after)
        current = after
    at = chain.index(lot)
    previous = chain[at - 1] if at > 0 else None
    following = chain[at + 1] if at + 1 < len(chain) and chain[at + 1].status in _PUBLIC else None
    chain = [r for r in chain if r.status in _PUBLIC]
    asked = set((await conn.execute(_ASKED, {"id": lot.id})).scalars().all())
    found: dict[str, list[Any]] = {}
    for f in (await conn.execute(_FINDINGS, {"id": lot.id})).all():
        found.setdefault(f.department, []).append(f)
    order = catalogue.departments_for(lot.asset_kind)
    order += sorted((asked | set(found)) - set(order))
    findings: list[DepartmentFindings] = []
    for dept in order:
        if dept not in asked and dept not in found:
            continue
        versions = [finding_view(f) for f in found.get(dept, [])]
        zh, en = DEPARTMENT_NAMES.get(Department(dept), (dept, dept))
        findings.append(DepartmentFindings(department=dept, name_zh=zh, name_en=en, asked=dept in asked,
                                           current=versions[0] if versions else None, earlier=versions[1:]))
    sale_row = (await conn.execute(_SALE, {"id": lot.id})).first()
    sale = None if sale_row is None else SaleView(price=Decimal(sale_row.price), sold_at=sale_row.sold_at,
                                                  confirmed_on=sale_row.confirmed_on)
    return LotDetail(
        lot=lot_view(lot, previous_lot_no=previous.lot_no if previous else None,  # type: ignore[arg-type]
                     next_lot_no=following.lot_no if following else None),
        findings=findings,
        unanswered=[d.department for d in findings if d.asked and d.current is None],
        rounds=[RoundView(lot_no=r.lot_no, round=r.round, status=r.status, starting_price=Decimal(r.starting_price),
                          bidding_starts_at=r.bidding_starts_at, bidding_ends_at=r.bidding_ends_at) for r in chain],
        sale=sale,
    )


__all__ = ["public_lot"]
