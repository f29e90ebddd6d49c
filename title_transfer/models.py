from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, JSONType, metadata


class Transfer(Base):
    """The buyer's one-stop title transfer for one confirmed sale."""

    __tablename__ = "transfer"

    tracking_no: Mapped[str] = mapped_column(String(16), unique=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    # Grant cookies name the code version they were issued under: reissuing the code ends them.
    code_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    sale_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sale.id"), unique=True)
    buyer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id"), index=True)
    asset_kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    # From the confirmed sale, as handed over when the transfer was opened (shown on the page).
    price: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    address: Mapped[str | None] = mapped_column(String(300))
    # English versions where the sale had them (English pages show them; Chinese otherwise).
    title_en: Mapped[str | None] = mapped_column(String(200))
    address_en: Mapped[str | None] = mapped_column(String(300))
    # The court that sold it (its enforcement office is the contact for the court's steps).
    court: Mapped[str | None] = mapped_column(String(80))
    started_on: Mapped[dt.date] = mapped_column(Date)
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Tax estimate as computed when facts last changed (JSON, for a one-query read path).
    tax_estimate: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)

    steps: Mapped[list[TransferStep]] = relationship(
        back_populates="transfer", order_by="TransferStep.position", lazy="selectin"
    )


class TransferStep(Base):
    __tablename__ = "transfer_step"
    __table_args__ = (
        Index("ix_transfer_step_transfer_position", "transfer_id", "position", unique=True),
        Index("ix_transfer_step_department_state", "department", "state"),
    )

    transfer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("transfer.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    state_before_block: Mapped[str | None] = mapped_column(String(20))
    due_on: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Free text in its language: {"blocked_reason": {"lang": "zh", "zh": "…", "en": "…"}, "note": {…}}
    # (title_transfer.texts). The blocked_reason and note columns keep the text as written.
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(Integer, default=1)

    transfer: Mapped[Transfer] = relationship(back_populates="steps")

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


# The last tracking number handed out per year, on SQLite (one writer at a time; bumped with
# an atomic upsert). PostgreSQL uses a sequence per year instead (title_transfer.service).
tracking_counter = Table(
    "transfer_tracking_counter",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_value", Integer, nullable=False),
)
