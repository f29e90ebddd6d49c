"""Reads of one lot as values: the lot, each department's findings with their versions, which
departments have not answered, the rounds before and after, the result.

The public pages, the JSON API and the staff pages build on :func:`get_lot`; callers that
cache by version ask :func:`lot_version` first (one indexed read of one column).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import DEPARTMENT_NAMES, Department
from auction_listings import catalogue
from auction_listings.models import PUBLIC_STATUSES, Finding, Lot, ReviewRequest, Sale

__all__ = ["LotView", "FindingRow", "FindingView", "DepartmentFindings", "RoundView", "SaleView", "LotDetail",
           "get_lot", "lot_version", "lot_view", "finding_rows", "finding_view", "display_value", "rounds_of"]


class LotView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    lot_no: str
    title: str
    kind: str
    status: str
    round: str
    address: str
    city: str
    district: str
    court_code: str | None
    court_name_zh: str
    court_name_en: str
    court_contact_zh: str
    court_contact_en: str
    case_number: str | None
    description: str | None
    appraisal: Decimal
    starting_price: Decimal
    deposit: Decimal | None
    increment: Decimal | None
    announced_on: dt.date | None
    bidding_starts_at: dt.datetime | None
    bidding_ends_at: dt.datetime | None
    platform: str | None
    platform_name_zh: str
    platform_name_en: str
    platform_url: str | None
    tax_clause: str
    property_use: str
    area_m2: Decimal
    location: str
    utility_arrears_clause: str
    seller_type: str
    seller_acquired_on: dt.date | None
    seller_purchase_price: Decimal | None
    seller_only_home: bool
    has_gas: bool
    status_reason: str | None
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    version: int
    previous_lot_no: str | None = None
    next_lot_no: str | None = None


class FindingRow(msgspec.Struct, frozen=True, kw_only=True):
    """One answered field, labelled in both languages; text a department wrote is kept as written."""

    area: str
    area_title_zh: str
    area_title_en: str
    field: str
    label_zh: str
    label_en: str
    value_zh: str
    value_en: str
    changed: bool = False


class FindingView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    department: str
    version: int
    answers: dict[str, Any]
    rows: list[FindingRow]
    note: str | None
    signed_by_name: str
    signed_at: dt.datetime
    public: bool
    after_publication: bool
    changed: list[str]


class DepartmentFindings(msgspec.Struct, frozen=True, kw_only=True):
    department: str
    name_zh: str
    name_en: str
    asked: bool
    current: FindingView | None
    earlier: list[FindingView]  # newest first

    @property
    def answered(self) -> bool:
        return self.current is not None


class RoundView(msgspec.Struct, frozen=True, kw_only=True):
    lot_no: str
    round: str
    status: str
    starting_price: Decimal
    bidding_starts_at: dt.datetime | None
    bidding_ends_at: dt.datetime | None


class SaleView(msgspec.Struct, frozen=True, kw_only=True):
    price: Decimal
    sold_at: dt.datetime | None
    confirmed_on: dt.date
    # Staff views only (None on public reads).
    buyer_id: int | None = None
    tracking_no: str | None = None


class LotDetail(msgspec.Struct, frozen=True, kw_only=True):
    lot: LotView
    findings: list[DepartmentFindings]
    unanswered: list[str]  # departments asked that have not answered yet
    rounds: list[RoundView]  # every round of this property, oldest first (this one included)
    sale: SaleView | None


def lot_view(lot: Lot, *, previous_lot_no: str | None = None, next_lot_no: str | None = None) -> LotView:
    court = catalogue.court(lot.court_code)
    platform = catalogue.platforms().get(lot.platform or "")
    return LotView(
        id=lot.id, lot_no=lot.lot_no, title=lot.title, kind=lot.asset_kind, status=lot.status, round=lot.round,
        address=lot.address, city=lot.city, district=lot.district, court_code=lot.court_code,
        court_name_zh=court.name_zh if court else lot.court, court_name_en=court.name_en if court else lot.court,
        court_contact_zh=court.contact_zh if court else "", court_contact_en=court.contact_en if court else "",
        case_number=lot.case_number, description=lot.description, appraisal=Decimal(lot.appraisal),
        starting_price=Decimal(lot.starting_price), deposit=lot.deposit, increment=lot.increment,
        announced_on=lot.announced_on, bidding_starts_at=lot.bidding_starts_at, bidding_ends_at=lot.bidding_ends_at,
        platform=lot.platform, platform_name_zh=platform.name_zh if platform else "",
        platform_name_en=platform.name_en if platform else "", platform_url=lot.platform_url,
        tax_clause=lot.tax_clause, property_use=lot.property_use, area_m2=Decimal(lot.area_m2), location=lot.location,
        utility_arrears_clause=lot.utility_arrears_clause, seller_type=lot.seller_type,
        seller_acquired_on=lot.seller_acquired_on, seller_purchase_price=lot.seller_purchase_price,
        seller_only_home=lot.seller_only_home, has_gas=lot.has_gas, status_reason=lot.status_reason,
        published_at=lot.published_at, closed_at=lot.closed_at, version=lot.version,
        previous_lot_no=previous_lot_no, next_lot_no=next_lot_no,
    )


def display_value(field: catalogue.Field, value: Any) -> tuple[str, str]:
    """(zh, en) of an answered value; what a department typed is the same in both."""
    if value is None or value == "":
        return "—", "—"
    if field.type == "yes_no":
        return ("是", "Yes") if value else ("否", "No")
    if field.type == "choice":
        return field.option_label(str(value), "zh"), field.option_label(str(value), "en")
    if field.type == "money":
        text = f"¥{Decimal(str(value)):,.2f}"
        return text, text
    return str(value), str(value)


def finding_rows(answers: dict[str, Any], changed: list[str] | None = None) -> list[FindingRow]:
    """The answered fields in the data's order (areas no longer in the data are skipped)."""
    changed_set = set(changed or [])
    rows: list[FindingRow] = []
    for area_key, values in answers.items():
        area = catalogue.area(area_key)
        if area is None or not isinstance(values, dict):
            continue
        for field in area.fields:
            if field.key not in values:
                continue
            zh, en = display_value(field, values[field.key])
            rows.append(FindingRow(area=area_key, area_title_zh=area.title_zh, area_title_en=area.title_en,
                                   field=field.key, label_zh=field.label_zh, label_en=field.label_en,
                                   value_zh=zh, value_en=en, changed=f"{area_key}.{field.key}" in changed_set))
    return rows


def finding_view(f: Finding) -> FindingView:
    return FindingView(id=f.id, department=f.department, version=f.version, answers=dict(f.answers or {}),
                       rows=finding_rows(f.answers or {}, f.changed), note=f.note, signed_by_name=f.signed_by_name,
                       signed_at=f.signed_at, public=f.public, after_publication=f.after_publication,
                       changed=list(f.changed or []))


async def rounds_of(session: AsyncSession, lot: Lot) -> tuple[list[Lot], Lot | None, Lot | None]:
    """Every round of the lot's property, oldest first; and the rounds just before and after it."""
    chain: list[Lot] = [lot]
    current = lot
    while current.previous_lot_id is not None and len(chain) < 10:
        before = await session.get(Lot, current.previous_lot_id)
        if before is None:
            break
        chain.insert(0, before)
        current = before
    current = lot
    while len(chain) < 10:
        after = await session.scalar(select(Lot).where(Lot.previous_lot_id == current.id))
        if after is None:
            break
        chain.append(after)
        current = after
    at = chain.index(lot)
    return chain, chain[at - 1] if at > 0 else None, chain[at + 1] if at + 1 < len(chain) else None


async def get_lot(session: AsyncSession, lot_no: str, *, public: bool = True) -> LotDetail | None:
    """A lot with its findings and rounds; None if there is none (or, ``public``, none the public may see).

    ``public``: only versions of findings that were published, no rounds or results that are
    not public, no buyer.
    """
    lot = await session.scalar(select(Lot).where(Lot.lot_no == (lot_no or "").strip()[:40]))
    if lot is None or (public and lot.status not in PUBLIC_STATUSES):
        return None
    chain, previous, following = await rounds_of(session, lot)
    if public:
        chain = [r for r in chain if r.status in PUBLIC_STATUSES]
        following = following if following is not None and following.status in PUBLIC_STATUSES else None
    asked = set((await session.scalars(select(ReviewRequest.department).where(ReviewRequest.lot_id == lot.id))).all())
    stmt = select(Finding).where(Finding.lot_id == lot.id)
    if public:
        stmt = stmt.where(Finding.public.is_(True))
    found: dict[str, list[Finding]] = {}
    for f in (await session.scalars(stmt.order_by(Finding.department, Finding.version.desc()))).all():
        found.setdefault(f.department, []).append(f)
    order = [d for d in catalogue.departments_for(lot.asset_kind)]
    order += sorted((asked | set(found)) - set(order))
    findings: list[DepartmentFindings] = []
    for dept in order:
        if dept not in asked and dept not in found:
            continue
        versions = [finding_view(f) for f in found.get(dept, [])]
        zh, en = DEPARTMENT_NAMES.get(Department(dept), (dept, dept))
        findings.append(DepartmentFindings(department=dept, name_zh=zh, name_en=en, asked=dept in asked,
                                           current=versions[0] if versions else None, earlier=versions[1:]))
    sale_row = await session.scalar(select(Sale).where(Sale.lot_id == lot.id))
    sale = None
    if sale_row is not None:
        sale = SaleView(price=Decimal(sale_row.price), sold_at=sale_row.sold_at, confirmed_on=sale_row.confirmed_on,
                        buyer_id=None if public else sale_row.buyer_id,
                        tracking_no=None if public else sale_row.tracking_no)
    return LotDetail(
        lot=lot_view(lot, previous_lot_no=previous.lot_no if previous else None,
                     next_lot_no=following.lot_no if following else None),
        findings=findings,
        unanswered=[d.department for d in findings if d.asked and d.current is None],
        rounds=[RoundView(lot_no=r.lot_no, round=r.round, status=r.status, starting_price=Decimal(r.starting_price),
                          bidding_starts_at=r.bidding_starts_at, bidding_ends_at=r.bidding_ends_at) for r in chain],
        sale=sale,
    )


async def lot_version(session: AsyncSession, lot_no: str, *, public: bool = True) -> int | None:
    """The lot's version (None: no such lot, or not public): what caches compare."""
    row = (await session.execute(select(Lot.version, Lot.status).where(Lot.lot_no == (lot_no or "").strip()[:40]))).first()
    if row is None or (public and row[1] not in PUBLIC_STATUSES):
        return None
    return int(row[0])
