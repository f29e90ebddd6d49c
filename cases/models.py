"""Enforcement cases and what happens in them.

Every row that comes from the court's case system carries that system's own id
(``source_id``), unique within its parent, so sending the same record twice changes nothing
(see cases/ingest.py). ID numbers are never stored: only a keyed hash and the last four
characters (cases/idnumbers.py). Query codes are stored as digests, like a transfer's
verification code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base

MONEY = Numeric(16, 2)


class PartyRole(StrEnum):
    creditor = "creditor"  # 申请执行人
    debtor = "debtor"  # 被执行人


class PartyKind(StrEnum):
    person = "person"
    organisation = "organisation"


class AssetKind(StrEnum):
    real_estate = "real_estate"
    vehicle = "vehicle"
    bank_deposit = "bank_deposit"
    securities = "securities"
    equity = "equity"
    receivable = "receivable"
    other = "other"


class AssetState(StrEnum):
    found = "found"  # reported by the online search, no measure yet
    seized = "seized"  # 查封
    frozen = "frozen"  # 冻结
    appraised = "appraised"  # 评估/询价 done
    auctioned = "auctioned"  # sold at auction (or in lieu)
    released = "released"  # 解除查封/冻结


class AuctionResult(StrEnum):
    scheduled = "scheduled"
    sold = "sold"
    unsold = "unsold"  # 流拍
    withdrawn = "withdrawn"  # 撤回/中止


class MoneyDirection(StrEnum):
    incoming = "in"  # proceeds received: auction balance, deduction, debtor's payment
    outgoing = "out"  # paid out: to creditors, costs


class PlanState(StrEnum):
    draft = "draft"
    served = "served"  # served on the parties, objection period running
    final = "final"
    withdrawn = "withdrawn"


class PayoutState(StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class CaseState(StrEnum):
    open = "open"
    closed = "closed"


class EnforcementCase(Base):
    """One enforcement case (执行案件), numbered like (2024)浙0681执1234号."""

    __tablename__ = "enforcement_case"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id", name="uq_enforcement_case_source"),
        Index("ix_enforcement_case_court_filed", "court_code", "filed_on"),
    )

    case_number: Mapped[str] = mapped_column(String(40), unique=True)  # canonical spelling
    year: Mapped[int] = mapped_column(Integer)
    court_code: Mapped[str] = mapped_column(String(10))
    case_type: Mapped[str] = mapped_column(String(4))
    serial: Mapped[int] = mapped_column(Integer)
    cause: Mapped[str | None] = mapped_column(String(200))  # 案由, as the court wrote it
    filed_on: Mapped[dt.date] = mapped_column(Date)
    judge_name: Mapped[str | None] = mapped_column(String(60))  # the case's enforcement officer
    judge_phone: Mapped[str | None] = mapped_column(String(30))
    amount_claimed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    state: Mapped[str] = mapped_column(String(10), default=CaseState.open.value)
    # The stage and node reached last (denormalised from case_node for the one-query read path).
    stage: Mapped[str] = mapped_column(String(30), default="filing")
    latest_node_key: Mapped[str | None] = mapped_column(String(40))
    latest_node_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    # 案件查询码: digest only (cases.access); grants name the version, reissuing ends them.
    query_code_digest: Mapped[str | None] = mapped_column(String(64))
    query_code_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    source_system: Mapped[str] = mapped_column(String(40), default="portal")
    source_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)

    parties: Mapped[list[CaseParty]] = relationship(back_populates="case", order_by="CaseParty.id")


class CaseParty(Base):
    """A creditor or debtor of a case; its ID number only as a keyed hash and the last four."""

    __tablename__ = "case_party"
    __table_args__ = (
        UniqueConstraint("case_id", "source_id", name="uq_case_party_source"),
        Index("ix_case_party_id_hash", "id_hash"),
    )

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[str] = mapped_column(String(10))  # PartyRole
    kind: Mapped[str] = mapped_column(String(14), default=PartyKind.person.value)
    name: Mapped[str] = mapped_column(String(200))
    id_hash: Mapped[str | None] = mapped_column(String(64))
    id_last4: Mapped[str | None] = mapped_column(String(4))
    # The portal account linked to this party (after it proved the ID number), if any.
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"), index=True)
    amount_claimed: Mapped[Decimal | None] = mapped_column(MONEY)  # creditors: what they are owed
    source_id: Mapped[str] = mapped_column(String(80))

    case: Mapped[EnforcementCase] = relationship(back_populates="parties")


class CaseNode(Base):
    """A progress node (catalogue key from cases/data/nodes.toml), with its time and public text."""

    __tablename__ = "case_node"
    __table_args__ = (
        UniqueConstraint("case_id", "source_id", name="uq_case_node_source"),
        Index("ix_case_node_case_at", "case_id", "occurred_at"),
        Index("ix_case_node_transition", "prev_key", "node_key"),
    )

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"))
    node_key: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)  # public text, shown as the court wrote it
    # The node before this one in the case and the seconds since it: what the medians are measured on.
    prev_key: Mapped[str | None] = mapped_column(String(40))
    since_prev_seconds: Mapped[int | None] = mapped_column(BigInteger)
    source_id: Mapped[str] = mapped_column(String(80))


class CaseAsset(Base):
    """An asset found for the case and what has been done to it."""

    __tablename__ = "case_asset"
    __table_args__ = (UniqueConstraint("case_id", "source_id", name="uq_case_asset_source"),)

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(String(20))  # AssetKind
    description: Mapped[str] = mapped_column(String(300))  # as the court wrote it
    state: Mapped[str] = mapped_column(String(12))  # AssetState
    state_on: Mapped[dt.date | None] = mapped_column(Date)
    value: Mapped[Decimal | None] = mapped_column(MONEY)  # appraisal or frozen amount
    source_id: Mapped[str] = mapped_column(String(80))


class CaseAuction(Base):
    """One auction round of an asset of the case, and its result (the case's own row)."""

    __tablename__ = "case_auction"
    __table_args__ = (UniqueConstraint("case_id", "source_id", name="uq_case_auction_source"),)

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"),
                                         index=True)
    asset_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("case_asset.id", ondelete="SET NULL"))
    round: Mapped[int] = mapped_column(Integer, default=1)  # 1, 2; 3 = fixed-price sale (变卖)
    title: Mapped[str] = mapped_column(String(300))
    platform: Mapped[str | None] = mapped_column(String(60))
    lot_no: Mapped[str | None] = mapped_column(String(40))  # links to /lots/<lot_no> when listed here
    starting_price: Mapped[Decimal | None] = mapped_column(MONEY)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(12), default=AuctionResult.scheduled.value)
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    source_id: Mapped[str] = mapped_column(String(80))


class CaseMoney(Base):
    """Money received for the case (案款到账) or paid out of it."""

    __tablename__ = "case_money"
    __table_args__ = (UniqueConstraint("case_id", "source_id", name="uq_case_money_source"),)

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"),
                                         index=True)
    direction: Mapped[str] = mapped_column(String(3))  # MoneyDirection
    amount: Mapped[Decimal] = mapped_column(MONEY)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(300))  # as the court wrote it
    source_id: Mapped[str] = mapped_column(String(80))


class DistributionPlan(Base):
    """A distribution plan (分配方案): how the money received is shared among the payees."""

    __tablename__ = "distribution_plan"
    __table_args__ = (UniqueConstraint("case_id", "source_id", name="uq_distribution_plan_source"),)

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"),
                                         index=True)
    state: Mapped[str] = mapped_column(String(10), default=PlanState.draft.value)
    served_on: Mapped[dt.date | None] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(MONEY)
    note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(String(80))

    lines: Mapped[list[DistributionLine]] = relationship(order_by="DistributionLine.id")


class DistributionLine(Base):
    """One payee's share in a plan, and whether it has been paid."""

    __tablename__ = "distribution_line"
    __table_args__ = (UniqueConstraint("plan_id", "source_id", name="uq_distribution_line_source"),)

    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("distribution_plan.id", ondelete="CASCADE"),
                                         index=True)
    party_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("case_party.id", ondelete="SET NULL"),
                                                 index=True)
    payee_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    state: Mapped[str] = mapped_column(String(10), default=PayoutState.pending.value)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    source_id: Mapped[str] = mapped_column(String(80))


class CaseNodeStat(Base):
    """Measured time from one node to the next across all cases (refreshed by cases.stats)."""

    __tablename__ = "case_node_stat"
    __table_args__ = (UniqueConstraint("prev_key", "node_key", name="uq_case_node_stat"),)

    prev_key: Mapped[str] = mapped_column(String(40))
    node_key: Mapped[str] = mapped_column(String(40))
    samples: Mapped[int] = mapped_column(Integer)
    p25_seconds: Mapped[int] = mapped_column(BigInteger)
    median_seconds: Mapped[int] = mapped_column(BigInteger)
    p75_seconds: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CaseFollow(Base):
    """A signed-in party who asked to be told of each new node of a case."""

    __tablename__ = "case_follow"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_follow"),)

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CourtStaff(Base):
    """Which court a member of the court department works for: they see that court's cases."""

    __tablename__ = "case_court_staff"
    __table_args__ = (UniqueConstraint("user_id", "court_code", name="uq_case_court_staff"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    court_code: Mapped[str] = mapped_column(String(10))


__all__ = [
    "AssetKind", "AssetState", "AuctionResult", "CaseAsset", "CaseAuction", "CaseFollow", "CaseMoney", "CaseNode",
    "CaseNodeStat", "CaseParty", "CaseState", "CourtStaff", "DistributionLine", "DistributionPlan",
    "EnforcementCase", "MoneyDirection", "PartyKind", "PartyRole", "PayoutState", "PlanState",
]
