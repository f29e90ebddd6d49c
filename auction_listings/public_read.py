"""The public read of one lot on a plain connection (SQLAlchemy Core, no ORM session): the same
:class:`~auction_listings.read.LotDetail` as ``read.get_lot(..., public=True)``, built with
read.py's own helpers, for the lot page's cache misses (``tests/auction_listings/
test_public_read.py`` holds the two equal), with the lot's public documents.

On PostgreSQL it is **one statement, one round trip**: the lot's row with its rounds before and
after (two recursive walks), the departments asked, the published findings, the sale and the
public documents as JSON aggregates, decoded by msgspec into typed rows. Elsewhere (SQLite, for
development and tests) the same values come from a few plain reads.

Why a second reader: a miss on a popular page is on the hot path, and the ORM's identity map,
unit of work and session close cost several times the database's own time here (see
docs/auction_listings_public.md, benchmark).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Table, Text, bindparam, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from accounts.departments import DEPARTMENT_NAMES, Department
from auction_listings import catalogue
from auction_listings.models import PUBLIC_STATUSES, Finding, Lot, ReviewRequest, Sale
from auction_listings.read import DepartmentFindings, LotDetail, RoundView, SaleView, finding_view, lot_view
from auction_listings.seams import DocumentsColumn, PublicDocument


def _t(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


LOT, FINDING, REQUEST, SALE = _t(Lot), _t(Finding), _t(ReviewRequest), _t(Sale)
_PUBLIC = frozenset(s.value for s in PUBLIC_STATUSES)
MAX_ROUNDS = 10  # rounds of one property shown (the lot and up to nine before or after it)

# --- PostgreSQL: one statement ---------------------------------------------------------------

_ROUND = ("'lot_no', r.lot_no, 'round', r.round, 'status', r.status, 'starting_price', r.starting_price, "
          "'bidding_starts_at', r.bidding_starts_at, 'bidding_ends_at', r.bidding_ends_at")
# Rounds before (d < 0, nearest first) and after (d > 0) this lot, each walk at most nine steps.
_ROUNDS_SQL = f"""(SELECT CAST(json_agg(json_build_object('d', w.d, {_ROUND}) ORDER BY w.d) AS TEXT)
 FROM (WITH RECURSIVE back(d, id, previous_lot_id) AS (
         SELECT -1, p.id, p.previous_lot_id FROM lot AS p WHERE p.id = lot.previous_lot_id
         UNION ALL
         SELECT back.d - 1, p.id, p.previous_lot_id FROM lot AS p JOIN back ON p.id = back.previous_lot_id
         WHERE back.d > -{MAX_ROUNDS - 1}),
       fwd(d, id) AS (
         SELECT 1, p.id FROM lot AS p WHERE p.previous_lot_id = lot.id
         UNION ALL
         SELECT fwd.d + 1, p.id FROM lot AS p JOIN fwd ON p.previous_lot_id = fwd.id WHERE fwd.d < {MAX_ROUNDS - 1})
       SELECT d, id FROM back UNION ALL SELECT d, id FROM fwd) AS w
 JOIN lot AS r ON r.id = w.id)"""  # noqa: S608 - constants only, no input
_ASKED_SQL = "(SELECT CAST(json_agg(q.department) AS TEXT) FROM lot_review_request AS q WHERE q.lot_id = lot.id)"
_FINDINGS_SQL = """(SELECT CAST(json_agg(json_build_object(
    'id', f.id, 'department', f.department, 'version', f.version, 'answers', f.answers, 'note', f.note,
    'signed_by_name', f.signed_by_name, 'signed_at', f.signed_at, 'public', f.public,
    'after_publication', f.after_publication, 'changed', f.changed) ORDER BY f.department, f.version DESC) AS TEXT)
 FROM lot_finding AS f WHERE f.lot_id = lot.id AND f.public)"""
_SALE_SQL = """(SELECT CAST(json_build_object('price', s.price, 'sold_at', s.sold_at, 'confirmed_on', s.confirmed_on)
 AS TEXT) FROM sale AS s WHERE s.lot_id = lot.id)"""


class _Round(msgspec.Struct, frozen=True):
    d: int
    lot_no: str
    round: str
    status: str
    starting_price: Decimal
    bidding_starts_at: dt.datetime | None
    bidding_ends_at: dt.datetime | None


class _Finding(msgspec.Struct, frozen=True):
    id: int
    department: str
    version: int
    answers: dict[str, Any] | None
    note: str | None
    signed_by_name: str
    signed_at: dt.datetime
    public: bool
    after_publication: bool
    changed: list[str] | None


class _Sale(msgspec.Struct, frozen=True):
    price: Decimal
    sold_at: dt.datetime | None
    confirmed_on: dt.date


_ROUNDS = msgspec.json.Decoder(list[_Round])
_ASKED = msgspec.json.Decoder(list[str])
_FINDINGS = msgspec.json.Decoder(list[_Finding])
_SALE_ROW = msgspec.json.Decoder(_Sale)


def _one_statement(documents: DocumentsColumn | None) -> Any:
    cols: list[Any] = [LOT, literal_column(_ROUNDS_SQL, Text).label("rounds_json"),
                       literal_column(_ASKED_SQL, Text).label("asked_json"),
                       literal_column(_FINDINGS_SQL, Text).label("findings_json"),
                       literal_column(_SALE_SQL, Text).label("sale_json")]
    if documents is not None:
        cols.append(documents.column(LOT.c.id, "postgresql").label("documents_json"))
    return select(*cols).where(LOT.c.lot_no == bindparam("no"))


# --- elsewhere: a few plain reads ------------------------------------------------------------

_BY_ID = select(LOT).where(LOT.c.id == bindparam("id"))
_NEXT = select(LOT).where(LOT.c.previous_lot_id == bindparam("id"))
_ASKED_Q = select(REQUEST.c.department).where(REQUEST.c.lot_id == bindparam("id"))
_FINDINGS_Q = (select(FINDING).where(FINDING.c.lot_id == bindparam("id"), FINDING.c.public.is_(True))
               .order_by(FINDING.c.department, FINDING.c.version.desc()))
_SALE_Q = select(SALE.c.price, SALE.c.sold_at, SALE.c.confirmed_on).where(SALE.c.lot_id == bindparam("id"))

_STATEMENTS: dict[tuple[str, int], Any] = {}


def _statement(dialect: str, documents: DocumentsColumn | None) -> Any:
    key = (dialect, id(documents))
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        if dialect == "postgresql":
            stmt = _one_statement(documents)
        else:
            cols: list[Any] = [LOT]
            if documents is not None:
                cols.append(documents.column(LOT.c.id, dialect).label("documents_json"))
            stmt = select(*cols).where(LOT.c.lot_no == bindparam("no"))
        stmt = _STATEMENTS.setdefault(key, stmt)
    return stmt


async def _rounds_by_reads(conn: AsyncConnection, lot: Any) -> tuple[list[Any], Any, Any]:
    chain = [lot]
    current = lot
    while current.previous_lot_id is not None and len(chain) < MAX_ROUNDS:
        before = (await conn.execute(_BY_ID, {"id": current.previous_lot_id})).first()
        if before is None:
            break
        chain.insert(0, before)
        current = before
    current = lot
    while len(chain) < MAX_ROUNDS:
        after = (await conn.execute(_NEXT, {"id": current.id})).first()
        if after is None:
            break
        chain.append(after)
        current = after
    at = chain.index(lot)
    return chain, chain[at - 1] if at > 0 else None, chain[at + 1] if at + 1 < len(chain) else None


def _rounds_of_json(lot: Any, value: str | None) -> tuple[list[Any], Any, Any]:
    walked = _ROUNDS.decode(value) if value else []
    before = [r for r in walked if r.d < 0]  # oldest first (ordered by d)
    after = [r for r in walked if r.d > 0][:MAX_ROUNDS - 1 - len(before)]
    chain: list[Any] = [*before, lot, *after]
    return chain, before[-1] if before else None, after[0] if after else None


async def read_public_lot(conn: AsyncConnection, lot_no: str, documents: DocumentsColumn | None = None,
                          ) -> tuple[LotDetail, list[PublicDocument]] | None:
    """The lot as the public sees it and its public documents (None: no such lot, or not public)."""
    dialect = conn.dialect.name
    row = (await conn.execute(_statement(dialect, documents), {"no": (lot_no or "").strip()[:40]})).first()
    if row is None or row.status not in _PUBLIC:
        return None
    lot_id = row.id
    if dialect == "postgresql":
        chain, previous, following = _rounds_of_json(row, row.rounds_json)
        asked = set(_ASKED.decode(row.asked_json)) if row.asked_json else set()
        found_rows: list[Any] = _FINDINGS.decode(row.findings_json) if row.findings_json else []
        sale_row: Any = _SALE_ROW.decode(row.sale_json) if row.sale_json else None
    else:
        chain, previous, following = await _rounds_by_reads(conn, row)
        asked = set((await conn.execute(_ASKED_Q, {"id": lot_id})).scalars().all())
        found_rows = list((await conn.execute(_FINDINGS_Q, {"id": lot_id})).all())
        sale_row = (await conn.execute(_SALE_Q, {"id": lot_id})).first()
    if following is not None and following.status not in _PUBLIC:
        following = None
    chain = [r for r in chain if r.status in _PUBLIC]
    found: dict[str, list[Any]] = {}
    for f in found_rows:
        found.setdefault(f.department, []).append(f)
    order = catalogue.departments_for(row.asset_kind)
    order += sorted((asked | set(found)) - set(order))
    findings: list[DepartmentFindings] = []
    for dept in order:
        if dept not in asked and dept not in found:
            continue
        versions = [finding_view(f) for f in found.get(dept, [])]
        zh, en = DEPARTMENT_NAMES.get(Department(dept), (dept, dept))
        findings.append(DepartmentFindings(department=dept, name_zh=zh, name_en=en, asked=dept in asked,
                                           current=versions[0] if versions else None, earlier=versions[1:]))
    sale = None if sale_row is None else SaleView(price=Decimal(sale_row.price), sold_at=sale_row.sold_at,
                                                  confirmed_on=sale_row.confirmed_on)
    detail = LotDetail(
        lot=lot_view(row, previous_lot_no=previous.lot_no if previous else None,  # type: ignore[arg-type]
                     next_lot_no=following.lot_no if following else None),
        findings=findings,
        unanswered=[d.department for d in findings if d.asked and d.current is None],
        rounds=[RoundView(lot_no=r.lot_no, round=r.round, status=r.status, starting_price=Decimal(r.starting_price),
                          bidding_starts_at=r.bidding_starts_at, bidding_ends_at=r.bidding_ends_at) for r in chain],
        sale=sale,
    )
    docs = documents.decode(row.documents_json) if documents is not None else []
    return detail, docs


async def public_lot(conn: AsyncConnection, lot_no: str) -> LotDetail | None:
    """The lot as the public sees it (None: no such lot, or not public)."""
    got = await read_public_lot(conn, lot_no)
    return got[0] if got is not None else None


__all__ = ["public_lot", "read_public_lot"]
