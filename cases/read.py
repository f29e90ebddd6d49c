"""What a person sees of a case: one view, shaped by who they are.

* a **creditor** (申请执行人) sees the whole progress: timeline, assets, auctions, money, the
  distribution plan (other payees masked) and their own payout;
* a **debtor** (被执行人) sees their obligations, the timeline and what was seized, not the
  distribution among the creditors;
* **court staff** of the case's court (and administrators) see everything, names in full.

Other parties' names and ID numbers are always masked for parties (张*, ****1234).
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections import namedtuple
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import String, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.catalogue import Court, Node, catalogue
from cases.idnumbers import mask_id, mask_name
from cases.labels import (
    ASSET_KINDS,
    ASSET_STATES,
    AUCTION_RESULTS,
    AUCTION_ROUNDS,
    PAYOUT_STATES,
    PLAN_STATES,
    ROLES,
    label,
)
from cases.models import (
    CaseAsset,
    CaseAuction,
    CaseMoney,
    CaseNode,
    CaseNodeStat,
    CaseParty,
    DistributionLine,
    DistributionPlan,
    EnforcementCase,
    utc,
)
from cases.stats import MIN_SAMPLES, Transition
from storage.db import asyncpg_of, driver_errors

ViewerKind = Literal["creditor", "debtor", "staff"]
CHINA = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Viewer:
    kind: ViewerKind
    party_id: int | None = None


@dataclass
class PartyView:
    role: str
    role_label: str
    name: str
    id_shown: str
    is_me: bool
    amount_claimed: Decimal | None


@dataclass
class NodeView:
    key: str
    name: str
    at: dt.datetime
    description: str | None

    @property
    def day(self) -> dt.date:
        """The day it happened, in China time (what the court's notices say)."""
        return self.at.astimezone(CHINA).date()


@dataclass
class StageView:
    key: str
    name: str
    state: Literal["done", "current", "upcoming"]
    nodes: list[NodeView]


@dataclass
class NextView:
    key: str
    name: str
    likely_from: dt.date | None
    likely_to: dt.date | None
    samples: int
    late: bool  # the likely window has passed without the node


@dataclass
class AssetView:
    kind: str
    kind_label: str
    description: str
    state: str
    state_label: str
    state_on: dt.date | None
    value: Decimal | None


@dataclass
class AuctionView:
    round_label: str
    title: str
    platform: str | None
    lot_no: str | None
    starting_price: Decimal | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    result: str
    result_label: str
    price: Decimal | None


@dataclass
class MoneyView:
    on: dt.date
    amount: Decimal
    description: str


@dataclass
class LineView:
    payee: str
    amount: Decimal
    state: str
    state_label: str
    paid_on: dt.date | None
    is_me: bool


@dataclass
class PlanView:
    state_label: str
    served_on: dt.date | None
    total: Decimal
    note: str | None
    lines: list[LineView]


@dataclass
class CaseView:
    id: int
    case_number: str
    court: Court
    court_name: str
    type_label: str
    cause: str | None
    filed_on: dt.date
    state: str
    stage: str
    stage_label: str
    judge_name: str | None
    judge_phone: str | None
    amount_claimed: Decimal
    version: int
    viewer: Viewer
    parties: list[PartyView]
    stages: list[StageView]
    latest: NodeView | None
    next: NextView | None
    assets: list[AssetView]
    auctions: list[AuctionView]
    money_in: list[MoneyView]
    money_out: list[MoneyView]
    plans: list[PlanView] = field(default_factory=list)
    my_payouts: list[LineView] = field(default_factory=list)
    dates: list[tuple[dt.date, str]] = field(default_factory=list)  # for the .ics download

    @property
    def total_in(self) -> Decimal:
        return sum((m.amount for m in self.money_in), Decimal("0"))

    @property
    def total_out(self) -> Decimal:
        return sum((m.amount for m in self.money_out), Decimal("0"))

    @property
    def my_payout(self) -> LineView | None:
        return self.my_payouts[-1] if self.my_payouts else None

    @property
    def me(self) -> PartyView | None:
        return next((p for p in self.parties if p.is_me), None)


def _pick(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


# --- the read path: one statement per part, Core rows (no ORM objects) -------------------------
# The same statements serve the portal (through its session) and the benchmark's asyncpg
# reference (compiled once), so the two differ only in what surrounds them.

_CASE = EnforcementCase.__table__
_PARTY = CaseParty.__table__
_NODE = CaseNode.__table__
_ASSET = CaseAsset.__table__
_AUCTION = CaseAuction.__table__
_MONEY = CaseMoney.__table__
_PLAN = DistributionPlan.__table__
_LINE = DistributionLine.__table__
_STAT = CaseNodeStat.__table__
_ID: Any = bindparam("case_id")

STATEMENTS: dict[str, Any] = {
    "case": select(_CASE).where(_CASE.c.id == _ID),
    "parties": select(_PARTY.c.id, _PARTY.c.role, _PARTY.c.name, _PARTY.c.id_last4, _PARTY.c.user_id,
                      _PARTY.c.amount_claimed).where(_PARTY.c.case_id == _ID).order_by(_PARTY.c.role, _PARTY.c.id),
    "nodes": select(_NODE.c.node_key, _NODE.c.stage, _NODE.c.occurred_at, _NODE.c.description)
    .where(_NODE.c.case_id == _ID).order_by(_NODE.c.occurred_at, _NODE.c.id),
    "assets": select(_ASSET.c.kind, _ASSET.c.description, _ASSET.c.state, _ASSET.c.state_on, _ASSET.c.value)
    .where(_ASSET.c.case_id == _ID).order_by(_ASSET.c.id),
    "auctions": select(_AUCTION.c.round, _AUCTION.c.title, _AUCTION.c.platform, _AUCTION.c.lot_no,
                       _AUCTION.c.starting_price, _AUCTION.c.starts_on, _AUCTION.c.ends_on, _AUCTION.c.result,
                       _AUCTION.c.price).where(_AUCTION.c.case_id == _ID).order_by(_AUCTION.c.starts_on,
                                                                                   _AUCTION.c.id),
    "money": select(_MONEY.c.direction, _MONEY.c.amount, _MONEY.c.booked_on, _MONEY.c.description)
    .where(_MONEY.c.case_id == _ID).order_by(_MONEY.c.booked_on, _MONEY.c.id),
    "plans": select(_PLAN.c.id, _PLAN.c.state, _PLAN.c.served_on, _PLAN.c.total, _PLAN.c.note)
    .where(_PLAN.c.case_id == _ID).order_by(_PLAN.c.id),
    "lines": select(_LINE.c.plan_id, _LINE.c.party_id, _LINE.c.payee_name, _LINE.c.amount, _LINE.c.state,
                    _LINE.c.paid_on).select_from(_LINE.join(_PLAN, _PLAN.c.id == _LINE.c.plan_id))
    .where(_PLAN.c.case_id == _ID).order_by(_LINE.c.plan_id, _LINE.c.id),
}
TRANSITIONS = select(_STAT.c.node_key, _STAT.c.samples, _STAT.c.p25_seconds, _STAT.c.median_seconds,
                     _STAT.c.p75_seconds).where(_STAT.c.prev_key == bindparam("prev_key"))


@dataclass
class CaseRows:
    """Everything the page shows of one case, as rows with attribute access."""

    case: Any
    parties: Sequence[Any]
    nodes: Sequence[Any]
    assets: Sequence[Any]
    auctions: Sequence[Any]
    money: Sequence[Any]
    plans: Sequence[Any]
    lines: Sequence[Any]
    # The measured windows from the case's latest main-line node (None: not loaded with the rows).
    measured: dict[str, Transition] | None = None


_readers: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The engine in autocommit mode (same pool): the page's SELECTs need no transaction, so no
    BEGIN/COMMIT round trips around them."""
    found = _readers.get(engine)
    if found is None:
        found = _readers[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


# --- PostgreSQL: the case and everything under it in ONE statement (one round trip) -----------
# Each part is a JSON array of arrays (ordered as STATEMENTS order them), plus the measured
# windows from the latest node of the case's main line (the keys that predict something are
# passed in: the catalogue is data in Python). Cast to text: parsed here (numbers as Decimal). The portal and the benchmark's asyncpg reference
# run this same text.

CASE_SQL = """
SELECT c.*,
  (SELECT CAST(json_agg(json_build_array(p.id, p.role, p.name, p.id_last4, p.user_id, p.amount_claimed)
                   ORDER BY p.role, p.id) AS text) FROM case_party p WHERE p.case_id = c.id) AS j_parties,
  (SELECT CAST(json_agg(json_build_array(n.node_key, n.stage, n.occurred_at, n.description)
                        ORDER BY n.occurred_at, n.id) AS text)
     FROM case_node n WHERE n.case_id = c.id) AS j_nodes,
  (SELECT CAST(json_agg(json_build_array(a.kind, a.description, a.state, a.state_on, a.value)
                        ORDER BY a.id) AS text)
     FROM case_asset a WHERE a.case_id = c.id) AS j_assets,
  (SELECT CAST(json_agg(json_build_array(u.round, u.title, u.platform, u.lot_no, u.starting_price, u.starts_on,
                                         u.ends_on, u.result, u.price) ORDER BY u.starts_on, u.id) AS text)
     FROM case_auction u WHERE u.case_id = c.id) AS j_auctions,
  (SELECT CAST(json_agg(json_build_array(m.direction, m.amount, m.booked_on, m.description)
                        ORDER BY m.booked_on, m.id) AS text)
     FROM case_money m WHERE m.case_id = c.id) AS j_money,
  (SELECT CAST(json_agg(json_build_array(d.id, d.state, d.served_on, d.total, d.note) ORDER BY d.id) AS text)
     FROM distribution_plan d WHERE d.case_id = c.id) AS j_plans,
  (SELECT CAST(json_agg(json_build_array(l.plan_id, l.party_id, l.payee_name, l.amount, l.state, l.paid_on)
                   ORDER BY l.plan_id, l.id) AS text)
     FROM distribution_line l JOIN distribution_plan d ON d.id = l.plan_id WHERE d.case_id = c.id) AS j_lines,
  (SELECT CAST(json_agg(json_build_array(s.node_key, s.samples, s.p25_seconds, s.median_seconds,
                                         s.p75_seconds)) AS text)
     FROM case_node_stat s
    WHERE s.prev_key = (SELECT n.node_key FROM case_node n WHERE n.case_id = c.id AND n.node_key = ANY(:mainline)
                        ORDER BY n.occurred_at DESC, n.id DESC LIMIT 1)) AS j_measured
FROM enforcement_case c WHERE c.id = :case_id
"""
CASE_STATEMENT = text(CASE_SQL).bindparams(bindparam("case_id"), bindparam("mainline", type_=ARRAY(String)))
CASE_SQL_POSITIONAL = CASE_SQL.replace(":mainline", "$2::text[]").replace(":case_id", "$1")  # asyncpg

PartyRow = namedtuple("PartyRow", "id role name id_last4 user_id amount_claimed")
NodeRow = namedtuple("NodeRow", "node_key stage occurred_at description")
AssetRow = namedtuple("AssetRow", "kind description state state_on value")
AuctionRow = namedtuple("AuctionRow", "round title platform lot_no starting_price starts_on ends_on result price")
MoneyRow = namedtuple("MoneyRow", "direction amount booked_on description")
PlanRow = namedtuple("PlanRow", "id state served_on total note")
LineRow = namedtuple("LineRow", "plan_id party_id payee_name amount state paid_on")
_PARTS = ("j_parties", "j_nodes", "j_assets", "j_auctions", "j_money", "j_plans", "j_lines", "j_measured")


def mainline_keys() -> list[str]:
    """Catalogue keys of the nodes that predict a next one or close the case (the main line)."""
    return sorted(k for k, n in catalogue().nodes.items() if n.next or n.closes)


_MAINLINE = mainline_keys()  # the catalogue is data in Python: fixed for the process


def _json(value: Any) -> list[Any]:
    if value is None:
        return []
    return json.loads(value, parse_float=Decimal) if isinstance(value, str | bytes) else list(value)


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _money(value: Any) -> Decimal | None:
    return None if value is None else value if isinstance(value, Decimal) else Decimal(value)


_CASE_ROWS: dict[tuple[str, ...], Any] = {}  # the case's row type per column list (made once, not per read)


def _case_row_type(keys: tuple[str, ...]) -> Any:
    found = _CASE_ROWS.get(keys)
    if found is None:
        found = _CASE_ROWS[keys] = namedtuple("CaseRow", [k for k in keys if k not in _PARTS])  # type: ignore[misc]
    return found


def rows_from_json(row: Any) -> CaseRows:
    """CaseRows from one row of CASE_SQL (a SQLAlchemy Row or an asyncpg Record)."""
    m = row._mapping if hasattr(row, "_mapping") else row
    keys = tuple(m.keys())
    case = _case_row_type(keys)(*(m[k] for k in keys if k not in _PARTS))
    parties = [PartyRow(i, r, n, l4, u, _money(a)) for i, r, n, l4, u, a in _json(m["j_parties"])]
    nodes = [NodeRow(k, st, dt.datetime.fromisoformat(at), d) for k, st, at, d in _json(m["j_nodes"])]
    assets = [AssetRow(k, d, st, _day(on), _money(v)) for k, d, st, on, v in _json(m["j_assets"])]
    auctions = [AuctionRow(r, t, p, lot, _money(sp), _day(s), _day(e), res, _money(pr))
                for r, t, p, lot, sp, s, e, res, pr in _json(m["j_auctions"])]
    money = [MoneyRow(d, _money(a), _day(on), desc) for d, a, on, desc in _json(m["j_money"])]
    plans = [PlanRow(i, st, _day(on), _money(t), note) for i, st, on, t, note in _json(m["j_plans"])]
    lines = [LineRow(p, party, name, _money(a), st, _day(on)) for p, party, name, a, st, on in _json(m["j_lines"])]
    return CaseRows(case=case, parties=parties, nodes=nodes, assets=assets, auctions=auctions, money=money,
                    plans=plans, lines=lines, measured=transitions_of(_json(m["j_measured"])))


def _dialect_name(session: Any) -> str:
    dialect = getattr(session, "dialect", None) or session.bind.dialect
    return str(dialect.name)


async def load_rows(session: Any, case_id: int, *, one_statement: bool | None = None) -> CaseRows | None:
    """The case's rows (None: no such case) on ``session`` (an AsyncSession or an AsyncConnection,
    e.g. of :func:`reader`): one statement on PostgreSQL (CASE_SQL, the measured windows
    included); one per part elsewhere (SQLite, in-process), or when ``one_statement`` is False.
    A connection lost under it raises SQLAlchemy's invalidated-connection error (a 503), on
    asyncpg's own path as through SQLAlchemy."""
    if one_statement is None:
        one_statement = _dialect_name(session) == "postgresql"
    if one_statement:
        driver = await asyncpg_of(session)
        if driver is not None:
            # The page's reader connection: the statement goes to asyncpg itself (prepared once per
            # connection, as the benchmark's reference runs it), not through SQLAlchemy's execution.
            # So SQLAlchemy does not see its errors either: driver_errors does what it would. A
            # connection the server ended (a restart) is invalidated and raised as the database
            # being unavailable (a 503, not a 500, and never handed out again); one cancelled
            # mid-statement (the client left) is invalidated rather than going back to the pool busy.
            async with driver_errors(session):
                row = await driver.fetchrow(CASE_SQL_POSITIONAL, case_id, _MAINLINE)
        else:
            row = (await session.execute(CASE_STATEMENT, {"case_id": case_id, "mainline": _MAINLINE})).first()
        return None if row is None else rows_from_json(row)
    case = (await session.execute(STATEMENTS["case"], {"case_id": case_id})).first()
    if case is None:
        return None
    parts = {}
    for name in ("parties", "nodes", "assets", "auctions", "money", "plans", "lines"):
        parts[name] = (await session.execute(STATEMENTS[name], {"case_id": case_id})).all()
    return CaseRows(case=case, **parts)


def viewer_from(parties: Sequence[Any], user_id: int | None, grants: Mapping[str, bool] | None) -> Viewer | None:
    """The party this caller is (their linked account first, then a grant cookie), or None."""
    if user_id is not None:
        for party in parties:
            if party.user_id == user_id:
                return Viewer(party.role, party.id)
    for party in parties:
        if grants and grants.get(str(party.id)):
            return Viewer(party.role, party.id)
    return None


def _main_node(nodes: Sequence[Any]) -> Any | None:
    """The latest node on the case's main line (restrictions run beside it and predict nothing)."""
    cat = catalogue().nodes
    for node in reversed(nodes):
        spec = cat.get(node.node_key)
        if spec is not None and (spec.next or spec.closes):
            return node
    return None


def main_node_key(nodes: Sequence[Any]) -> str | None:
    """The node whose successor the page predicts (None: closed, or nothing to predict)."""
    latest = _main_node(nodes)
    if latest is None:
        return None
    spec = catalogue().nodes[latest.node_key]
    return None if spec.closes or not spec.next else latest.node_key


def next_from(nodes: Sequence[Any], measured: dict[str, Transition], lang: str,
              now: dt.datetime | None = None) -> NextView | None:
    """The node that usually comes next, with the window (p25–p75) measured on other cases."""
    latest = _main_node(nodes)
    key_now = main_node_key(nodes)
    if latest is None or key_now is None:
        return None
    cat = catalogue().nodes
    spec = cat[key_now]
    candidates = [(measured[k].samples if k in measured else 0, -i, k) for i, k in enumerate(spec.next)]
    _, _, key = max(candidates)
    nxt: Node = cat[key]
    t = measured.get(key)
    if t is None or t.samples < MIN_SAMPLES:
        return NextView(key, nxt.name(lang), None, None, t.samples if t else 0, False)
    start = utc(latest.occurred_at)
    likely_from = (start + t.p25).astimezone(CHINA).date()
    likely_to = (start + t.p75).astimezone(CHINA).date()
    today = (now or dt.datetime.now(dt.UTC)).astimezone(CHINA).date()
    return NextView(key, nxt.name(lang), likely_from, likely_to, t.samples, today > likely_to)


def transitions_of(rows: Sequence[Any]) -> dict[str, Transition]:
    return {r[0]: Transition(r[1], r[2], r[3], r[4]) for r in rows}


async def build_view(session: Any, case: EnforcementCase | int, viewer: Viewer, lang: str,
                     rows: CaseRows | None = None) -> CaseView:
    """The case as ``viewer`` may see it, in ``lang`` (rows loaded here unless given)."""
    rows = rows or await load_rows(session, case if isinstance(case, int) else case.id)
    assert rows is not None
    measured = rows.measured
    if measured is None:
        prev = main_node_key(rows.nodes)
        measured = transitions_of((await session.execute(TRANSITIONS, {"prev_key": prev})).all()) if prev else {}
    return assemble(rows, viewer, lang, measured)


def assemble(rows: CaseRows, viewer: Viewer, lang: str, measured: dict[str, Transition]) -> CaseView:
    """The view from the rows (pure: the portal and the benchmark's reference share it)."""
    cat = catalogue()
    staff = viewer.kind == "staff"
    case = rows.case
    parties, nodes, assets, auctions, money = rows.parties, rows.nodes, rows.assets, rows.auctions, rows.money

    party_views = []
    for p in parties:
        mine = p.id == viewer.party_id
        party_views.append(PartyView(
            role=p.role, role_label=label(ROLES, p.role, lang),
            name=p.name if (staff or mine) else mask_name(p.name),
            id_shown=mask_id(p.id_last4) if p.id_last4 else "",
            is_me=mine, amount_claimed=p.amount_claimed))

    by_stage: dict[str, list[NodeView]] = {}
    for n in nodes:
        spec = cat.nodes.get(n.node_key)
        name = spec.name(lang) if spec else n.node_key
        by_stage.setdefault(n.stage, []).append(NodeView(n.node_key, name, utc(n.occurred_at), n.description))
    current = case.stage
    current_pos = cat.stage_position(current) if current in {s.key for s in cat.stages} else -1
    stage_views = []
    for pos, stage in enumerate(cat.stages):
        listed = by_stage.get(stage.key, [])
        if stage.key == current:
            state: Literal["done", "current", "upcoming"] = "current"
        elif listed or pos < current_pos:
            state = "done"
        else:
            state = "upcoming"
        if listed or state != "done":
            stage_views.append(StageView(stage.key, stage.name(lang), state, listed))
    latest_view = None
    if nodes:
        last = nodes[-1]
        spec = cat.nodes.get(last.node_key)
        latest_view = NodeView(last.node_key, spec.name(lang) if spec else last.node_key, utc(last.occurred_at),
                               last.description)

    view = CaseView(
        id=case.id, case_number=case.case_number, court=cat.courts[case.court_code],
        court_name=cat.courts[case.court_code].name(lang), type_label=cat.types[case.case_type].name(lang),
        cause=case.cause, filed_on=case.filed_on, state=case.state, stage=case.stage,
        stage_label=cat.stage(case.stage).name(lang) if case.stage in {s.key for s in cat.stages} else case.stage,
        judge_name=case.judge_name, judge_phone=case.judge_phone, amount_claimed=case.amount_claimed,
        version=case.version, viewer=viewer, parties=party_views, stages=stage_views, latest=latest_view,
        next=None if case.state == "closed" else next_from(nodes, measured, lang),
        assets=[AssetView(a.kind, label(ASSET_KINDS, a.kind, lang), a.description, a.state,
                          label(ASSET_STATES, a.state, lang), a.state_on, a.value) for a in assets],
        auctions=[AuctionView(label(AUCTION_ROUNDS, a.round, lang), a.title, a.platform, a.lot_no, a.starting_price,
                              a.starts_on, a.ends_on, a.result, label(AUCTION_RESULTS, a.result, lang), a.price)
                  for a in auctions],
        money_in=[MoneyView(m.booked_on, m.amount, m.description) for m in money if m.direction == "in"],
        money_out=[MoneyView(m.booked_on, m.amount, m.description) for m in money if m.direction == "out"],
    )
    view.dates = [(n.at.astimezone(CHINA).date(), n.name) for s in stage_views for n in s.nodes]
    view.dates += [(a.ends_on, f"{a.round_label} {a.title}") for a in view.auctions if a.ends_on]
    if view.next and view.next.likely_from:
        view.dates.append((view.next.likely_from, _pick(f"预计:{view.next.name}(可能的最早日期)",
                                                        f"Likely: {view.next.name} (earliest likely date)", lang)))
    if viewer.kind == "debtor":
        return view  # the debtor sees obligations, timeline and what was seized; not the creditors' shares
    for plan in rows.plans:
        line_views = []
        for line in (x for x in rows.lines if x.plan_id == plan.id):
            mine = viewer.party_id is not None and line.party_id == viewer.party_id
            line_views.append(LineView(line.payee_name if (staff or mine) else mask_name(line.payee_name),
                                       line.amount, line.state, label(PAYOUT_STATES, line.state, lang), line.paid_on,
                                       mine))
        view.plans.append(PlanView(label(PLAN_STATES, plan.state, lang), plan.served_on, plan.total, plan.note,
                                   line_views))
        view.my_payouts.extend(lv for lv in line_views if lv.is_me)
    return view


__all__ = ["CASE_SQL", "CASE_SQL_POSITIONAL", "STATEMENTS", "TRANSITIONS", "CaseRows", "mainline_keys",
           "rows_from_json", "CaseView", "NextView", "Viewer", "assemble", "build_view",
           "load_rows", "next_from", "viewer_from"]
