"""What the public lot page and the API show, built from :mod:`auction_listings.read` values:
findings side by side with the version before, the lot's facts as tax-estimate parameters,
and the JSON shapes of ``/api/v1/lots``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec

from auction_listings.read import DepartmentFindings, FindingRow, FindingView, LotDetail, LotView
from auction_listings.seams import PublicDocument

# The buyer's circumstances the lot page lets a bidder change; the rest comes from the lot.
BUYER_PARAMS = ("buyer", "buyer_homes", "price")


class ComparedRow(msgspec.Struct, frozen=True, kw_only=True):
    area_title_zh: str
    area_title_en: str
    label_zh: str
    label_en: str
    before_zh: str
    before_en: str
    now_zh: str
    now_en: str
    changed: bool


def compare(current: FindingView, previous: FindingView | None) -> list[ComparedRow]:
    """Each answered field of ``current`` beside its value in ``previous`` (changed ones flagged).

    A field the earlier version answered and the current one no longer does is listed too.
    """
    before: dict[tuple[str, str], FindingRow] = {(r.area, r.field): r for r in (previous.rows if previous else [])}
    rows: list[ComparedRow] = []
    seen: set[tuple[str, str]] = set()
    for r in current.rows:
        key = (r.area, r.field)
        seen.add(key)
        old = before.get(key)
        changed = previous is not None and (r.changed or old is None or (old.value_zh, old.value_en) !=
                                            (r.value_zh, r.value_en))
        rows.append(ComparedRow(area_title_zh=r.area_title_zh, area_title_en=r.area_title_en, label_zh=r.label_zh,
                                label_en=r.label_en, before_zh=old.value_zh if old else "—",
                                before_en=old.value_en if old else "—", now_zh=r.value_zh, now_en=r.value_en,
                                changed=changed))
    for key, old in before.items():
        if key not in seen:
            rows.append(ComparedRow(area_title_zh=old.area_title_zh, area_title_en=old.area_title_en,
                                    label_zh=old.label_zh, label_en=old.label_en, before_zh=old.value_zh,
                                    before_en=old.value_en, now_zh="—", now_en="—", changed=True))
    return rows


def comparisons(detail: LotDetail) -> dict[str, list[ComparedRow]]:
    """Department → its current finding beside the version before it (only where there is one)."""
    return {d.department: compare(d.current, d.earlier[0]) for d in detail.findings
            if d.current is not None and d.earlier}


def _years_between(start: dt.date, end: dt.date) -> int:
    return max(0, end.year - start.year - ((end.month, end.day) < (start.month, start.day)))


def lot_price(detail: LotDetail) -> Decimal:
    """The price an estimate starts from: the sale price once sold, else the starting price."""
    return detail.sale.price if detail.sale is not None else detail.lot.starting_price


def estimable(lot: LotView) -> bool:
    """The estimator covers real estate with a known floor area."""
    return lot.kind == "real_estate" and lot.area_m2 > 0


def tax_params(detail: LotDetail, adjust: Mapping[str, Any] | None = None,
               today: dt.date | None = None) -> dict[str, str]:
    """The lot's facts as ``/api/v1/tax/estimate`` parameters, with the buyer's own circumstances."""
    lot = detail.lot
    day = today or dt.date.today()
    params = {
        "kind": lot.property_use, "area": f"{lot.area_m2:f}", "price": f"{lot_price(detail):f}",
        "clause": lot.tax_clause, "city_level": lot.location, "seller": lot.seller_type,
        "seller_only_home": "true" if lot.seller_only_home else "false",
    }
    if lot.seller_acquired_on is not None:
        params["seller_years"] = str(_years_between(lot.seller_acquired_on, day))
    if lot.seller_purchase_price is not None:
        params["purchase_price"] = f"{lot.seller_purchase_price:f}"
    for key in BUYER_PARAMS:
        value = (adjust or {}).get(key)
        if isinstance(value, str) and value.strip():
            params[key] = value.strip()[:40]
    return params


def buyer_values(adjust: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(adjust[k])[:40] for k in BUYER_PARAMS if k in adjust and str(adjust[k]).strip()}


# --- JSON API shapes -----------------------------------------------------------------------------


class FindingVersionOut(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    signed_by: str
    signed_at: dt.datetime
    after_publication: bool
    changed: list[str]
    answers: dict[str, Any]
    rows: list[FindingRow]
    note: str | None


class DepartmentOut(msgspec.Struct, frozen=True, kw_only=True):
    department: str
    name_zh: str
    name_en: str
    answered: bool
    current: FindingVersionOut | None
    earlier: list[FindingVersionOut]


class DocumentOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None


class ResultOut(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    price: Decimal | None
    sold_at: dt.datetime | None
    reason: str | None
    next_lot_no: str | None


class LotOut(msgspec.Struct, frozen=True, kw_only=True):
    lot: LotView
    findings: list[DepartmentOut]
    unanswered: list[str]
    rounds: list[Any]
    result: ResultOut | None
    documents: list[DocumentOut]
    tax_estimate_url: str | None
    url: str


def _version_out(f: FindingView) -> FindingVersionOut:
    return FindingVersionOut(version=f.version, signed_by=f.signed_by_name, signed_at=f.signed_at,
                             after_publication=f.after_publication, changed=f.changed, answers=f.answers, rows=f.rows,
                             note=f.note)


def _department_out(d: DepartmentFindings) -> DepartmentOut:
    return DepartmentOut(department=d.department, name_zh=d.name_zh, name_en=d.name_en, answered=d.answered,
                         current=_version_out(d.current) if d.current else None,
                         earlier=[_version_out(f) for f in d.earlier])


FINAL = ("sold", "unsold", "withdrawn", "suspended")


def result_of(detail: LotDetail) -> ResultOut | None:
    lot = detail.lot
    if lot.status not in FINAL:
        return None
    sale = detail.sale
    return ResultOut(status=lot.status, price=sale.price if sale else None, sold_at=sale.sold_at if sale else None,
                     reason=lot.status_reason, next_lot_no=lot.next_lot_no)


def lot_out(detail: LotDetail, documents: list[PublicDocument]) -> LotOut:
    lot = detail.lot
    tax_url = f"/api/v1/tax/estimate?{urlencode(tax_params(detail))}" if estimable(lot) else None
    return LotOut(lot=lot, findings=[_department_out(d) for d in detail.findings], unanswered=detail.unanswered,
                  rounds=list(detail.rounds), result=result_of(detail),
                  documents=[DocumentOut(kind=d.kind, name=d.name, content_type=d.content_type, size=d.size, url=d.url,
                                         thumbnail_url=d.thumbnail_url) for d in documents],
                  tax_estimate_url=tax_url, url=f"/lots/{lot.lot_no}")


__all__ = ["BUYER_PARAMS", "ComparedRow", "LotOut", "buyer_values", "compare", "comparisons", "estimable",
           "lot_out", "lot_price", "result_of", "tax_params"]
