"""msgspec Structs of the cases API: what the court's case system sends (ingest) and what the
lookup answers (the contract in docs/cases.md, which the assistant codes against)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

SourceId = Annotated[str, msgspec.Meta(min_length=1, max_length=80, description="the source system's own id")]
Money = Annotated[Decimal, msgspec.Meta(description="yuan, not negative, two decimals at most")]
Text300 = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]

PartyRoleIn = Literal["creditor", "debtor"]
PartyKindIn = Literal["person", "organisation"]
AssetKindIn = Literal["real_estate", "vehicle", "bank_deposit", "securities", "equity", "receivable", "other"]
AssetStateIn = Literal["found", "seized", "frozen", "appraised", "auctioned", "released"]
AuctionResultIn = Literal["scheduled", "sold", "unsold", "withdrawn"]
DirectionIn = Literal["in", "out"]
PlanStateIn = Literal["draft", "served", "final", "withdrawn"]
PayoutStateIn = Literal["pending", "paid", "failed"]


class PartyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    role: PartyRoleIn
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: PartyKindIn = "person"
    # A person's resident ID number: checked, hashed on arrival, never stored.
    id_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    amount_claimed: Money | None = None


class NodeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    key: Annotated[str, msgspec.Meta(max_length=40, description="a node key of cases/data/nodes.toml")]
    at: dt.datetime
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AssetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    kind: AssetKindIn
    description: Text300
    state: AssetStateIn
    state_on: dt.date | None = None
    value: Money | None = None


class AuctionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    title: Text300
    asset_source_id: SourceId | None = None
    round: Annotated[int, msgspec.Meta(ge=1, le=3)] = 1
    platform: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    lot_no: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    starting_price: Money | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    result: AuctionResultIn = "scheduled"
    price: Money | None = None


class MoneyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    direction: DirectionIn
    amount: Money
    on: dt.date
    description: Text300


class LineIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    payee_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    amount: Money
    party_source_id: SourceId | None = None
    state: PayoutStateIn = "pending"
    paid_on: dt.date | None = None


class PlanIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source_id: SourceId
    total: Money
    state: PlanStateIn = "draft"
    served_on: dt.date | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    lines: list[LineIn] = []


class CaseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A whole case from the court's case system; sending it again updates, never duplicates."""

    source_id: SourceId
    case_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    filed_on: dt.date
    source_system: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = "court"
    cause: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    judge_name: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    judge_phone: Annotated[str, msgspec.Meta(max_length=30)] | None = None
    amount_claimed: Money = Decimal("0")
    query_code: Annotated[str, msgspec.Meta(min_length=6, max_length=16)] | None = None
    parties: list[PartyIn] = []
    nodes: list[NodeIn] = []
    assets: list[AssetIn] = []
    auctions: list[AuctionIn] = []
    money: list[MoneyIn] = []
    plans: list[PlanIn] = []


class CaseRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    case_number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]


class NodesIn(CaseRef, kw_only=True, forbid_unknown_fields=True):
    nodes: list[NodeIn]


class AssetsIn(CaseRef, kw_only=True, forbid_unknown_fields=True):
    assets: list[AssetIn]


class AuctionsIn(CaseRef, kw_only=True, forbid_unknown_fields=True):
    auctions: list[AuctionIn]


class MoneyListIn(CaseRef, kw_only=True, forbid_unknown_fields=True):
    money: list[MoneyIn]


class PlansIn(CaseRef, kw_only=True, forbid_unknown_fields=True):
    plans: list[PlanIn]


class IngestResult(msgspec.Struct, kw_only=True):
    case_number: str
    created: bool
    added: dict[str, int]
    updated: dict[str, int]
    query_code: str | None = None  # only when the portal made the code (new case without one): shown once


# --- lookup (the assistant's contract: docs/cases.md) -------------------------------------------


class LookupIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    case_number: Annotated[str, msgspec.Meta(max_length=60)]
    id_number: Annotated[str, msgspec.Meta(max_length=40)]
    query_code: Annotated[str, msgspec.Meta(max_length=64)]
    language: Literal["zh", "en"] | None = None


class NodeOut(msgspec.Struct, kw_only=True):
    name: str
    at: dt.datetime
    description: str | None


class NextOut(msgspec.Struct, kw_only=True):
    name: str
    likely_from: dt.date | None
    likely_to: dt.date | None


class AssetOut(msgspec.Struct, kw_only=True):
    kind: str
    kind_label: str
    description: str
    state: str
    state_label: str
    value: str | None


class PayoutOut(msgspec.Struct, kw_only=True):
    amount: str
    status: str
    status_label: str


class CaseLookupOut(msgspec.Struct, kw_only=True):
    case_number: str
    court: str
    stage: str
    stage_label: str
    role: str  # the caller's role in the case: creditor or debtor
    latest_node: NodeOut | None
    next: NextOut | None
    assets: list[AssetOut]
    my_payout: PayoutOut | None
    url: str  # the progress page (asks for the same answers, or a signed-in party's account)


class MyCasesOut(msgspec.Struct, kw_only=True):
    cases: list[CaseLookupOut]
