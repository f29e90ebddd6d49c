"""Tax estimate for a judicial sale, line by line with the rule and rate behind each.

An estimate, never an assessment: the tax bureau's assessment (税费核定) is what is paid.
Rates come from data/tax_rates.toml (effective dates); this module holds only the rules.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import msgspec

RATES_FILE = Path(__file__).parent / "data" / "tax_rates.toml"
CENT = Decimal("0.01")


class TaxClause(StrEnum):
    by_law = "by_law"  # each side pays what the law names (SPC rules Art. 30)
    buyer_bears_all = "buyer_bears_all"  # 买受人承担全部税费


class PropertyUse(StrEnum):
    residential = "residential"
    non_residential = "non_residential"


class HomeCount(StrEnum):
    only_home = "only_home"
    second_home = "second_home"
    other = "other"  # third or later home


class Location(StrEnum):
    city = "city"
    county = "county"
    other = "other"


class Party(StrEnum):
    individual = "individual"
    company = "company"


class RateSet(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    effective_from: dt.date
    source: str
    deed_individual_only_home_small: Decimal
    deed_individual_only_home_large: Decimal
    deed_individual_second_home_small: Decimal
    deed_individual_second_home_large: Decimal
    deed_general: Decimal
    deed_area_threshold_m2: Decimal
    stamp_duty_transfer_deed: Decimal
    vat_rate: Decimal
    vat_vat_included_divisor: Decimal
    vat_housing_exempt_years: int
    surcharge_urban_city: Decimal
    surcharge_urban_county: Decimal
    surcharge_urban_other: Decimal
    surcharge_education: Decimal
    surcharge_local_education: Decimal
    income_tax_on_gain: Decimal
    income_tax_deemed_on_price: Decimal
    income_tax_only_home_exempt_years: int


class _RatesFile(msgspec.Struct):
    rate_sets: list[RateSet]


def _dec(raw: object) -> object:
    """TOML floats → exact decimals via their shortest repr (0.015 stays 0.015)."""
    if isinstance(raw, float):
        return str(raw)
    if isinstance(raw, dict):
        return {k: _dec(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_dec(v) for v in raw]
    return raw


def load_rate_sets(path: Path = RATES_FILE) -> list[RateSet]:
    raw = _dec(tomllib.loads(path.read_text(encoding="utf-8")))
    data = msgspec.convert(raw, _RatesFile, strict=False)
    sets = sorted(data.rate_sets, key=lambda r: r.effective_from)
    for rs in sets:
        for name in RateSet.__struct_fields__:
            value = getattr(rs, name)
            if isinstance(value, Decimal) and name != "deed_area_threshold_m2" and name != "vat_vat_included_divisor":
                if not Decimal(0) <= value < Decimal(1):
                    raise ValueError(f"{path.name}: {name}={value} is not a fraction between 0 and 1")
    return sets


@lru_cache(maxsize=1)
def rate_sets() -> list[RateSet]:
    return load_rate_sets()


def rates_for(day: dt.date, sets: list[RateSet] | None = None) -> RateSet:
    sets = rate_sets() if sets is None else sets
    eligible = [r for r in sets if r.effective_from <= day]
    if not eligible:
        raise LookupError(f"no tax rates in force on {day.isoformat()}")
    return eligible[-1]


class SaleFacts(msgspec.Struct, frozen=True):
    """What the estimate needs to know about the sale, the property and both parties."""

    price: Decimal
    sale_date: dt.date
    use: PropertyUse
    area_m2: Decimal
    clause: TaxClause
    location: Location
    buyer: Party = Party.individual
    buyer_homes: HomeCount = HomeCount.only_home
    seller: Party = Party.individual
    seller_acquired_on: dt.date | None = None
    seller_purchase_price: Decimal | None = None
    seller_only_home: bool = False


class TaxLine(msgspec.Struct, frozen=True):
    key: str
    name_zh: str
    name_en: str
    base: Decimal
    rate: Decimal | None
    amount: Decimal
    legal_payer: Party | str  # "buyer" / "seller"
    payer: str  # who pays under the lot's clause: "buyer" / "seller"
    rule_zh: str
    rule_en: str
    exempt: bool = False
    assessed_only: bool = False  # not estimated here; the tax bureau assesses it


class TaxEstimate(msgspec.Struct, frozen=True):
    lines: list[TaxLine]
    buyer_total: Decimal
    seller_total: Decimal
    clause: TaxClause
    rates_effective_from: dt.date
    rates_source: str


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _years_held(facts: SaleFacts) -> int | None:
    if facts.seller_acquired_on is None:
        return None
    start, end = facts.seller_acquired_on, facts.sale_date
    years = end.year - start.year - ((end.month, end.day) < (start.month, start.day))
    return max(years, 0)


def _num(value: Decimal) -> str:
    """A rate-file number as written in a rule (140, 1.05)."""
    return f"{value.normalize():f}"


def _line(facts: SaleFacts, key: str, zh: str, en: str, base: Decimal, rate: Decimal | None, legal: str,
          rule_zh: str, rule_en: str, *, exempt: bool = False, assessed_only: bool = False) -> TaxLine:
    amount = _money(Decimal(0) if (exempt or assessed_only or rate is None) else base * rate)
    payer = "buyer" if facts.clause is TaxClause.buyer_bears_all else legal
    return TaxLine(key, zh, en, _money(base), rate, amount, legal, payer, rule_zh, rule_en, exempt, assessed_only)


def _housing(facts: SaleFacts) -> bool:
    return facts.use is PropertyUse.residential


# One function per tax. Each states its rule with the numbers of the rate set it used, so a
# changed rate or threshold in tax_rates.toml changes the text with the amount.

def deed_tax(facts: SaleFacts, r: RateSet) -> TaxLine:
    """契税, paid by the buyer: by home count and floor area for individuals buying housing."""
    large = facts.area_m2 > r.deed_area_threshold_m2
    cmp_, limit, area = (">" if large else "≤"), _num(r.deed_area_threshold_m2), f"{facts.area_m2:f}"
    individual_home = facts.buyer is Party.individual and _housing(facts)
    if individual_home and facts.buyer_homes is HomeCount.only_home:
        rate = r.deed_individual_only_home_large if large else r.deed_individual_only_home_small
        zh = f"个人购买家庭唯一住房,面积{area}㎡{cmp_}{limit}㎡,税率{_pct(rate)}"
        en = f"Individual buying the family's only home, {area} m² {cmp_} {limit} m²: {_pct(rate)}"
    elif individual_home and facts.buyer_homes is HomeCount.second_home:
        rate = r.deed_individual_second_home_large if large else r.deed_individual_second_home_small
        zh = f"个人购买家庭第二套住房,面积{area}㎡{cmp_}{limit}㎡,税率{_pct(rate)}"
        en = f"Individual buying a second home, {area} m² {cmp_} {limit} m²: {_pct(rate)}"
    else:
        rate = r.deed_general
        zh = f"第三套及以上住房、非住房或单位购买,适用浙江税率{_pct(rate)}"
        en = f"Third or later home, non-residential, or a company buying: Zhejiang rate {_pct(rate)}"
    return _line(facts, "deed_tax", "契税", "Deed tax", facts.price, rate, "buyer", zh, en)


def stamp_duty(facts: SaleFacts, r: RateSet, side: str) -> TaxLine:
    """印花税 on the transfer deed, each party; individuals trading housing are exempt."""
    party = facts.buyer if side == "buyer" else facts.seller
    exempt = party is Party.individual and _housing(facts)
    rate = r.stamp_duty_transfer_deed
    if exempt:
        zh = "个人购买住房免征" if side == "buyer" else "个人销售住房免征"
        en = "Individuals buying housing are exempt" if side == "buyer" else "Individuals selling housing are exempt"
    else:
        zh, en = f"产权转移书据,价款的{_pct(rate)}", f"Transfer deed: {_pct(rate)} of the price"
    name_zh, name_en = ("印花税(买方)", "Stamp duty (buyer)") if side == "buyer" else ("印花税(卖方)", "Stamp duty (seller)")
    return _line(facts, f"stamp_duty_{side}", name_zh, name_en, facts.price, rate, side, zh, en, exempt=exempt)


def vat(facts: SaleFacts, r: RateSet, held: int | None) -> TaxLine:
    """增值税, paid by the seller: on the price (housing) or the gain, VAT-inclusive."""
    rate, years, div = r.vat_rate, r.vat_housing_exempt_years, _num(r.vat_vat_included_divisor)
    price = facts.price
    if _housing(facts) and facts.seller is Party.individual:
        if held is not None and held >= years:
            return _line(facts, "vat", "增值税", "VAT", price, rate, "seller",
                         f"个人销售住房,持有{held}年(满{years}年)免征",
                         f"Individual selling housing held {held} years (≥ {years}): exempt", exempt=True)
        held_zh = f"持有{held}年" if held is not None else "持有年限不明"
        held_en = f"held {held} years" if held is not None else "holding period unknown"
        return _line(facts, "vat", "增值税", "VAT", price / r.vat_vat_included_divisor, rate, "seller",
                     f"个人销售住房,{held_zh}(不满{years}年):价款÷{div}×{_pct(rate)}",
                     f"Individual selling housing, {held_en} (< {years}): price ÷ {div} × {_pct(rate)}")
    if facts.seller_purchase_price is not None:
        gain = max(price - facts.seller_purchase_price, Decimal(0))
        return _line(facts, "vat", "增值税", "VAT", gain / r.vat_vat_included_divisor, rate, "seller",
                     f"非住房:(价款−购入原价)÷{div}×{_pct(rate)}",
                     f"Non-residential: (price − purchase price) ÷ {div} × {_pct(rate)}")
    return _line(facts, "vat", "增值税", "VAT", price / r.vat_vat_included_divisor, rate, "seller",
                 f"非住房且购入原价不明:按价款÷{div}×{_pct(rate)}估算,以税务局核定为准",
                 f"Non-residential, purchase price unknown: estimated on price ÷ {div} × {_pct(rate)}; "
                 "the tax bureau's assessment decides")


_PLACES = {Location.city: ("市区", "city"), Location.county: ("县城、镇", "county or town"),
           Location.other: ("其他地区", "elsewhere")}


def vat_surcharges(facts: SaleFacts, r: RateSet, vat_amount: Decimal) -> list[TaxLine]:
    """城市维护建设税 (by location), 教育费附加 and 地方教育附加, on the VAT."""
    urban = {Location.city: r.surcharge_urban_city, Location.county: r.surcharge_urban_county,
             Location.other: r.surcharge_urban_other}[facts.location]
    place_zh, place_en = _PLACES[facts.location]
    exempt = vat_amount == 0
    return [
        _line(facts, "urban_maintenance", "城市维护建设税", "Urban maintenance tax", vat_amount, urban, "seller",
              f"增值税额×{_pct(urban)}({place_zh})", f"VAT × {_pct(urban)} ({place_en})", exempt=exempt),
        _line(facts, "education_surcharge", "教育费附加", "Education surcharge", vat_amount, r.surcharge_education,
              "seller", f"增值税额×{_pct(r.surcharge_education)}", f"VAT × {_pct(r.surcharge_education)}",
              exempt=exempt),
        _line(facts, "local_education_surcharge", "地方教育附加", "Local education surcharge", vat_amount,
              r.surcharge_local_education, "seller", f"增值税额×{_pct(r.surcharge_local_education)}",
              f"VAT × {_pct(r.surcharge_local_education)}", exempt=exempt),
    ]


def income_tax(facts: SaleFacts, r: RateSet, held: int | None) -> TaxLine | None:
    """个人所得税 of an individual seller: exempt, on the gain, or deemed on the price."""
    if facts.seller is not Party.individual:
        return None
    name = ("个人所得税", "Individual income tax")
    years = r.income_tax_only_home_exempt_years
    if _housing(facts) and facts.seller_only_home and held is not None and held >= years:
        term = "(满五唯一)" if years == 5 else ""
        return _line(facts, "income_tax", *name, facts.price, r.income_tax_on_gain, "seller",
                     f"家庭唯一住房且持有满{years}年{term}免征",
                     f"Family's only home held ≥ {years} years: exempt", exempt=True)
    if facts.seller_purchase_price is not None:
        gain = max(facts.price - facts.seller_purchase_price, Decimal(0))
        return _line(facts, "income_tax", *name, gain, r.income_tax_on_gain, "seller",
                     f"转让所得(价款−原值)×{_pct(r.income_tax_on_gain)}",
                     f"Gain (price − original cost) × {_pct(r.income_tax_on_gain)}")
    deemed = r.income_tax_deemed_on_price
    return _line(facts, "income_tax", *name, facts.price, deemed, "seller",
                 f"原值无法提供:按价款的{_pct(deemed)}核定征收(须核实)",
                 f"Original cost cannot be shown: {_pct(deemed)} of the price (verify)")


def land_appreciation_tax(facts: SaleFacts, r: RateSet) -> TaxLine:
    """土地增值税: exempt for individuals selling housing, otherwise assessed by the bureau."""
    name = ("土地增值税", "Land appreciation tax")
    if _housing(facts) and facts.seller is Party.individual:
        return _line(facts, "land_appreciation_tax", *name, facts.price, None, "seller",
                     "个人销售住房免征", "Individuals selling housing are exempt", exempt=True)
    return _line(facts, "land_appreciation_tax", *name, facts.price, None, "seller",
                 "非住房或单位销售:由税务局按增值额核定,本估算不含",
                 "Non-residential or company seller: assessed by the tax bureau on the gain; not in this estimate",
                 assessed_only=True)


def estimate(facts: SaleFacts, sets: list[RateSet] | None = None) -> TaxEstimate:
    """Estimate each tax on the sale and who pays it under the lot's clause."""
    if facts.price <= 0:
        raise ValueError("price must be positive")
    r = rates_for(facts.sale_date, sets)
    held = _years_held(facts)
    value_added = vat(facts, r, held)
    lines = [deed_tax(facts, r), stamp_duty(facts, r, "buyer"), stamp_duty(facts, r, "seller"), value_added,
             *vat_surcharges(facts, r, value_added.amount)]
    income = income_tax(facts, r, held)
    if income is not None:
        lines.append(income)
    lines.append(land_appreciation_tax(facts, r))
    buyer_total = sum((ln.amount for ln in lines if ln.payer == "buyer"), Decimal(0))
    seller_total = sum((ln.amount for ln in lines if ln.payer == "seller"), Decimal(0))
    return TaxEstimate(lines, _money(buyer_total), _money(seller_total), facts.clause, r.effective_from, r.source)
