from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.db import Base, JSONType


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
    revision: Mapped[int] = mapped_column(Integer, default=1)

    transfer: Mapped[Transfer] = relationship(back_populates="steps")

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012
