"""The tax estimator's public inputs: one msgspec Struct for the API, the calculator page
and the lot page, checked strictly, with a message per field that says what to fix.

The inputs are what a bidder knows or can guess (kind, floor area, price, how many homes
their family will own, what the lot's announcement says about the seller); they become the
:class:`~title_transfer.tax.SaleFacts` the estimate takes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from kernel.errors import BilingualError
from title_transfer.tax import (
    HomeCount,
    Location,
    Party,
    PropertyUse,
    SaleFacts,
    TaxClause,
    TaxEstimate,
    TaxLine,
    estimate,
    rate_sets,
)

MAX_PRICE = Decimal("100000000000")  # ¥100 bn: above any lot; beyond it the input is a typo
MAX_AREA = Decimal("1000000")  # m²
MAX_HOMES = 99
MAX_YEARS = 100
IGNORED = frozenset({"lang"})  # the page's language switch may ride along on any URL


class EstimateQuery(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``GET /api/v1/tax/estimate`` parameters (and the calculator form's fields)."""

    price: Decimal
    area: Decimal
    kind: PropertyUse = PropertyUse.residential
    buyer: Party = Party.individual
    buyer_homes: int = 1  # homes the buyer's family owns counting this one: 1 = only home
    seller: Party = Party.individual
    seller_years: int | None = None  # years the seller has held it; None: not known
    seller_only_home: bool = False
    purchase_price: Decimal | None = None  # what the seller paid, if known
    city_level: Location = Location.city
    clause: TaxClause = TaxClause.by_law
    sale_date: dt.date | None = None  # default: today


# name → (what it is zh, en; what a good value looks like zh, en)
FIELDS: dict[str, tuple[str, str, str, str]] = {
    "price": ("成交价(price)", "price", "填写大于 0 的金额(元),例如 2000000", "a sum in yuan above 0, e.g. 2000000"),
    "area": ("建筑面积(area)", "area", "填写大于 0 的平方米数,例如 89.5", "floor area in m² above 0, e.g. 89.5"),
    "kind": ("房产类型(kind)", "kind", "填 residential(住房)或 non_residential(非住房)",
             "residential or non_residential"),
    "buyer": ("买受人类型(buyer)", "buyer", "填 individual(个人)或 company(单位)", "individual or company"),
    "buyer_homes": ("买受人家庭住房套数(buyer_homes)", "buyer_homes",
                    f"填 1 到 {MAX_HOMES} 的整数(含本套,1 表示唯一住房)",
                    f"a whole number from 1 to {MAX_HOMES}, counting this home (1 = the family's only home)"),
    "seller": ("被执行人类型(seller)", "seller", "填 individual(个人)或 company(单位)", "individual or company"),
    "seller_years": ("被执行人持有年限(seller_years)", "seller_years", f"填 0 到 {MAX_YEARS} 的整数年,不知道可留空",
                     f"whole years from 0 to {MAX_YEARS}; leave it out if not known"),
    "seller_only_home": ("是否被执行人家庭唯一住房(seller_only_home)", "seller_only_home", "填 true 或 false",
                         "true or false"),
    "purchase_price": ("被执行人购入原价(purchase_price)", "purchase_price", "填不小于 0 的金额(元),不知道可留空",
                       "a sum in yuan, 0 or more; leave it out if not known"),
    "city_level": ("所在地(city_level)", "city_level", "填 city(市区)、county(县城、镇)或 other(其他)",
                   "city, county or other"),
    "clause": ("税费承担条款(clause)", "clause", "填 by_law(依法各自承担)或 buyer_bears_all(买受人承担全部税费)",
               "by_law or buyer_bears_all"),
    "sale_date": ("成交日期(sale_date)", "sale_date", "填 YYYY-MM-DD 格式的日期", "a date as YYYY-MM-DD"),
}


class EstimateInputInvalid(BilingualError):
    """A parameter of the estimate is missing, unknown or out of range (``details.field`` names it)."""

    status_code = 400
    code = "invalid_estimate_input"


def _invalid(name: str, problem_zh: str, problem_en: str) -> EstimateInputInvalid:
    if name not in FIELDS:
        return EstimateInputInvalid(f"不认识的参数“{name}”。可用参数:{', '.join(FIELDS)}。",
                                    f"Unknown parameter “{name}”. Known parameters: {', '.join(FIELDS)}.",
                                    field=name)
    label_zh, label_en, hint_zh, hint_en = FIELDS[name]
    return EstimateInputInvalid(f"{label_zh}{problem_zh}:请{hint_zh}。", f"The {label_en} {problem_en}: {hint_en}.",
                                field=name)


_AT = re.compile(r"at `\$\.(\w+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_MISSING = re.compile(r"missing required field `(\w+)`")
_BOOLS = {"on": True, "yes": True, "1": True, "true": True, "off": False, "no": False, "0": False, "false": False}


def parse_query(params: Mapping[str, Any] | Any) -> EstimateQuery:
    """Turn query parameters (or form fields) into an :class:`EstimateQuery`, or raise a 400 naming the field.

    ``params`` is a mapping, or a multi-dict with ``getall`` (a parameter given twice is refused).
    Empty values count as not given, so a plain form may leave optional fields blank.
    """
    raw: dict[str, Any] = {}
    keys = list(params.keys())
    for key in keys:
        if key in IGNORED:
            continue
        values = params.getall(key) if hasattr(params, "getall") else [params[key]]
        if len(values) > 1:
            raise _invalid(key, "填写了不止一次", "is given more than once")
        value = values[0]
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            if key == "seller_only_home":
                value = _BOOLS.get(value.lower(), value)
        raw[key] = value
    try:
        query = msgspec.convert(raw, EstimateQuery, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if m := _UNKNOWN.search(text):
            raise _invalid(m.group(1), "", "") from None
        if m := _MISSING.search(text):
            raise _invalid(m.group(1), "未填写", "is missing") from None
        name = m.group(1) if (m := _AT.search(text)) else "price"
        raise _invalid(name, "无法识别", "is not understood") from None
    _check_ranges(query)
    return query


def _finite(value: Decimal) -> bool:
    try:
        return value.is_finite()
    except InvalidOperation:  # pragma: no cover - is_finite does not raise; kept for odd subclasses
        return False


def _check_ranges(q: EstimateQuery) -> None:
    for name, value, low_ok in (("price", q.price, False), ("area", q.area, False),
                                ("purchase_price", q.purchase_price, True)):
        if value is None:
            continue
        limit = MAX_AREA if name == "area" else MAX_PRICE
        if not _finite(value) or value > limit or value < 0 or (value == 0 and not low_ok):
            raise _invalid(name, "超出范围", "is out of range")
    if not 1 <= q.buyer_homes <= MAX_HOMES:
        raise _invalid("buyer_homes", "超出范围", "is out of range")
    if q.seller_years is not None and not 0 <= q.seller_years <= MAX_YEARS:
        raise _invalid("seller_years", "超出范围", "is out of range")
    first = rate_sets()[0].effective_from
    if q.sale_date is not None and not first <= q.sale_date <= dt.date(2100, 12, 31):
        raise EstimateInputInvalid(
            f"成交日期(sale_date)须在 {first.isoformat()} 至 2100-12-31 之间:更早的税率未收录。",
            f"The sale_date must be between {first.isoformat()} and 2100-12-31: older rates are not on file.",
            field="sale_date")


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year - years, day=28)


def homes(count: int) -> HomeCount:
    return HomeCount.only_home if count <= 1 else HomeCount.second_home if count == 2 else HomeCount.other


def sale_facts(q: EstimateQuery, today: dt.date | None = None) -> SaleFacts:
    """The facts the estimate takes, from the public inputs."""
    day = q.sale_date or today or dt.date.today()
    return SaleFacts(
        price=q.price, sale_date=day, use=q.kind, area_m2=q.area, clause=q.clause, location=q.city_level,
        buyer=q.buyer, buyer_homes=homes(q.buyer_homes), seller=q.seller,
        seller_acquired_on=None if q.seller_years is None else _years_before(day, q.seller_years),
        seller_purchase_price=q.purchase_price, seller_only_home=q.seller_only_home,
    )


class EstimateLine(msgspec.Struct, frozen=True):
    """One tax of the estimate: amount, rate and the rule behind it (zh and en), who pays."""

    key: str
    name_zh: str
    name_en: str
    base: Decimal
    rate: Decimal | None
    amount: Decimal
    legal_payer: str  # who the law names: buyer / seller
    payer: str  # who pays under the lot's clause: buyer / seller
    rule_zh: str
    rule_en: str
    exempt: bool = False
    assessed_only: bool = False


def _line(t: TaxLine) -> EstimateLine:
    return EstimateLine(t.key, t.name_zh, t.name_en, t.base, t.rate, t.amount, str(t.legal_payer), t.payer,
                        t.rule_zh, t.rule_en, t.exempt, t.assessed_only)


class EstimateAnswer(msgspec.Struct, frozen=True):
    """What ``GET /api/v1/tax/estimate`` answers: the inputs as understood, each line with its rule, totals."""

    inputs: EstimateQuery
    sale_date: dt.date
    lines: list[EstimateLine]
    buyer_total: Decimal
    seller_total: Decimal
    clause: TaxClause
    rates_effective_from: dt.date
    rates_source: str
    notice_zh: str = "以上为估算,实际以税务机关核定为准。"
    notice_en: str = "This is an estimate; the tax bureau's assessment is what is paid."


def answer(q: EstimateQuery, today: dt.date | None = None) -> EstimateAnswer:
    facts = sale_facts(q, today)
    est: TaxEstimate = estimate(facts)
    return EstimateAnswer(q, facts.sale_date, [_line(t) for t in est.lines], est.buyer_total, est.seller_total, est.clause,
                          est.rates_effective_from, est.rates_source)


def estimate_from_params(params: Mapping[str, Any] | Any) -> EstimateAnswer:
    """Parse and estimate in one call: the seam other parts of the portal are given (raises a 400 error)."""
    return answer(parse_query(params))


__all__ = ["EstimateAnswer", "EstimateInputInvalid", "EstimateQuery", "FIELDS", "answer", "estimate_from_params",
           "homes", "parse_query", "sale_facts"]
