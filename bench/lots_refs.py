"""References for the public lot page: bare Litestar apps (no middleware, no auth, no CSRF)
rendering the portal's own templates (auction_listings/lot.html and its body) with the same
context pieces (versions side by side, result, tax estimate for the lot).

- ``asyncpg_app``: every request reads the lot with plain asyncpg, the same reads as the
  portal's ``auction_listings.read.get_lot`` (lot, rounds, review requests, published
  findings, sale, documents), builds the same LotDetail with read.py's own helpers, renders
  body and page: the database ceiling of an *uncached* lot page.
- ``memory_app``: the sample's lots loaded at start-up; each request renders body and page
  from memory, and answers ``If-None-Match`` with a 304 (the portal's ETag formula): the
  framework + template ceiling.

``uvicorn --factory bench.lots_refs:asyncpg_app`` with BENCH_DSN and BENCH_SAMPLE_FILE.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from accounts.departments import DEPARTMENT_NAMES, Department
from auction_listings import catalogue
from auction_listings.public_cache import PublicLot
from auction_listings.public_views import comparisons, estimable, result_of, tax_params
from auction_listings.read import DepartmentFindings, LotDetail, RoundView, SaleView, finding_view, lot_view
from kernel.caching import etag
from portal.lot_public_wiring import tax_lines
from portal.templating import build_environment
from title_transfer.tax_inputs import estimate_from_params

PUBLIC = ("announced", "bidding", "sold", "unsold", "withdrawn", "suspended")


class AttrRecord(asyncpg.Record):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=msgspec.json.decode, schema="pg_catalog")


async def load(conn: Any, lot_no: str) -> PublicLot | None:
    """The portal's get_lot reads, with asyncpg."""
    lot = await conn.fetchrow("SELECT * FROM lot WHERE lot_no = $1", lot_no)
    if lot is None or lot["status"] not in PUBLIC:
        return None
    chain = [lot]
    current = lot
    while current["previous_lot_id"] is not None and len(chain) < 10:
        before = await conn.fetchrow("SELECT * FROM lot WHERE id = $1", current["previous_lot_id"])
        if before is None:
            break
        chain.insert(0, before)
        current = before
    current = lot
    while len(chain) < 10:
        after = await conn.fetchrow("SELECT * FROM lot WHERE previous_lot_id = $1", current["id"])
        if after is None:
            break
        chain.append(after)
        current = after
    at = chain.index(lot)
    following = chain[at + 1] if at + 1 < len(chain) and chain[at + 1]["status"] in PUBLIC else None
    previous = chain[at - 1] if at > 0 else None
    chain = [r for r in chain if r["status"] in PUBLIC]
    asked = {r["department"] for r in await conn.fetch(
        "SELECT department FROM lot_review_request WHERE lot_id = $1", lot["id"])}
    found: dict[str, list[Any]] = {}
    for f in await conn.fetch("SELECT * FROM lot_finding WHERE lot_id = $1 AND public ORDER BY department, "
                              "version DESC", lot["id"]):
        found.setdefault(f["department"], []).append(f)
    order = catalogue.departments_for(lot["asset_kind"])
    order += sorted((asked | set(found)) - set(order))
    findings = []
    for dept in order:
        if dept not in asked and dept not in found:
            continue
        versions = [finding_view(f) for f in found.get(dept, [])]
        zh, en = DEPARTMENT_NAMES.get(Department(dept), (dept, dept))
        findings.append(DepartmentFindings(department=dept, name_zh=zh, name_en=en, asked=dept in asked,
                                           current=versions[0] if versions else None, earlier=versions[1:]))
    sale_row = await conn.fetchrow("SELECT * FROM sale WHERE lot_id = $1", lot["id"])
    sale = None if sale_row is None else SaleView(price=Decimal(sale_row["price"]), sold_at=sale_row["sold_at"],
                                                  confirmed_on=sale_row["confirmed_on"])
    await conn.fetch("SELECT id FROM document WHERE subject_type = 'lot' AND subject_id = $1 ORDER BY created_at, id",
                     lot["id"])
    detail = LotDetail(
        lot=lot_view(lot, previous_lot_no=previous["lot_no"] if previous else None,  # type: ignore[arg-type]
                     next_lot_no=following["lot_no"] if following else None),
        findings=findings, unanswered=[d.department for d in findings if d.asked and d.current is None],
        rounds=[RoundView(lot_no=r["lot_no"], round=r["round"], status=r["status"],
                          starting_price=Decimal(r["starting_price"]), bidding_starts_at=r["bidding_starts_at"],
                          bidding_ends_at=r["bidding_ends_at"]) for r in chain],
        sale=sale)
    return PublicLot(detail=detail, documents=[])


def _render(request: Request[Any, Any, Any], found: PublicLot, headers: dict[str, str] | None = None) -> Template:
    engine = request.app.template_engine
    assert engine is not None
    detail = found.detail
    body = engine.get_template("auction_listings/_lot_body.html").render(
        d=detail, lot=detail.lot, photos=found.photos, files=found.files, compared=comparisons(detail),
        result=result_of(detail), now=None)
    estimate = estimate_from_params(tax_params(detail)) if estimable(detail.lot) else None
    lines = Markup(tax_lines(engine, estimate)) if estimate is not None else None  # noqa: S704
    tax = engine.get_template("auction_listings/_lot_tax.html").render(
        lot=detail.lot, tax_lines=lines, tax_error=None, adjust={}, estimable=estimable(detail.lot),
        has_estimator=True)
    context = {"lot": detail.lot, "body": Markup(body), "following": False, "tax": Markup(tax)}  # noqa: S704
    return Template("auction_listings/lot.html", context=context, headers=headers)


def _template_config() -> TemplateConfig[Any]:
    return TemplateConfig(instance=Engine.from_environment(build_environment()))


def _sample() -> list[str]:
    with open(os.environ["BENCH_SAMPLE_FILE"], encoding="utf-8") as fh:
        items = [item["lot_no"] for item in json.load(fh)]
    return items[:int(os.environ.get("BENCH_SAMPLE_LIMIT") or len(items))]


def portal_etag(lot_no: str, version: int) -> str:
    """The ETag the portal gives an anonymous browser without cookies, in Chinese."""
    return etag("lot", lot_no, version, "zh", "anon", None, "-", [])


def memory_app() -> Litestar:
    lots: dict[str, PublicLot] = {}

    async def start(app: Litestar) -> None:
        conn = await asyncpg.connect(os.environ["BENCH_DSN"], record_class=AttrRecord)
        try:
            await _init(conn)
            for lot_no in _sample():
                found = await load(conn, lot_no)
                if found is not None:
                    lots[lot_no] = found
        finally:
            await conn.close()

    @get("/lots/{lot_no:str}")
    async def page(request: Request[Any, Any, Any], lot_no: str) -> Response[Any]:
        found = lots.get(lot_no)
        if found is None:
            raise NotFoundException()
        tag = portal_etag(lot_no, found.detail.lot.version)
        if request.headers.get("if-none-match") == tag:
            return Response(content=b"", status_code=304, headers={"ETag": tag})
        return _render(request, found, {"ETag": tag})

    return Litestar(route_handlers=[page], template_config=_template_config(), on_startup=[start], debug=False)


def asyncpg_app() -> Litestar:
    pools: list[asyncpg.Pool] = []
    size = int(os.environ.get("DATABASE_POOL_SIZE") or "10")

    async def start(app: Litestar) -> None:
        pools.append(await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=size, max_size=size, init=_init,
                                               record_class=AttrRecord))

    async def stop(app: Litestar) -> None:
        for pool in pools:
            await pool.close()

    @get("/lots/{lot_no:str}")
    async def page(request: Request[Any, Any, Any], lot_no: str) -> Template:
        async with pools[0].acquire() as conn:
            found = await load(conn, lot_no)
        if found is None:
            raise NotFoundException()
        return _render(request, found)

    return Litestar(route_handlers=[page], template_config=_template_config(), on_startup=[start],
                    on_shutdown=[stop], debug=False)
