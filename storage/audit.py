"""Append-only audit trail: who did what to which object, with before and after.

One table serves every domain. On PostgreSQL a trigger (see the migration) refuses
UPDATE and DELETE, so history cannot be rewritten even by the application.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import JSONType, PlainBase, utcnow


class AuditEntry(PlainBase):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_label: Mapped[str] = mapped_column(String(120))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


def record_audit(
    session: AsyncSession,
    *,
    actor_id: int | None,
    actor_label: str,
    subject_type: str,
    subject_id: int,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor_id,
        actor_label=actor_label[:120],
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
