"""Mass payouts (涉众案款发放): a batch of payees paid out of one enforcement case.

Court staff create a batch for a case with the number of payees and the total it declares,
import the payee list (cases/payouts_import.py), and record the bank's result files
(cases/payouts_bank.py). Each payee checks their own payout with the batch code and their
ID number (cases/payouts_lookup.py).

Nothing here stores an ID number or a bank account: an ID number is kept as the keyed hash
of cases.idnumbers plus its last four; an account as a keyed hash of its own (to match the
bank's result file) plus its last four.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import tomllib
import unicodedata
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import JSONType, PlainBase, utcnow

MONEY = Numeric(16, 2)
ACCOUNT_KEY_PURPOSE = b"purpose:payout-bank-account"
BATCH_CODE = re.compile(r"^[A-Z0-9]{6,16}$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper


class BatchState(StrEnum):
    open = "open"  # created, waiting for its payee list
    paying = "paying"  # payees imported; the bank's results come in
    closed = "closed"  # final: no more results are recorded


class PayeeStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class PayoutBatch(PlainBase):
    """One payout batch of a case: the code payees look it up by, and what staff declared."""

    __tablename__ = "payout_batch"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("enforcement_case.id", ondelete="RESTRICT"),
                                         index=True)
    title: Mapped[str] = mapped_column(String(200))  # as staff wrote it, e.g. 第一批案款发放
    declared_count: Mapped[int] = mapped_column(Integer)
    declared_total: Mapped[Decimal] = mapped_column(MONEY)
    state: Mapped[str] = mapped_column(String(10), default=BatchState.open.value)
    # Payouts expected by (shown to payees as a date, never as a promise of the hour).
    expected_by: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="SET NULL"))
    imported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Payee(PlainBase):
    """One row of a batch's payee list. Loaded in bulk (COPY on PostgreSQL): no ORM defaults rely on Python."""

    __tablename__ = "payout_payee"
    __table_args__ = (
        UniqueConstraint("batch_id", "id_hash", name="uq_payout_payee_id"),  # the payee's lookup
        UniqueConstraint("batch_id", "account_hash", name="uq_payout_payee_account"),  # the bank file's match
        Index("ix_payout_payee_batch_status", "batch_id", "status"),
    )

    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payout_batch.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column(Integer)  # the row of the imported file, for staff
    name: Mapped[str] = mapped_column(String(100))
    id_hash: Mapped[str] = mapped_column(String(64))
    id_last4: Mapped[str] = mapped_column(String(4))
    account_hash: Mapped[str] = mapped_column(String(64))
    account_last4: Mapped[str] = mapped_column(String(4))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(10), default=PayeeStatus.pending.value)
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failure_code: Mapped[str | None] = mapped_column(String(30))  # a key of the failure catalogue
    failure_note: Mapped[str | None] = mapped_column(String(200))  # the bank's own words, as written


class PayoutReport(PlainBase):
    """What one import or bank result file was found to hold: kept, accepted or not, for download."""

    __tablename__ = "payout_report"
    __table_args__ = (Index("ix_payout_report_batch", "batch_id", "created_at"),)

    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payout_batch.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # "import" or "bank"
    accepted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(Integer)
    problem_count: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, object]] = mapped_column(JSONType)
    problems: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed JSON: see payouts_report
    note: Mapped[str | None] = mapped_column(Text)


# --- codes and keyed hashes -----------------------------------------------------------------


def normalise_batch_code(raw: str) -> str:
    """What people type (spaces, dashes, lower case, full-width) → the stored code."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return "".join(ch for ch in text if ch.isalnum())[:32]


def new_batch_code(year: int) -> str:
    """PF + year + 6 characters that are easy to read aloud, e.g. PF2026K7M3QD."""
    return f"PF{year}" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


def normalise_account(raw: str) -> str:
    return re.sub(r"[\s\-]+", "", unicodedata.normalize("NFKC", raw or ""))


def account_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), ACCOUNT_KEY_PURPOSE, hashlib.sha256).digest()


def account_hash(key: bytes, account: str) -> str:
    """Keyed hash of a normalised account number: how a bank result row finds its payee."""
    return hmac.new(key, account.encode(), hashlib.sha256).hexdigest()


def mask_account(last4: str) -> str:
    return f"**** {last4}"


# --- why a payout failed, and what the payee does next (data: cases/data/payout_failures.toml) ----


class FailureReason(msgspec.Struct, frozen=True):
    code: str
    bank_words: list[str]  # how banks write it in a result file (matched case-insensitively)
    reason_zh: str
    reason_en: str
    next_zh: str
    next_en: str


class FailureCatalogue(msgspec.Struct, frozen=True):
    reasons: list[FailureReason]

    def get(self, code: str | None) -> FailureReason:
        for reason in self.reasons:
            if reason.code == code:
                return reason
        return self.reasons[-1]  # "other": the bank's own words are shown beside it

    def match(self, text: str) -> FailureReason:
        """The reason a bank's text names (a code or one of its words), else "other"."""
        lowered = (text or "").strip().lower()
        for reason in self.reasons:
            if lowered == reason.code or any(w.lower() in lowered for w in reason.bank_words if w):
                return reason
        return self.reasons[-1]


@cache
def failure_catalogue() -> FailureCatalogue:
    path = Path(__file__).parent / "data" / "payout_failures.toml"
    found = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), FailureCatalogue)
    codes = [r.code for r in found.reasons]
    if len(set(codes)) != len(codes) or not codes or codes[-1] != "other":
        raise ValueError(f"{path}: reason codes must be unique and the last one must be 'other' (got {codes})")
    return found


__all__ = ["BatchState", "FailureReason", "Payee", "PayeeStatus", "PayoutBatch", "PayoutReport", "account_hash",
           "account_key", "failure_catalogue", "mask_account", "new_batch_code", "normalise_account",
           "normalise_batch_code"]
