"""The rules a lot must keep, checked on entry: every violation at once, one message each.

Parsing (what was typed → typed values) and the auction rules (starting price vs appraisal,
second-round reduction, deposit range, increments, announcement periods, bidding length,
the platform's link) both produce :class:`Violation` values naming the form field, so the
staff form shows each message beside its field and the service refuses with all of them
(:class:`~auction_listings.errors.LotRulesBroken`). Rates and periods come from
``data/listing.toml`` (catalogue.rules()).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from auction_listings import catalogue
from auction_listings.models import LotKind, Round

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
CASE_NUMBER = re.compile(r"^[((]\d{4}[))]浙\d{2,4}执(恢|保|异|复)?\d{1,6}号$")
MAX_MONEY = Decimal("1e13")
TAX_CLAUSES = ("by_law", "buyer_bears_all")
PROPERTY_USES = ("residential", "non_residential")
LOCATIONS = ("city", "county", "other")
PARTIES = ("individual", "company")
ARREARS_CLAUSES = ("proceeds", "buyer")

__all__ = ["Violation", "LotInput", "Previous", "parse_form", "check", "yuan", "CHINA", "china_date",
           "TAX_CLAUSES", "PROPERTY_USES", "LOCATIONS", "PARTIES", "ARREARS_CLAUSES"]


class Violation(msgspec.Struct, frozen=True):
    field: str
    rule: str
    message_zh: str
    message_en: str


class LotInput(msgspec.Struct, kw_only=True):
    """A lot as entered (typed); None where nothing (valid) was given."""

    title: str = ""
    asset_kind: str = LotKind.real_estate.value
    address: str = ""
    court_code: str | None = None
    case_number: str | None = None
    city: str = ""
    district: str = ""
    description: str | None = None
    appraisal: Decimal | None = None
    starting_price: Decimal | None = None
    deposit: Decimal | None = None
    increment: Decimal | None = None
    round: str = Round.first.value
    announced_on: dt.date | None = None
    bidding_starts_at: dt.datetime | None = None
    bidding_ends_at: dt.datetime | None = None
    platform: str | None = None
    platform_url: str | None = None
    tax_clause: str = "by_law"
    property_use: str = "residential"
    area_m2: Decimal = Decimal(0)
    location: str = "city"
    utility_arrears_clause: str = "proceeds"
    seller_type: str = "individual"
    seller_acquired_on: dt.date | None = None
    seller_purchase_price: Decimal | None = None
    seller_only_home: bool = False
    has_gas: bool = True


class Previous(msgspec.Struct, frozen=True, kw_only=True):
    """The round before (the lot this one relists)."""

    lot_no: str
    round: str
    starting_price: Decimal
    ended_at: dt.datetime | None


def yuan(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def china_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


# --- parsing -------------------------------------------------------------------------------------

_TEXT_LIMITS = {"title": 200, "address": 300, "case_number": 60, "city": 40, "district": 40, "description": 4000,
                "platform_url": 500}
_LABELS = {
    "title": ("标的名称", "title"), "address": ("地址", "address"), "appraisal": ("评估价", "appraisal"),
    "starting_price": ("起拍价", "starting price"), "deposit": ("保证金", "deposit"),
    "increment": ("加价幅度", "increment"), "area_m2": ("面积", "area"),
    "seller_purchase_price": ("原购入价", "purchase price"), "announced_on": ("公告日期", "announcement date"),
    "seller_acquired_on": ("原取得日期", "date acquired"), "bidding_starts_at": ("竞价开始时间", "bidding start"),
    "bidding_ends_at": ("竞价结束时间", "bidding end"),
}


def _v(field: str, rule: str, zh: str, en: str) -> Violation:
    return Violation(field, rule, zh, en)


def _money(raw: str, field: str, out: list[Violation]) -> Decimal | None:
    text = raw.replace(",", "").replace(",", "").replace("¥", "").replace("元", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    zh, en = _LABELS[field]
    if not value.is_finite() or value < 0 or value >= MAX_MONEY or value != value.quantize(Decimal("0.01")):
        out.append(_v(field, "number", f"{zh}请填写金额(元),如 1820000 或 1820000.50。",
                      f"Give the {en} in yuan, e.g. 1820000 or 1820000.50."))
        return None
    return value


YEARS = range(1950, 2101)  # dates outside are typing slips (and would overflow date arithmetic)


def _date(raw: str, field: str, out: list[Violation]) -> dt.date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = dt.date.fromisoformat(text)
        if value.year in YEARS:
            return value
    except ValueError:
        pass
    zh, en = _LABELS[field]
    out.append(_v(field, "date", f"{zh}请按 2026-12-01 的格式填写。", f"Give the {en} as a date, e.g. 2026-12-01."))
    return None


def _moment(raw: str, field: str, out: list[Violation]) -> dt.datetime | None:
    """A date and time as typed in China time (a datetime-local input), kept in UTC."""
    text = raw.strip().replace(" ", "T")
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
        if value.year not in YEARS:
            raise ValueError(text)
    except ValueError:
        zh, en = _LABELS[field]
        out.append(_v(field, "datetime", f"{zh}请按 2026-12-01 10:00 的格式填写(北京时间)。",
                      f"Give the {en} as a date and time, e.g. 2026-12-01 10:00 (China time)."))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)
    return value.astimezone(dt.UTC)


def _choice(raw: str, allowed: tuple[str, ...] | list[str], field: str, default: str, out: list[Violation],
            zh: str, en: str) -> str:
    text = raw.strip()
    if not text:
        return default
    if text not in allowed:
        out.append(_v(field, "choice", f"请从列表中选择{zh}。", f"Choose the {en} from the list."))
        return default
    return text


def parse_form(form: Mapping[str, Any]) -> tuple[LotInput, list[Violation]]:
    """What the staff form (or the JSON API) sent → typed values, and what could not be read."""
    out: list[Violation] = []

    def text(name: str) -> str:
        value = str(form.get(name) or "").strip()
        limit = _TEXT_LIMITS.get(name)
        if limit and len(value) > limit:
            out.append(_v(name, "length", f"最多 {limit} 个字。", f"At most {limit} characters."))
            value = value[:limit]
        return value

    data = LotInput(
        title=text("title"), address=text("address"), city=text("city"), district=text("district"),
        description=text("description") or None, case_number=text("case_number") or None,
        platform_url=text("platform_url") or None,
        asset_kind=_choice(str(form.get("asset_kind") or ""), [k.value for k in LotKind], "asset_kind",
                           LotKind.real_estate.value, out, "标的类型", "kind of lot"),
        court_code=_choice(str(form.get("court_code") or ""), list(catalogue.courts()), "court_code", "", out,
                           "法院", "court") or None,
        round=_choice(str(form.get("round") or ""), [r.value for r in Round], "round", Round.first.value, out,
                      "拍卖轮次", "round"),
        platform=_choice(str(form.get("platform") or ""), list(catalogue.platforms()), "platform", "", out,
                         "拍卖平台", "platform") or None,
        tax_clause=_choice(str(form.get("tax_clause") or ""), TAX_CLAUSES, "tax_clause", "by_law", out,
                           "税费承担方式", "tax clause"),
        property_use=_choice(str(form.get("property_use") or ""), PROPERTY_USES, "property_use", "residential", out,
                             "用途", "use"),
        location=_choice(str(form.get("location") or ""), LOCATIONS, "location", "city", out, "所在地", "location"),
        utility_arrears_clause=_choice(str(form.get("utility_arrears_clause") or ""), ARREARS_CLAUSES,
                                       "utility_arrears_clause", "proceeds", out, "水电气欠费承担", "arrears clause"),
        seller_type=_choice(str(form.get("seller_type") or ""), PARTIES, "seller_type", "individual", out,
                            "被执行人类型", "seller type"),
        appraisal=_money(str(form.get("appraisal") or ""), "appraisal", out),
        starting_price=_money(str(form.get("starting_price") or ""), "starting_price", out),
        deposit=_money(str(form.get("deposit") or ""), "deposit", out),
        increment=_money(str(form.get("increment") or ""), "increment", out),
        seller_purchase_price=_money(str(form.get("seller_purchase_price") or ""), "seller_purchase_price", out),
        area_m2=_money(str(form.get("area_m2") or ""), "area_m2", out) or Decimal(0),
        announced_on=_date(str(form.get("announced_on") or ""), "announced_on", out),
        seller_acquired_on=_date(str(form.get("seller_acquired_on") or ""), "seller_acquired_on", out),
        bidding_starts_at=_moment(str(form.get("bidding_starts_at") or ""), "bidding_starts_at", out),
        bidding_ends_at=_moment(str(form.get("bidding_ends_at") or ""), "bidding_ends_at", out),
        seller_only_home=str(form.get("seller_only_home") or "").lower() in ("1", "true", "on", "yes"),
        has_gas=str(form.get("has_gas") or "").lower() in ("1", "true", "on", "yes"),
    )
    return data, out


# --- the rules ----------------------------------------------------------------------------------

def _required(lot: LotInput, complete: bool) -> list[Violation]:
    out: list[Violation] = []
    need: list[tuple[str, Any, str, str]] = [
        ("title", lot.title, "请填写标的名称。", "Give the lot a title."),
        ("address", lot.address, "请填写标的所在地址或存放地点。", "Give the address (or where the asset is kept)."),
        ("court_code", lot.court_code, "请选择承办法院。", "Choose the court."),
        ("appraisal", lot.appraisal, "请填写评估价(元)。", "Give the appraisal in yuan."),
        ("starting_price", lot.starting_price, "请填写起拍价(元)。", "Give the starting price in yuan."),
    ]
    if complete:  # what the announcement must carry
        need += [
            ("case_number", lot.case_number, "请填写执行案号,如 (2025)浙0681执1234号。",
             "Give the enforcement case number, e.g. (2025)浙0681执1234号."),
            ("city", lot.city, "请填写所在城市。", "Give the city."),
            ("deposit", lot.deposit, "请填写保证金(元)。", "Give the deposit in yuan."),
            ("increment", lot.increment, "请填写加价幅度(元)。", "Give the bidding increment in yuan."),
            ("bidding_starts_at", lot.bidding_starts_at, "请填写竞价开始时间。", "Give the bidding start."),
            ("bidding_ends_at", lot.bidding_ends_at, "请填写竞价结束时间。", "Give the bidding end."),
            ("platform", lot.platform, "请选择拍卖平台。", "Choose the auction platform."),
            ("platform_url", lot.platform_url, "请填写该标的在拍卖平台上的链接。", "Give the link to the lot on the platform."),
        ]
    for field, value, zh, en in need:
        if value is None or value == "":
            out.append(_v(field, "required", zh, en))
    return out


def _announce_days(lot: LotInput) -> int:
    r = catalogue.rules()
    if lot.round == Round.fixed_price:
        return r.announce_days_fixed_price
    movable = lot.asset_kind != LotKind.real_estate
    if lot.round == Round.second:
        return r.announce_days_movable_second if movable else r.announce_days_real_estate_second
    return r.announce_days_movable_first if movable else r.announce_days_real_estate_first


def check(lot: LotInput, previous: Previous | None = None, *, complete: bool = False,
          announcing_on: dt.date | None = None) -> list[Violation]:
    """Every rule ``lot`` breaks. ``complete``: it is being announced (every announcement field is
    needed; ``announcing_on`` is the day it goes public, for the announcement period)."""
    r = catalogue.rules()
    out = _required(lot, complete)
    start, appraisal = lot.starting_price, lot.appraisal

    if lot.case_number and not CASE_NUMBER.match(lot.case_number):
        out.append(_v("case_number", "case_number", "执行案号格式应为 (年份)浙+法院代码+执+序号+号,如 (2025)浙0681执1234号。",
                      "The case number reads (year)浙 + court code + 执 + number + 号, e.g. (2025)浙0681执1234号."))
    if appraisal is not None and appraisal <= 0:
        out.append(_v("appraisal", "positive", "评估价须大于零。", "The appraisal must be more than zero."))
    if start is not None and start <= 0:
        out.append(_v("starting_price", "positive", "起拍价须大于零。", "The starting price must be more than zero."))
        start = None

    if lot.round == Round.first and start is not None and appraisal is not None and appraisal > 0:
        least = (appraisal * r.first_round_min_of_appraisal).quantize(Decimal("0.01"))
        if start < least:
            pct = int(r.first_round_min_of_appraisal * 100)
            out.append(_v("starting_price", "first_round_floor",
                          f"一拍起拍价不得低于评估价的{pct}%:评估价 {yuan(appraisal)},起拍价至少 {yuan(least)}。",
                          f"A first-round starting price may not be below {pct}% of the appraisal: appraisal "
                          f"{yuan(appraisal)}, so at least {yuan(least)}."))
    if lot.round in (Round.second, Round.fixed_price):
        if previous is None:
            out.append(_v("round", "needs_previous",
                          "二拍和变卖由上一轮流拍的标的“流拍并转入下一轮”生成,不能直接选择。",
                          "A second round or fixed-price sale is created from the unsold lot of the round before "
                          "(record unsold → relist); it cannot be chosen here."))
        elif start is not None:
            if lot.round == Round.second:
                least = (previous.starting_price * (1 - r.second_round_max_reduction)).quantize(Decimal("0.01"))
                pct = int(r.second_round_max_reduction * 100)
                if start < least:
                    out.append(_v("starting_price", "second_round_reduction",
                                  f"二拍起拍价降幅不得超过一拍起拍价的{pct}%:一拍 {yuan(previous.starting_price)},"
                                  f"二拍至少 {yuan(least)}。",
                                  f"A second-round starting price may be at most {pct}% below the first round's: "
                                  f"first round {yuan(previous.starting_price)}, so at least {yuan(least)}."))
            elif start < previous.starting_price:
                out.append(_v("starting_price", "fixed_price_floor",
                              f"变卖价不得低于二拍起拍价 {yuan(previous.starting_price)}。",
                              f"The fixed price may not be below the second round's starting price "
                              f"{yuan(previous.starting_price)}."))
            if (lot.round == Round.second and previous.ended_at is not None and lot.bidding_starts_at is not None
                    and lot.bidding_starts_at > previous.ended_at + dt.timedelta(days=r.second_round_within_days)):
                last = china_date(previous.ended_at + dt.timedelta(days=r.second_round_within_days))
                out.append(_v("bidding_starts_at", "second_round_within",
                              f"二拍应在一拍流拍后{r.second_round_within_days}日内进行,竞价最迟于 {last} 开始。",
                              f"A second round must be held within {r.second_round_within_days} days of the first: "
                              f"bidding must start by {last}."))

    if start is not None and lot.deposit is not None:
        low = (start * r.deposit_min_of_start).quantize(Decimal("0.01"))
        high = (start * r.deposit_max_of_start).quantize(Decimal("0.01"))
        if not low <= lot.deposit <= high:
            lo_pct, hi_pct = int(r.deposit_min_of_start * 100), int(r.deposit_max_of_start * 100)
            out.append(_v("deposit", "deposit_range",
                          f"保证金应为起拍价的{lo_pct}%至{hi_pct}%,即 {yuan(low)} 至 {yuan(high)}。",
                          f"The deposit must be {lo_pct}%–{hi_pct}% of the starting price: {yuan(low)} to {yuan(high)}."))
    if lot.increment is not None:
        if lot.increment <= 0:
            out.append(_v("increment", "positive", "加价幅度须大于零。", "The increment must be more than zero."))
        elif start is not None:
            high = (start * r.increment_max_of_start).quantize(Decimal("0.01"))
            if lot.increment > high:
                pct = int(r.increment_max_of_start * 100)
                out.append(_v("increment", "increment_max", f"加价幅度不应超过起拍价的{pct}%,即 {yuan(high)}。",
                              f"The increment should be at most {pct}% of the starting price: {yuan(high)}."))

    begins, ends = lot.bidding_starts_at, lot.bidding_ends_at
    if begins is not None and ends is not None:
        if ends - begins < dt.timedelta(hours=r.min_bidding_hours):
            out.append(_v("bidding_ends_at", "bidding_length",
                          f"竞价时间不少于{r.min_bidding_hours}小时:结束时间应不早于开始后{r.min_bidding_hours}小时。",
                          f"Bidding lasts at least {r.min_bidding_hours} hours: end it at least "
                          f"{r.min_bidding_hours} hours after it starts."))
    announced = announcing_on or lot.announced_on
    if announced is not None and begins is not None:
        days = _announce_days(lot)
        first_day = announced + dt.timedelta(days=days)
        if china_date(begins) < first_day:
            kind_zh = "不动产" if lot.asset_kind == LotKind.real_estate else "动产"
            kind_en = "real estate" if lot.asset_kind == LotKind.real_estate else "movables"
            round_zh = {"first": "一拍", "second": "二拍", "fixed_price": "变卖"}[lot.round]
            round_en = {"first": "a first round", "second": "a second round", "fixed_price": "a fixed-price sale"}[
                lot.round]
            out.append(_v("bidding_starts_at", "announcement_period",
                          f"{kind_zh}{round_zh}须提前{days}日公告:公告日 {announced},竞价最早于 {first_day} 开始。",
                          f"{kind_en.capitalize()} in {round_en} must be announced {days} days ahead: announced "
                          f"{announced}, so bidding may start on {first_day} at the earliest."))

    if lot.platform_url:
        host_platform = catalogue.platform_of_url(lot.platform_url)
        if host_platform is None:
            names = "、".join(p.name_zh for p in catalogue.platforms().values())
            out.append(_v("platform_url", "platform_url",
                          f"链接须为法院认可平台上的 https 网址({names})。",
                          "The link must be an https address on a court-approved platform "
                          f"({', '.join(p.name_en for p in catalogue.platforms().values())})."))
        elif lot.platform and host_platform != lot.platform:
            chosen = catalogue.platforms()[lot.platform]
            out.append(_v("platform_url", "platform_mismatch", f"链接不在所选平台“{chosen.name_zh}”上。",
                          f"The link is not on the chosen platform ({chosen.name_en})."))
    if lot.asset_kind == LotKind.real_estate and lot.area_m2 <= 0 and complete:
        out.append(_v("area_m2", "required", "请填写建筑面积(平方米)。", "Give the floor area in m²."))
    return out
