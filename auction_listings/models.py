"""Lots put up for judicial auction and their confirmed sales.

Bidding happens on the court-approved platform; this product records the lot, links
to the platform and takes the result. Pre-review findings and rounds come with the
listings issue; the columns here are what the title transfer needs from a sale.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base


class Lot(Base):
    __tablename__ = "lot"

    lot_no: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    asset_kind: Mapped[str] = mapped_column(String(20))  # real_estate / vehicle
    address: Mapped[str] = mapped_column(String(300))
    court: Mapped[str] = mapped_column(String(80))
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
    status: Mapped[str] = mapped_column(String(20), default="announced")
    # The English title and address where the court gave them (shown on English pages).
    title_en: Mapped[str | None] = mapped_column(String(200))
    address_en: Mapped[str | None] = mapped_column(String(300))


class Sale(Base):
    """A confirmed sale: the lot went to this buyer at this price."""

    __tablename__ = "sale"

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lot.id"), unique=True)
    buyer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    price: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    confirmed_on: Mapped[dt.date] = mapped_column(Date)
    buyer_type: Mapped[str] = mapped_column(String(20), default="individual")
    buyer_homes: Mapped[str] = mapped_column(String(20), default="only_home")

    lot: Mapped[Lot] = relationship(lazy="joined")
