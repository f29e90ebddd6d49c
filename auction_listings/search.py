"""Public search over the lots: filters from the URL, checked strictly, one SELECT for the page
with a capped COUNT, on the indexes of migrations 0014_lotpub and 0016_lot_sort_indexes.

The same :class:`LotFilters` serves the page (``/lots``) and the API (``/api/v1/lots``), so a
search can be shared as a link and replayed by a program.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec
from sqlalchemy import Integer, Select, and_, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from auction_listings.models import PUBLIC_STATUSES, Lot, LotKind, LotStatus
from kernel.errors import BilingualError
from storage.db import DriverStatement, asyncpg_of, driver_errors

PER_PAGE_CHOICES = (10, 20, 50)
MAX_PAGE = 10_000
MAX_PRICE = Decimal("100000000000")
# The total is counted up to this many matches past the page's start, then shown as "more than":
# counting every match of a broad search (all public lots) cost more than the page itself.
COUNT_CAP = 1000
# "open": what a bidder can still bid on (the default); "all": every public lot.
STATUS_CHOICES = ("open", "all", *sorted(s.value for s in PUBLIC_STATUSES))
OPEN_STATUSES = (LotStatus.announced.value, LotStatus.bidding.value)
SORTS = {
    "starts": "auction date, soonest first",
    "-starts": "auction date, latest first",
    "price": "starting price, lowest first",
    "-price": "starting price, highest first",
    "newest": "newest announcement first",
}
IGNORED = frozenset({"lang"})


class LotFilters(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Search parameters (all optional): ``/lots?city=绍兴市&kind=real_estate&price_max=3000000&sort=price``."""

    city: str | None = None
    district: str | None = None
    kind: LotKind | None = None
    status: str = "open"
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    date_from: dt.date | None = None  # auction (bidding start) on or after
    date_to: dt.date | None = None  # auction on or before
    sort: str = "starts"
    page: int = 1
    per_page: int = 20

    def query_string(self, **changes: Any) -> str:
        """The URL query of these filters (defaults left out), e.g. for the next page's link."""
        merged = {**{f: getattr(self, f) for f in self.__struct_fields__}, **changes}
        pairs = [(k, str(v.value if hasattr(v, "value") else v)) for k, v in merged.items()
                 if v is not None and v != _DEFAULTS[k]]
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return self.query_string(page=1, per_page=20, sort="starts") != ""


_DEFAULTS: dict[str, Any] = {f: getattr(LotFilters(), f) for f in LotFilters.__struct_fields__}

FIELDS: dict[str, tuple[str, str]] = {
    "city": ("城市(city)最多 40 个字", "city: at most 40 characters"),
    "district": ("区县(district)最多 40 个字", "district: at most 40 characters"),
    "kind": ("类型(kind)只能是 real_estate(不动产)、vehicle(机动车)或 other(其他)",
             "kind: real_estate, vehicle or other"),
    "status": (f"状态(status)只能是 {'、'.join(STATUS_CHOICES)} 之一", f"status: one of {', '.join(STATUS_CHOICES)}"),
    "price_min": ("最低起拍价(price_min)须是 0 或以上的金额(元)", "price_min: a sum in yuan, 0 or more"),
    "price_max": ("最高起拍价(price_max)须是 0 或以上的金额(元)", "price_max: a sum in yuan, 0 or more"),
    "date_from": ("拍卖日期起(date_from)须是 YYYY-MM-DD 格式的日期", "date_from: a date as YYYY-MM-DD"),
    "date_to": ("拍卖日期止(date_to)须是 YYYY-MM-DD 格式的日期", "date_to: a date as YYYY-MM-DD"),
    "sort": (f"排序(sort)只能是 {'、'.join(SORTS)} 之一", f"sort: one of {', '.join(SORTS)}"),
    "page": (f"页码(page)须是 1 到 {MAX_PAGE} 的整数", f"page: a whole number from 1 to {MAX_PAGE}"),
    "per_page": (f"每页条数(per_page)只能是 {'、'.join(map(str, PER_PAGE_CHOICES))}",
                 f"per_page: one of {', '.join(map(str, PER_PAGE_CHOICES))}"),
}


class FilterInvalid(BilingualError):
    """A search parameter is unknown, repeated or out of range (``details.field`` names it)."""

    status_code = 400
    code = "invalid_lot_filter"


def _invalid(name: str) -> FilterInvalid:
    if name not in FIELDS:
        return FilterInvalid(f"不认识的搜索条件“{name[:40]}”。可用条件:{', '.join(FIELDS)}。",
                             f"Unknown search parameter “{name[:40]}”. Known: {', '.join(FIELDS)}.", field=name[:40])
    zh, en = FIELDS[name]
    return FilterInvalid(f"请修改搜索条件:{zh}。", f"Please correct the search: {en}.", field=name)


_AT = re.compile(r"at `\$\.(\w+)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def parse_filters(params: Mapping[str, Any] | Any) -> LotFilters:
    """Query parameters → :class:`LotFilters`, or a 400 that names the parameter to correct.

    Blank values count as not given (a plain form sends every field).
    """
    raw: dict[str, Any] = {}
    for key in list(params.keys()):
        if key in IGNORED:
            continue
        values = params.getall(key) if hasattr(params, "getall") else [params[key]]
        if len(values) > 1:
            raise FilterInvalid(f"搜索条件“{key[:40]}”只能填写一次。", f"The search parameter “{key[:40]}” is given "
                                "more than once.", field=key[:40])
        value = values[0].strip() if isinstance(values[0], str) else values[0]
        if value == "":
            continue
        raw[key] = value
    try:
        f = msgspec.convert(raw, LotFilters, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if m := _UNKNOWN.search(text):
            raise _invalid(m.group(1)) from None
        raise _invalid(m.group(1) if (m := _AT.search(text)) else "page") from None
    for name in ("city", "district"):
        value = getattr(f, name)
        if value is not None and (len(value) > 40 or not value.isprintable()):
            raise _invalid(name)
    if f.status not in STATUS_CHOICES:
        raise _invalid("status")
    if f.sort not in SORTS:
        raise _invalid("sort")
    if not 1 <= f.page <= MAX_PAGE:
        raise _invalid("page")
    if f.per_page not in PER_PAGE_CHOICES:
        raise _invalid("per_page")
    for name in ("price_min", "price_max"):
        value = getattr(f, name)
        if value is not None and (not value.is_finite() or not 0 <= value <= MAX_PRICE):
            raise _invalid(name)
    if f.price_min is not None and f.price_max is not None and f.price_min > f.price_max:
        raise FilterInvalid("最低起拍价高于最高起拍价:请对调或修改。",
                            "The lowest price is above the highest: swap or correct them.", field="price_min")
    for name in ("date_from", "date_to"):
        value = getattr(f, name)
        if value is not None and not dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
            raise _invalid(name)
    if f.date_from is not None and f.date_to is not None and f.date_from > f.date_to:
        raise FilterInvalid("拍卖日期的起始日晚于截止日:请对调或修改。",
                            "The auction date range starts after it ends: swap or correct the dates.",
                            field="date_from")
    return f


class LotCard(msgspec.Struct, frozen=True, kw_only=True):
    """One lot in a search result."""

    lot_no: str
    title: str
    kind: str
    status: str
    round: str
    city: str
    district: str
    address: str
    appraisal: Decimal
    starting_price: Decimal
    deposit: Decimal | None
    bidding_starts_at: dt.datetime | None
    bidding_ends_at: dt.datetime | None
    platform: str | None
    platform_url: str | None
    version: int
    url: str


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    """``total_exact`` false: there are more than ``total`` matches (and more than ``pages`` pages)."""

    items: list[LotCard]
    total: int
    page: int
    per_page: int
    pages: int
    total_exact: bool = True


_CHINA = dt.timezone(dt.timedelta(hours=8))  # auction dates are the court's, in China time


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), _CHINA)


# Each filter given → its clause, on a named parameter (the values travel as parameters: one
# statement per combination of filters, built and compiled once).
_CLAUSES: dict[str, Any] = {
    "city": Lot.city == bindparam("city"),
    "district": Lot.district == bindparam("district"),
    "kind": Lot.asset_kind == bindparam("kind"),
    "price_min": Lot.starting_price >= bindparam("price_min", type_=Lot.starting_price.type),
    "price_max": Lot.starting_price <= bindparam("price_max", type_=Lot.starting_price.type),
    "date_from": Lot.bidding_starts_at >= bindparam("date_from", type_=Lot.bidding_starts_at.type),
    "date_to": Lot.bidding_starts_at < bindparam("date_to", type_=Lot.bidding_starts_at.type),
}


def _values(f: LotFilters) -> dict[str, Any]:
    """The given filters' parameter values (None: not given)."""
    return {"city": f.city or None, "district": f.district or None,
            "kind": f.kind.value if f.kind is not None else None, "price_min": f.price_min, "price_max": f.price_max,
            "date_from": _day_start(f.date_from) if f.date_from is not None else None,
            "date_to": _day_start(f.date_to + dt.timedelta(days=1)) if f.date_to is not None else None}


def _where(f: LotFilters, given: tuple[str, ...]) -> list[Any]:
    statuses = OPEN_STATUSES if f.status == "open" else (
        sorted(s.value for s in PUBLIC_STATUSES) if f.status == "all" else (f.status,))
    # Statuses as literals (a fixed set): the planner can then match the partial index of open lots
    # even under a prepared statement's generic plan.
    named = [literal(s, literal_execute=True) for s in statuses]
    clauses: list[Any] = [Lot.status.in_(named) if len(named) > 1 else Lot.status == named[0]]
    return clauses + [_CLAUSES[name] for name in given]


_ORDER: dict[str, tuple[Any, ...]] = {
    "starts": (Lot.bidding_starts_at.asc().nulls_last(), Lot.id.asc()),
    "-starts": (Lot.bidding_starts_at.desc().nulls_last(), Lot.id.desc()),
    "price": (Lot.starting_price.asc(), Lot.id.asc()),
    "-price": (Lot.starting_price.desc(), Lot.id.desc()),
    "newest": (Lot.published_at.desc().nulls_last(), Lot.id.desc()),
}
CARD_COLUMNS = (Lot.lot_no, Lot.title, Lot.asset_kind, Lot.status, Lot.round, Lot.city, Lot.district, Lot.address,
                Lot.appraisal, Lot.starting_price, Lot.deposit, Lot.bidding_starts_at, Lot.bidding_ends_at,
                Lot.platform, Lot.platform_url, Lot.version)


_STATEMENTS: dict[tuple[Any, ...], tuple[Select[Any], Select[Any]]] = {}  # type: ignore[type-arg]


def _statements(f: LotFilters, given: tuple[str, ...]) -> tuple[Select[Any], Select[Any]]:  # type: ignore[type-arg]
    """(the page with the capped COUNT of the result on each row, the capped COUNT alone) for this
    combination of status, filters given and sort; built once per combination. The COUNT stops
    at ``count_limit`` matches."""
    key = (f.status, given, f.sort)
    found = _STATEMENTS.get(key)
    if found is None:
        where = and_(*_where(f, given))
        matches = select(literal(1)).select_from(Lot).where(where).limit(bindparam("count_limit", type_=Integer))
        count: Select[Any] = select(func.count()).select_from(matches.subquery())  # type: ignore[type-arg]
        page: Select[Any] = (select(*CARD_COLUMNS, count.scalar_subquery().label("total"))  # type: ignore[type-arg,assignment]
                             .where(where).order_by(*_ORDER[f.sort])
                             .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
        found = _STATEMENTS.setdefault(key, (page, count))
    return found


def search_statement(f: LotFilters) -> tuple[Select[Any], dict[str, Any]]:  # type: ignore[type-arg]
    """The page's statement (each row carrying the capped COUNT) and its parameters."""
    values = _values(f)
    given = tuple(name for name, value in values.items() if value is not None)
    page, _count = _statements(f, given)
    params = {name: values[name] for name in given}
    offset = (f.page - 1) * f.per_page
    return page, {**params, "limit": f.per_page, "offset": offset, "count_limit": offset + COUNT_CAP + 1}


# The page statements compiled for asyncpg, once each (they live for the process in _STATEMENTS).
_driver_statement = functools.cache(DriverStatement)


async def _page_rows(conn: AsyncConnection | AsyncSession, stmt: Select[Any], params: dict[str, Any]) -> list[Any]:  # type: ignore[type-arg]
    """The page's rows as tuples in CARD_COLUMNS order, then the total. On PostgreSQL's plain
    connection the statement goes to asyncpg itself (prepared once per connection, its rows read
    by position): SQLAlchemy's execution and its Row objects were a fifth of a cold search's cost.
    Elsewhere (SQLite, a session) through SQLAlchemy, with the same rows."""
    driver = await asyncpg_of(conn)
    if driver is None:
        return list((await conn.execute(stmt, params)).all())
    compiled = _driver_statement(stmt)
    async with driver_errors(conn):  # type: ignore[arg-type]  # (a plain connection: asyncpg_of says so)
        return list(await driver.fetch(compiled.sql, *compiled.args(params)))


def _card(r: Any) -> LotCard:
    (lot_no, title, kind, status, round_, city, district, address, appraisal, starting_price, deposit, starts, ends,
     platform, platform_url, version) = r[:16]
    return LotCard(lot_no=lot_no, title=title, kind=kind, status=status, round=round_, city=city, district=district,
                   address=address, appraisal=Decimal(appraisal), starting_price=Decimal(starting_price),
                   deposit=deposit, bidding_starts_at=starts, bidding_ends_at=ends, platform=platform,
                   platform_url=platform_url, version=int(version), url=f"/lots/{lot_no}")


async def search(conn: AsyncConnection | AsyncSession, f: LotFilters) -> SearchResult:
    """The page of lots the filters select, and how many there are (counted up to
    :data:`COUNT_CAP` past the page's start): one statement on a plain connection (Core, no ORM
    objects; on PostgreSQL straight to asyncpg)."""
    stmt, params = search_statement(f)
    rows = await _page_rows(conn, stmt, params)
    if rows:
        total = int(rows[0][16])
    elif f.page == 1:
        total = 0
    else:  # past the last page: the count alone (below the cap, as the page is empty)
        given = tuple(k for k in params if k not in ("limit", "offset", "count_limit"))
        count = _statements(f, given)[1]
        total = int((await conn.execute(count, {**{k: params[k] for k in given},
                                                "count_limit": params["count_limit"]})).scalar() or 0)
    exact = total < params["count_limit"]
    if not exact:  # more than offset + COUNT_CAP matches: say so, and "more than" that many whole pages
        total = params["count_limit"] - 1
    items = [_card(r) for r in rows]
    pages = max(1, -(-total // f.per_page) if exact else total // f.per_page)
    return SearchResult(items=items, total=total, page=f.page, per_page=f.per_page, pages=pages, total_exact=exact)


class Places:
    """The cities and districts that public lots are in (for the search form), asked once a minute."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._at = -1e9
        self._value: list[tuple[str, str]] = []
        self.fetched = 0  # how many times the places were read (a form rendered from them names the read)

    def peek(self) -> list[tuple[str, str]] | None:
        """The places if asked less than ``ttl`` ago (None: ask with :meth:`get`)."""
        return self._value if time.monotonic() - self._at < self.ttl else None

    async def get(self, session: AsyncConnection | AsyncSession) -> list[tuple[str, str]]:
        if (fresh := self.peek()) is not None:
            return fresh
        stmt = (select(Lot.city, Lot.district).distinct().where(Lot.status.in_([s.value for s in PUBLIC_STATUSES]))
                .where(Lot.city != "").order_by(Lot.city, Lot.district).limit(500))
        self._value = [(str(c), str(d)) for c, d in (await session.execute(stmt)).all()]
        self._at = time.monotonic()
        self.fetched += 1
        return self._value


__all__ = ["COUNT_CAP", "FilterInvalid", "LotCard", "LotFilters", "Places", "SearchResult", "SORTS", "STATUS_CHOICES",
           "parse_filters", "search", "search_statement"]
