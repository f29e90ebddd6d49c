"""Work items, their message threads, submission keys and the notification outbox.

State changes go through backoffice.service and backoffice.claims, whose every UPDATE is
conditional on the ``version`` read (or locks the row), so two people acting on the same
item cannot both win on either database. History is in ``audit_log`` (storage.audit).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any, cast

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

import accounts.models  # noqa: F401  (user_account, for the foreign keys)
from storage.db import Base, JSONType, PlainBase, utcnow

REFERENCE_PREFIX = "WI-"
_REFERENCE_RE = re.compile(r"^WI-(\d{1,12})$")


class ItemState(StrEnum):
    new = "new"
    claimed = "claimed"
    waiting_citizen = "waiting_citizen"
    done = "done"
    rejected = "rejected"
    reopened = "reopened"


OPEN_STATES = (ItemState.new, ItemState.claimed, ItemState.waiting_citizen, ItemState.reopened)
CLOSED_STATES = (ItemState.done, ItemState.rejected)
# What "claim next" may take (a claimed item only once its lease has run out).
QUEUE_STATES = (ItemState.new, ItemState.reopened, ItemState.claimed)
_QUEUE_WHERE = text("state IN ('new', 'reopened', 'claimed')")


def reference(item_id: int) -> str:
    return f"{REFERENCE_PREFIX}{item_id:06d}"


def parse_reference(ref: str) -> int | None:
    match = _REFERENCE_RE.match((ref or "").strip().upper())
    return int(match.group(1)) if match else None


class WorkItem(Base):
    """One piece of work for one department: a form, or something another domain opened (its source)."""

    __tablename__ = "work_item"
    __table_args__ = (
        # The queue: items a department can take, most urgent first. Partial, so finished
        # items (the vast majority, in time) do not weigh on "claim next".
        Index("ix_work_item_queue", "department", text("priority DESC"), "due_at", "id",
              postgresql_where=_QUEUE_WHERE, sqlite_where=_QUEUE_WHERE),
        Index("ix_work_item_department_state", "department", "state"),
        Index("ix_work_item_citizen", "citizen_id", "id"),
        Index("ix_work_item_kind_closed", "kind", "closed_at"),
        UniqueConstraint("source_type", "source_id", name="uq_work_item_source"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default=ItemState.new.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    channel: Mapped[str] = mapped_column(String(10), default="web")
    language: Mapped[str] = mapped_column(String(2), default="zh")
    citizen_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    # Where the item came from when another domain opened it (unique: one item per source).
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    claimed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id"))
    claimed_by_label: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    first_claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    reopened_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    correction_fields: Mapped[list[str] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    def lease_live(self, now: dt.datetime) -> bool:
        return self.state == ItemState.claimed and self.lease_expires_at is not None and self.lease_expires_at > now

    def held_by(self, user_id: int) -> bool:
        return self.state == ItemState.claimed and self.claimed_by == user_id

    def overdue(self, now: dt.datetime) -> bool:
        return self.is_open and self.due_at < now


class MessageKind(StrEnum):
    submitted = "submitted"  # the form as sent (for the record of the thread)
    transcript = "transcript"  # the chat that led to a talk-to-a-person request
    reply = "reply"  # staff → citizen
    citizen_reply = "citizen_reply"
    correction_request = "correction_request"  # 补正
    correction_answer = "correction_answer"
    completed = "completed"
    rejected = "rejected"
    forwarded = "forwarded"  # internal
    dispute = "dispute"
    system = "system"  # e.g. the step was completed on the step page


class ItemMessage(Base):
    """The thread of an item: what staff and the citizen said to each other, in order."""

    __tablename__ = "work_item_message"
    __table_args__ = (Index("ix_work_item_message_item", "item_id", "id"),)

    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("work_item.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    author_kind: Mapped[str] = mapped_column(String(10))  # citizen / staff / system
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    author_label: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    visible_to_citizen: Mapped[bool] = mapped_column(Boolean, default=True)


class SubmissionKey(PlainBase):
    """An Idempotency-Key seen once per scope; the unique constraint settles concurrent duplicates."""

    __tablename__ = "submission_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_submission_key_scope_key"),)

    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("work_item.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class OutboxState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class Notification(PlainBase):
    """A message to send, written in the same transaction as the change that causes it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_due", "state", "available_at"),)

    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    item_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("work_item.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(40))
    recipient_kind: Mapped[str] = mapped_column(String(12))  # citizen / department
    recipient_id: Mapped[int | None] = mapped_column(BigInteger)
    department: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="zh")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(10), default=OutboxState.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a pending row may be sent, or when a "sending" claim runs out (a crashed sender).
    available_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))


def table(model: Any) -> Table:
    """A model's Table, typed as one (``__table__`` is typed as a plain FromClause)."""
    return cast(Table, model.__table__)


def on_postgres(session: AsyncSession) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"
