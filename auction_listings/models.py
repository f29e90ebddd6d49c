"""Lots put up for judicial auction, their rounds, results and joint pre-review findings.

Bidding happens on the court-approved platform; this product records the lot, links to
the platform and takes the result. A lot that did not sell is relisted as a new lot (the
next round) that points at the one before, so each round keeps its own dates, prices and
result. Findings are append-only: a department's new answer is a new version beside the
old one.

``Lot.version`` rises with every change a reader of the lot could see (its fields, status,
findings, documents): public pages and caches key on it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import accounts.models  # noqa: F401  (user_account, for the foreign keys)
from storage.db import Base, JSONType


class LotKind(StrEnum):
    real_estate = "real_estate"
    vehicle = "vehicle"
    other = "other"


class Round(StrEnum):
    first = "first"  # 一拍
    second = "second"  # 二拍
    fixed_price = "fixed_price"  # 变卖


class LotStatus(StrEnum):
    draft = "draft"
    pre_review = "pre_review"
    announced = "announced"
    bidding = "bidding"
    sold = "sold"
    unsold = "unsold"
    withdrawn = "withdrawn"
    suspended = "suspended"


# What the public may see; a draft or a lot under pre-review is the court's alone.
PUBLIC_STATUSES = frozenset({LotStatus.announced, LotStatus.bidding, LotStatus.sold, LotStatus.unsold,
                             LotStatus.withdrawn, LotStatus.suspended})
# Where a lot's story ends (an unsold lot goes on as a new lot, the next round).
FINAL_STATUSES = frozenset({LotStatus.sold, LotStatus.unsold, LotStatus.withdrawn})


class Lot(Base):
    __tablename__ = "lot"
    __table_args__ = (
        Index("ix_lot_status_bidding", "status", "bidding_starts_at"),
        Index("ix_lot_court_code", "court_code", "id"),
        Index("ix_lot_city_district", "city", "district"),
    )

    lot_no: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    asset_kind: Mapped[str] = mapped_column(String(20))  # LotKind
    address: Mapped[str] = mapped_column(String(300))
    court: Mapped[str] = mapped_column(String(80))  # the court's name, as written on the case
    case_number: Mapped[str | None] = mapped_column(String(60))
    platform_url: Mapped[str | None] = mapped_column(String(500))
    appraisal: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    starting_price: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    # Facts the tax estimate needs.
    property_use: Mapped[str] = mapped_column(String(20), default="residential")
    area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    location: Mapped[str] = mapped_column(String(10), default="city")
    tax_clause: Mapped[str] = mapped_column(String(20), default="by_law")
    utility_arrears_clause: Mapped[str] = mapped_column(String(20), default="proceeds")
    seller_type: Mapped[str] = mapped_column(String(20), default="individual")
    seller_acquired_on: Mapped[dt.date | None] = mapped_column(Date)
    seller_purchase_price: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    seller_only_home: Mapped[bool] = mapped_column(Boolean, default=False)
    has_gas: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default=LotStatus.draft.value)
    # The English title and address where the court gave them (shown on English pages).
    title_en: Mapped[str | None] = mapped_column(String(200))
    address_en: Mapped[str | None] = mapped_column(String(300))

    # The listing (issue 11).
    court_code: Mapped[str | None] = mapped_column(String(12))  # e.g. 浙0681 (auction_listings/data/courts.toml)
    city: Mapped[str] = mapped_column(String(40), default="")
    district: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str | None] = mapped_column(Text)
    round: Mapped[str] = mapped_column(String(20), default=Round.first.value)
    deposit: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    increment: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    announced_on: Mapped[dt.date | None] = mapped_column(Date)  # the announcement's date
    bidding_starts_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    bidding_ends_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    platform: Mapped[str | None] = mapped_column(String(20))  # key in courts.toml [platforms]
    previous_lot_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("lot.id"), unique=True)
    status_before_suspension: Mapped[str | None] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)  # why withdrawn / suspended, as staff wrote it
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Every UPDATE of the row raises the version and is conditional on the one read: two staff
    # changing the same lot cannot both win (StaleDataError → StaleLot).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES


class Sale(Base):
    """A confirmed sale: the lot went to this buyer at this price (one per lot: the unique key
    is what makes recording a sale happen once, however many staff press the button)."""

    __tablename__ = "sale"

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lot.id"), unique=True)
    buyer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    price: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    confirmed_on: Mapped[dt.date] = mapped_column(Date)
    buyer_type: Mapped[str] = mapped_column(String(20), default="individual")
    buyer_homes: Mapped[str] = mapped_column(String(20), default="only_home")
    sold_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    # The transfer the portal opened for it (a copy of its number, for the court's page).
    tracking_no: Mapped[str | None] = mapped_column(String(16))

    lot: Mapped[Lot] = relationship(lazy="joined")


class ReviewRequest(Base):
    """One department asked to pre-review one lot (联审): one queue item each."""

    __tablename__ = "lot_review_request"
    __table_args__ = (UniqueConstraint("lot_id", "department", name="uq_lot_review_request"),)

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lot.id"), index=True)
    department: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class Finding(Base):
    """A department's signed answer for its areas of one lot. Never updated: a change is a new
    version. ``public``: shown to bidders (the version current when the lot was published, and
    every later one); ``changed``: the fields that differ from the previous version."""

    __tablename__ = "lot_finding"
    __table_args__ = (UniqueConstraint("lot_id", "department", "version", name="uq_lot_finding_version"),)

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lot.id"), index=True)
    department: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # area → field → value
    note: Mapped[str | None] = mapped_column(Text)
    signed_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    signed_by_name: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    after_publication: Mapped[bool] = mapped_column(Boolean, default=False)
    changed: Mapped[list[str] | None] = mapped_column(JSONType)  # "area.field" keys


class CourtStaff(Base):
    """Which court a member of the court enforcement bureau works at (their lots)."""

    __tablename__ = "lot_court_staff"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id"), unique=True)
    court_code: Mapped[str] = mapped_column(String(12))
