"""Ingest from the court's case system: create cases and add parties, nodes, assets, auctions,
money and distribution plans, idempotent by the source system's own ids.

Sending a record again with the same ``source_id`` updates it (an asset moving from seized to
appraised, an auction getting its result) and never adds a second row. Everything one call
sends is checked first, all problems reported at once (:class:`~cases.errors.IngestInvalid`
with a list of ``{path, message_zh, message_en}``), and written in the caller's transaction:
nothing is half-written. New nodes are published as :class:`~cases.events.NodeAdded` (followers
are told through the queue's outbox, wired by the portal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cases import codes
from cases.catalogue import catalogue
from cases.errors import CaseError, CaseNumberInvalid, IdNumberInvalid, IngestInvalid
from cases.events import NodeAdded
from cases.idnumbers import id_hash, id_key, last_four, normalise_id_number, parse_id_number
from cases.models import (
    CaseAsset,
    CaseAuction,
    CaseMoney,
    CaseNode,
    CaseParty,
    CaseState,
    DistributionLine,
    DistributionPlan,
    EnforcementCase,
    utc,
)
from cases.numbers import parse_case_number
from cases.schemas import AssetIn, AuctionIn, CaseIn, IngestResult, MoneyIn, NodeIn, PartyIn, PlanIn
from storage.audit import record_audit
from storage.events import hub

CENT = Decimal("0.01")


class IngestConflict(CaseError):
    status_code = 409
    code = "case_ingest_conflict"


@dataclass
class _Problems:
    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, path: str, zh: str, en: str) -> None:
        self.items.append({"path": path, "message_zh": zh, "message_en": en})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            more_zh = f"(共 {len(self.items)} 处)" if len(self.items) > 1 else ""
            more_en = f" ({len(self.items)} problems in all)" if len(self.items) > 1 else ""
            raise IngestInvalid(f"{first['path']}:{first['message_zh']}{more_zh}",
                                f"{first['path']}: {first['message_en']}{more_en}", errors=self.items)


def _money(p: _Problems, path: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0:
        p.add(path, "金额不能为负数", "an amount cannot be negative")
    elif value != value.quantize(CENT):
        p.add(path, "金额最多两位小数", "amounts have at most two decimals")


def _unique(p: _Problems, path: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, sid in enumerate(ids):
        if sid in seen:
            p.add(f"{path}[{i}].source_id", f"source_id “{sid}” 在本次提交中重复", f"source_id “{sid}” is sent twice")
        seen.add(sid)


def _check_parties(p: _Problems, parties: Sequence[PartyIn]) -> None:
    _unique(p, "parties", [x.source_id for x in parties])
    for i, party in enumerate(parties):
        _money(p, f"parties[{i}].amount_claimed", party.amount_claimed)
        if party.kind == "person":
            if not party.id_number:
                p.add(f"parties[{i}].id_number", "自然人当事人需要身份证号码", "a person needs an ID number")
                continue
            try:
                parse_id_number(party.id_number)
            except IdNumberInvalid as exc:
                p.add(f"parties[{i}].id_number", exc.message_zh, exc.message_en)


def _check_nodes(p: _Problems, nodes: Sequence[NodeIn]) -> None:
    _unique(p, "nodes", [x.source_id for x in nodes])
    known = catalogue().nodes
    for i, node in enumerate(nodes):
        if node.key not in known:
            p.add(f"nodes[{i}].key", f"未知的节点“{node.key[:40]}”(见 cases/data/nodes.toml)",
                  f"unknown node “{node.key[:40]}” (see cases/data/nodes.toml)")
        if node.at.tzinfo is None:
            p.add(f"nodes[{i}].at", "时间须带时区,如 2024-03-01T09:30:00+08:00",
                  "the time needs its offset, e.g. 2024-03-01T09:30:00+08:00")


def _check_assets(p: _Problems, assets: Sequence[AssetIn]) -> None:
    _unique(p, "assets", [x.source_id for x in assets])
    for i, asset in enumerate(assets):
        _money(p, f"assets[{i}].value", asset.value)


def _check_auctions(p: _Problems, auctions: Sequence[AuctionIn], asset_ids: set[str]) -> None:
    _unique(p, "auctions", [x.source_id for x in auctions])
    for i, auction in enumerate(auctions):
        _money(p, f"auctions[{i}].starting_price", auction.starting_price)
        _money(p, f"auctions[{i}].price", auction.price)
        if auction.result == "sold" and auction.price is None:
            p.add(f"auctions[{i}].price", "成交的拍卖需要成交价", "a sold auction needs its price")
        if auction.asset_source_id is not None and auction.asset_source_id not in asset_ids:
            p.add(f"auctions[{i}].asset_source_id", "该财产不在本案中", "no asset of the case has this source_id")
        if auction.starts_on and auction.ends_on and auction.ends_on < auction.starts_on:
            p.add(f"auctions[{i}].ends_on", "结束日期早于开始日期", "it ends before it starts")


def _check_money(p: _Problems, money: Sequence[MoneyIn]) -> None:
    _unique(p, "money", [x.source_id for x in money])
    for i, entry in enumerate(money):
        _money(p, f"money[{i}].amount", entry.amount)
        if entry.amount <= 0:
            p.add(f"money[{i}].amount", "金额必须大于零", "the amount must be more than zero")


def _check_plans(p: _Problems, plans: Sequence[PlanIn], party_ids: set[str]) -> None:
    _unique(p, "plans", [x.source_id for x in plans])
    for i, plan in enumerate(plans):
        _money(p, f"plans[{i}].total", plan.total)
        _unique(p, f"plans[{i}].lines", [x.source_id for x in plan.lines])
        for j, line in enumerate(plan.lines):
            _money(p, f"plans[{i}].lines[{j}].amount", line.amount)
            if line.party_source_id is not None and line.party_source_id not in party_ids:
                p.add(f"plans[{i}].lines[{j}].party_source_id", "该当事人不在本案中",
                      "no party of the case has this source_id")
            if line.state == "paid" and line.paid_on is None:
                p.add(f"plans[{i}].lines[{j}].paid_on", "已发放的款项需要发放日期", "a paid line needs its date")
        if plan.lines and sum((x.amount for x in plan.lines), Decimal("0")) != plan.total:
            total = sum((x.amount for x in plan.lines), Decimal("0"))
            p.add(f"plans[{i}].total", f"分配明细合计 {total} 与方案总额 {plan.total} 不符",
                  f"the lines add up to {total}, not the plan's total {plan.total}")


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return utc(old) == utc(new)  # SQLite gives times back without their zone
    return bool(old == new)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if not _same(getattr(row, name), value):
            setattr(row, name, value)
            changed = True
    return changed


@dataclass
class _Counts:
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, *, new: bool, changed: bool) -> None:
        if new:
            self.added[what] = self.added.get(what, 0) + 1
        elif changed:
            self.updated[what] = self.updated.get(what, 0) + 1


class Ingest:
    """One ingest call: its session, the secret (query-code digests, ID-number key) and the actor."""

    def __init__(self, session: AsyncSession, secret: str, actor_label: str, actor_id: int | None = None) -> None:
        self.session = session
        self.secret = secret
        self.key = id_key(secret)
        self.actor_label = actor_label
        self.actor_id = actor_id
        self.counts = _Counts()
        self.new_nodes: list[CaseNode] = []

    async def _children(self, model: Any, parent_col: Any, parent_id: int) -> dict[str, Any]:
        rows = (await self.session.scalars(select(model).where(parent_col == parent_id))).all()
        return {row.source_id: row for row in rows}

    async def parties(self, case: EnforcementCase, parties: Sequence[PartyIn]) -> None:
        have = await self._children(CaseParty, CaseParty.case_id, case.id)
        for party in parties:
            values: dict[str, Any] = {"role": party.role, "kind": party.kind, "name": party.name,
                                      "amount_claimed": party.amount_claimed}
            if party.id_number:
                number = normalise_id_number(party.id_number)
                values.update(id_hash=id_hash(self.key, number), id_last4=last_four(number))
            row = have.get(party.source_id)
            if row is None:
                self.session.add(CaseParty(case_id=case.id, source_id=party.source_id, **values))
                self.counts.count("parties", new=True, changed=True)
            else:
                self.counts.count("parties", new=False, changed=_assign(row, values))

    async def nodes(self, case: EnforcementCase, nodes: Sequence[NodeIn]) -> None:
        cat = catalogue()
        have = await self._children(CaseNode, CaseNode.case_id, case.id)
        for node in nodes:
            values = {"node_key": node.key, "stage": cat.nodes[node.key].stage, "occurred_at": utc(node.at),
                      "description": node.description}
            row = have.get(node.source_id)
            if row is None:
                row = CaseNode(case_id=case.id, source_id=node.source_id, **values)
                self.session.add(row)
                self.new_nodes.append(row)
                self.counts.count("nodes", new=True, changed=True)
            else:
                self.counts.count("nodes", new=False, changed=_assign(row, values))
        if nodes:
            await self.session.flush()
            await self._relink(case)

    async def _relink(self, case: EnforcementCase) -> None:
        """Each node's predecessor and the time since it (what the medians measure), and the
        case's stage and latest node, recomputed over the whole case (nodes may arrive late)."""
        rows = (await self.session.scalars(
            select(CaseNode).where(CaseNode.case_id == case.id).order_by(CaseNode.occurred_at, CaseNode.id))).all()
        prev: CaseNode | None = None
        for row in rows:
            prev_key = prev.node_key if prev else None
            since = int((utc(row.occurred_at) - utc(prev.occurred_at)).total_seconds()) if prev else None
            _assign(row, {"prev_key": prev_key, "since_prev_seconds": since})
            prev = row
        if prev is not None:
            node = catalogue().nodes[prev.node_key]
            closed = node.closes
            _assign(case, {"stage": node.stage, "latest_node_key": prev.node_key, "latest_node_at": prev.occurred_at,
                           "state": CaseState.closed.value if closed else CaseState.open.value,
                           "closed_on": utc(prev.occurred_at).date() if closed else None})

    async def assets(self, case: EnforcementCase, assets: Sequence[AssetIn]) -> None:
        have = await self._children(CaseAsset, CaseAsset.case_id, case.id)
        for asset in assets:
            values = {"kind": asset.kind, "description": asset.description, "state": asset.state,
                      "state_on": asset.state_on, "value": asset.value}
            row = have.get(asset.source_id)
            if row is None:
                self.session.add(CaseAsset(case_id=case.id, source_id=asset.source_id, **values))
                self.counts.count("assets", new=True, changed=True)
            else:
                self.counts.count("assets", new=False, changed=_assign(row, values))
        if assets:
            await self.session.flush()

    async def auctions(self, case: EnforcementCase, auctions: Sequence[AuctionIn]) -> None:
        assets = await self._children(CaseAsset, CaseAsset.case_id, case.id)
        have = await self._children(CaseAuction, CaseAuction.case_id, case.id)
        for auction in auctions:
            asset = assets.get(auction.asset_source_id) if auction.asset_source_id else None
            values = {"asset_id": asset.id if asset else None, "round": auction.round, "title": auction.title,
                      "platform": auction.platform, "lot_no": auction.lot_no,
                      "starting_price": auction.starting_price, "starts_on": auction.starts_on,
                      "ends_on": auction.ends_on, "result": auction.result, "price": auction.price}
            row = have.get(auction.source_id)
            if row is None:
                self.session.add(CaseAuction(case_id=case.id, source_id=auction.source_id, **values))
                self.counts.count("auctions", new=True, changed=True)
            else:
                self.counts.count("auctions", new=False, changed=_assign(row, values))

    async def money(self, case: EnforcementCase, money: Sequence[MoneyIn]) -> None:
        have = await self._children(CaseMoney, CaseMoney.case_id, case.id)
        for entry in money:
            values = {"direction": entry.direction, "amount": entry.amount, "booked_on": entry.on,
                      "description": entry.description}
            row = have.get(entry.source_id)
            if row is None:
                self.session.add(CaseMoney(case_id=case.id, source_id=entry.source_id, **values))
                self.counts.count("money", new=True, changed=True)
            else:
                self.counts.count("money", new=False, changed=_assign(row, values))

    async def plans(self, case: EnforcementCase, plans: Sequence[PlanIn]) -> None:
        await self.session.flush()
        parties = await self._children(CaseParty, CaseParty.case_id, case.id)
        have = await self._children(DistributionPlan, DistributionPlan.case_id, case.id)
        for plan in plans:
            values = {"state": plan.state, "served_on": plan.served_on, "total": plan.total, "note": plan.note}
            row = have.get(plan.source_id)
            if row is None:
                row = DistributionPlan(case_id=case.id, source_id=plan.source_id, **values)
                self.session.add(row)
                await self.session.flush()
                self.counts.count("plans", new=True, changed=True)
            else:
                self.counts.count("plans", new=False, changed=_assign(row, values))
            lines = await self._children(DistributionLine, DistributionLine.plan_id, row.id)
            for line in plan.lines:
                party = parties.get(line.party_source_id) if line.party_source_id else None
                line_values = {"party_id": party.id if party else None, "payee_name": line.payee_name,
                               "amount": line.amount, "state": line.state, "paid_on": line.paid_on}
                existing = lines.get(line.source_id)
                if existing is None:
                    self.session.add(DistributionLine(plan_id=row.id, source_id=line.source_id, **line_values))
                    self.counts.count("payouts", new=True, changed=True)
                else:
                    self.counts.count("payouts", new=False, changed=_assign(existing, line_values))

    async def finish(self, case: EnforcementCase, *, created: bool, query_code: str | None = None) -> IngestResult:
        try:
            await self.session.flush()
        except IntegrityError:
            await self.session.rollback()
            raise IngestConflict("同一案件正被同时写入,请重试。",
                                 "The same case is being written by another call at this moment; retry.") from None
        cat = catalogue()
        for node in sorted(self.new_nodes, key=lambda n: n.occurred_at):
            spec = cat.nodes[node.node_key]
            await hub.publish(self.session, NodeAdded(case_id=case.id, case_number=case.case_number,
                                                      node_key=node.node_key, name_zh=spec.name_zh,
                                                      name_en=spec.name_en, occurred_at=node.occurred_at))
        if created or self.counts.added or self.counts.updated:
            case.version = (case.version or 0) + (0 if created else 1)
            record_audit(self.session, actor_id=self.actor_id, actor_label=self.actor_label,
                         subject_type="enforcement_case", subject_id=case.id,
                         action="case.create" if created else "case.ingest",
                         after={"added": self.counts.added, "updated": self.counts.updated})
        return IngestResult(case_number=case.case_number, created=created, added=self.counts.added,
                            updated=self.counts.updated, query_code=query_code)


def _case_number(p: _Problems, raw: str) -> str | None:
    try:
        return parse_case_number(raw).text
    except CaseNumberInvalid as exc:
        p.add("case_number", exc.message_zh, exc.message_en)
        return None


async def ingest_case(session: AsyncSession, data: CaseIn, *, secret: str, actor_label: str,
                      actor_id: int | None = None) -> IngestResult:
    """Create or update a whole case (idempotent by source ids). Does not commit."""
    p = _Problems()
    number = _case_number(p, data.case_number)
    _money(p, "amount_claimed", data.amount_claimed)
    _check_parties(p, data.parties)
    _check_nodes(p, data.nodes)
    _check_assets(p, data.assets)
    _check_auctions(p, data.auctions, {a.source_id for a in data.assets})
    _check_money(p, data.money)
    _check_plans(p, data.plans, {x.source_id for x in data.parties})
    p.raise_if_any()
    assert number is not None
    parsed = parse_case_number(number)
    case = await session.scalar(select(EnforcementCase).where(
        EnforcementCase.source_system == data.source_system, EnforcementCase.source_id == data.source_id))
    created = case is None
    shown_code: str | None = None
    if case is None:
        if await session.scalar(select(EnforcementCase.id).where(EnforcementCase.case_number == number)):
            raise IngestConflict(f"案号 {number} 已由另一个来源编号登记。",
                                 f"The case number {number} is already registered under another source id.")
        code = data.query_code
        if code is None:
            code = shown_code = codes.new_code()
        case = EnforcementCase(case_number=number, year=parsed.year, court_code=parsed.court_code,
                               case_type=parsed.case_type, serial=parsed.serial, source_system=data.source_system,
                               source_id=data.source_id, filed_on=data.filed_on,
                               query_code_digest=codes.code_digest(secret, number, code), version=1)
        session.add(case)
    elif case.case_number != number:
        raise IngestConflict(f"来源编号 {data.source_id} 对应的案号是 {case.case_number},不能改为 {number}。",
                             f"Source id {data.source_id} is case {case.case_number}; it cannot become {number}.")
    elif data.query_code is not None and not codes.code_matches(secret, number, data.query_code,
                                                                 case.query_code_digest):
        case.query_code_digest = codes.code_digest(secret, number, data.query_code)
        case.query_code_version = (case.query_code_version or 1) + 1  # grants made with the old code end
    _assign(case, {"filed_on": data.filed_on, "cause": data.cause, "judge_name": data.judge_name,
                   "judge_phone": data.judge_phone, "amount_claimed": data.amount_claimed})
    await session.flush()
    ingest = Ingest(session, secret, actor_label, actor_id)
    await ingest.parties(case, data.parties)
    await ingest.assets(case, data.assets)
    await ingest.nodes(case, data.nodes)
    await ingest.auctions(case, data.auctions)
    await ingest.money(case, data.money)
    await ingest.plans(case, data.plans)
    return await ingest.finish(case, created=created, query_code=shown_code)


async def case_by_number(session: AsyncSession, raw: str) -> EnforcementCase:
    """The case with this number (for adding to it), or a 422/404 that says which."""
    number = parse_case_number(raw).text
    case = await session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == number))
    if case is None:
        raise IngestInvalid(f"没有案号为 {number} 的案件,请先提交案件。",
                            f"There is no case {number}; send the case first.", errors=[
                                {"path": "case_number", "message_zh": "案件不存在", "message_en": "no such case"}])
    return case


async def add_to_case(session: AsyncSession, raw_number: str, *, secret: str, actor_label: str,
                      actor_id: int | None = None, nodes: Sequence[NodeIn] = (), assets: Sequence[AssetIn] = (),
                      auctions: Sequence[AuctionIn] = (), money: Sequence[MoneyIn] = (),
                      plans: Sequence[PlanIn] = ()) -> IngestResult:
    """Add (or update, by source id) nodes, assets, auctions, money or plans of an existing case."""
    p = _Problems()
    _check_nodes(p, nodes)
    _check_assets(p, assets)
    _check_money(p, money)
    p.raise_if_any()
    case = await case_by_number(session, raw_number)
    if auctions:
        have = set((await session.scalars(select(CaseAsset.source_id).where(CaseAsset.case_id == case.id))).all())
        _check_auctions(p, auctions, have | {a.source_id for a in assets})
    if plans:
        have = set((await session.scalars(select(CaseParty.source_id).where(CaseParty.case_id == case.id))).all())
        _check_plans(p, plans, have)
    p.raise_if_any()
    ingest = Ingest(session, secret, actor_label, actor_id)
    await ingest.assets(case, assets)
    await ingest.nodes(case, nodes)
    await ingest.auctions(case, auctions)
    await ingest.money(case, money)
    await ingest.plans(case, plans)
    return await ingest.finish(case, created=False)


__all__ = ["IngestConflict", "add_to_case", "case_by_number", "ingest_case"]
