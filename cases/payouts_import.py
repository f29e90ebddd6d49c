"""Importing a batch's payee list: every row checked, then all rows loaded in one transaction, or none.

``check_payees`` reads the file (cases/payouts_files.py) and checks each row: name, ID number
(GB 11643, cases.idnumbers), bank account, amount (a positive number with at most two
decimals), duplicate rows, ID numbers and accounts; then the count and the total against
what the batch declares. ``import_payees`` stores the outcome as a report either way, and
loads the payees only when nothing is wrong: COPY on PostgreSQL (asyncpg's
``copy_records_to_table`` on the session's own connection, so it commits or rolls back with
the batch's state and the audit row), ``executemany`` on SQLite. A database lost during the
COPY is the 503 a lost database gives anywhere else (``storage.db.driver_errors``), and
nothing of the import stays.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from cases import idnumbers
from cases.errors import CaseError, IdNumberInvalid
from cases.payouts import (
    BatchState,
    Payee,
    PayeeStatus,
    PayoutBatch,
    PayoutReport,
    account_hash,
    account_key,
    normalise_account,
)
from cases.payouts_files import Column, PayoutFileError, Table, read_table
from cases.payouts_report import Problem, pack
from storage.audit import record_audit
from storage.db import asyncpg_of, driver_errors, utcnow

PAYEE_COLUMNS = (
    Column("name", "姓名", "Name", ("户名", "收款人", "收款人姓名", "领取人", "payee", "payee name", "full name")),
    Column("id_number", "身份证号", "ID number", ("身份证号码", "身份证", "公民身份号码", "证件号码", "证件号", "id",
                                                "id no", "id card number", "id_no")),
    Column("account", "银行账号", "Bank account", ("账号", "银行卡号", "卡号", "收款账号", "收款账户", "account",
                                                 "account number", "bank account number", "bank_account", "card number")),
    Column("amount", "金额", "Amount", ("发放金额", "应发金额", "金额(元)", "案款金额", "amount (yuan)", "amount cny")),
)
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
_ACCOUNT = re.compile(r"^\d{8,32}$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")  # 3.30106E+17: a spreadsheet's rendering of a long number
MAX_AMOUNT = Decimal("100000000")  # ¥100 m for one payee: anything above is a typo
CENT = Decimal("0.01")


class PayoutImportError(CaseError):
    status_code = 409
    code = "payout_import"


@dataclass(frozen=True)
class GoodRow:
    row: int
    name: str
    id_number: str
    account: str
    amount: Decimal


@dataclass
class Checked:
    """A payee file, checked: the good rows, the problems, and the counts for the summary."""

    table: Table
    good: list[GoodRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # row problems, then the file's
    total: Decimal = Decimal("0")  # of every row whose amount could be read
    counted: int = 0  # data rows

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems if p.row})

    @property
    def accepted(self) -> bool:
        return not any(p.code not in NOTICES for p in self.problems)


NOTICES = {"empty_rows", "ignored_columns"}  # said in the report, but no reason to refuse the file


def parse_amount(text: str) -> tuple[Decimal | None, str | None]:
    """(amount, None) or (None, problem code)."""
    value = text.strip()
    if not value:
        return None, "amount_missing"
    if not _AMOUNT.match(value):
        return None, "amount_not_number"
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None, "amount_not_number"
    if amount <= 0:
        return None, "amount_not_positive"
    if amount != amount.quantize(CENT):
        return None, "amount_decimals"
    if amount > MAX_AMOUNT:
        return None, "amount_too_large"
    return amount.quantize(CENT), None


def _parse_id(raw_id: str, row_no: int, name: str, problems: list[Problem]) -> str:
    """The normalised ID number, or "" with the problem added (which part is wrong)."""
    try:
        return idnumbers.parse_id_number(raw_id)
    except IdNumberInvalid as exc:
        part = str(exc.details.get("part", "characters"))
        params = {"length": len(idnumbers.normalise_id_number(raw_id))} if part == "length" else {}
        problems.append(Problem(row_no, "id_number", f"id_{part}", name, params))
        return ""


def check_rows(table: Table, declared_count: int, declared_total: Decimal) -> Checked:
    """Every row's problems (none dropped), then the count and total against the batch's."""
    out = Checked(table=table)
    first_by_id: dict[str, int] = {}
    first_by_account: dict[str, int] = {}
    first_by_row: dict[tuple[str, str, str, str], int] = {}
    problems = out.problems
    for row_no, cells in table.rows:
        out.counted += 1
        name = cells.get("name", "").strip()
        raw_id = cells.get("id_number", "")
        raw_account = cells.get("account", "")
        raw_amount = cells.get("amount", "")
        found = len(problems)
        if not name:
            problems.append(Problem(row_no, "name", "name_missing"))
        elif len(name) > 100:
            problems.append(Problem(row_no, "name", "name_too_long", name[:20]))
        if (row_no, "id_number") in table.long_numbers or _SCIENTIFIC.match(raw_id.strip()):
            problems.append(Problem(row_no, "id_number", "excel_number", name))
            id_number = ""
        else:
            id_number = _parse_id(raw_id, row_no, name, problems)
        account = normalise_account(raw_account)
        if (row_no, "account") in table.long_numbers or _SCIENTIFIC.match(raw_account.strip()):
            problems.append(Problem(row_no, "account", "excel_number", name))
            account = ""
        elif not account:
            problems.append(Problem(row_no, "account", "account_missing", name))
        elif not _ACCOUNT.match(account):
            problems.append(Problem(row_no, "account", "account_malformed", name))
            account = ""
        amount, amount_problem = parse_amount(raw_amount)
        if amount_problem:
            problems.append(Problem(row_no, "amount", amount_problem, name, {"value": raw_amount[:30]}))
        else:
            assert amount is not None
            out.total += amount
        # Duplicates, told against the first row that has the same thing.
        key = (name, id_number or raw_id.strip(), account or raw_account.strip(), str(amount or raw_amount.strip()))
        earlier = first_by_row.get(key)
        if earlier is not None:
            problems.append(Problem(row_no, "", "duplicate_row", name, {"other": earlier}))
        else:
            first_by_row[key] = row_no
            if id_number:
                earlier = first_by_id.setdefault(id_number, row_no)
                if earlier != row_no:
                    problems.append(Problem(row_no, "id_number", "duplicate_id", name, {"other": earlier}))
            if account:
                earlier = first_by_account.setdefault(account, row_no)
                if earlier != row_no:
                    problems.append(Problem(row_no, "account", "duplicate_account", name, {"other": earlier}))
        if len(problems) == found and amount is not None:
            out.good.append(GoodRow(row_no, name, id_number, account, amount))
    if out.counted != declared_count:
        problems.append(Problem(0, "", "count_mismatch", "", {"found": out.counted, "declared": declared_count}))
    if out.total != declared_total:
        problems.append(Problem(0, "", "total_mismatch", "", {"found": f"{out.total:.2f}",
                                                               "declared": f"{declared_total:.2f}"}))
    if table.empty_rows:
        shown = ", ".join(str(n) for n in table.empty_rows[:20]) + ("…" if len(table.empty_rows) > 20 else "")
        problems.append(Problem(0, "", "empty_rows", "", {"count": len(table.empty_rows), "rows": shown}))
    if table.ignored_headings:
        problems.append(Problem(0, "", "ignored_columns", "", {"columns": ", ".join(table.ignored_headings[:10])}))
    return out


def check_payees(data: bytes, filename: str, declared_count: int, declared_total: Decimal) -> Checked:
    """Read and check a payee file (CPU-bound: run it off the event loop)."""
    return check_rows(read_table(data, filename, PAYEE_COLUMNS), declared_count, declared_total)


def payee_records(good: list[GoodRow], batch_id: int, secret: str) -> list[tuple[Any, ...]]:
    """The rows to load, in ``LOAD_COLUMNS`` order: ID numbers and accounts hashed, last four kept."""
    id_key = idnumbers.id_key(secret)
    acc_key = account_key(secret)
    pending = PayeeStatus.pending.value
    return [(batch_id, g.row, g.name, idnumbers.id_hash(id_key, g.id_number), g.id_number[-4:],
             account_hash(acc_key, g.account), g.account[-4:], g.amount, pending) for g in good]


LOAD_COLUMNS = ("batch_id", "row_no", "name", "id_hash", "id_last4", "account_hash", "account_last4", "amount",
                "status")


async def load_payees(session: AsyncSession, records: list[tuple[Any, ...]]) -> None:
    """Insert the payees inside the session's transaction: COPY on PostgreSQL, executemany elsewhere.

    The COPY runs on asyncpg's connection, past SQLAlchemy, so :func:`driver_errors` does what
    SQLAlchemy would: a connection the server ended is invalidated and raised as SQLAlchemy's
    invalidated-connection error (the request answers 503 with Retry-After), a cancelled or
    failed COPY invalidates it too. The session's transaction is then rolled back without a
    word to the dead connection, so the request's rollback cannot turn the 503 into a 500."""
    if not records:
        return
    conn = await session.connection()
    driver = await asyncpg_of(conn)  # asyncpg's, inside the session's transaction
    if driver is not None:
        async with driver_errors(conn):
            await driver.copy_records_to_table(Payee.__tablename__, records=records, columns=list(LOAD_COLUMNS))
        return
    rows = [dict(zip(LOAD_COLUMNS, r, strict=True)) for r in records]
    await session.execute(insert(Payee), rows)


def summary_of(checked: Checked) -> dict[str, Any]:
    return {"rows": checked.counted, "good_rows": len(checked.good), "bad_rows": checked.bad_rows,
            "total": f"{checked.total:.2f}", "encoding": checked.table.encoding, "kind": checked.table.kind,
            "empty_rows": len(checked.table.empty_rows)}


async def import_payees(session: AsyncSession, batch: PayoutBatch, actor: Principal, *, data: bytes,
                        filename: str, secret: str) -> PayoutReport:
    """Check the file and, if nothing is wrong, load every payee; keep a report either way; commit.

    A refused file leaves the batch as it was (its report is committed on its own). An
    accepted one loads all rows, moves the batch to ``paying`` and writes one audit row, in
    one transaction with the report: nothing is half-imported.
    """
    if batch.state != BatchState.open.value:
        raise PayoutImportError("此批次已导入收款人名单,不能再次导入。",
                                "This batch already has its payee list; it cannot be imported again.")
    digest = hashlib.sha256(data).hexdigest()
    declared_count, declared_total, batch_id = batch.declared_count, batch.declared_total, batch.id
    try:
        checked = await anyio.to_thread.run_sync(check_payees, data, filename, declared_count, declared_total)
    except PayoutFileError as exc:
        # The file as a whole cannot be read: a report with that one line, and the refusal.
        report = _report(batch_id, actor, filename, digest, "-", 0,
                         [Problem(0, "", "file", "", {"zh": exc.message_zh, "en": exc.message_en})], {}, False)
        session.add(report)
        refused_audit(session, actor, batch_id, "payees_import_refused", digest, 1, exc.code)
        await session.commit()
        raise
    report = _report(batch_id, actor, filename, digest, checked.table.encoding, checked.counted, checked.problems,
                     summary_of(checked), checked.accepted)
    if not checked.accepted:
        session.add(report)
        refused_audit(session, actor, batch_id, "payees_import_refused", digest, report.problem_count, None)
        await session.commit()
        return report
    records = await anyio.to_thread.run_sync(payee_records, checked.good, batch_id, secret)
    # The batch is claimed first (a conditional UPDATE: it locks the row on PostgreSQL and takes the write
    # lock on SQLite): of two staff importing at once, the second waits, then finds it taken.
    now = utcnow()
    claimed = await session.execute(update(PayoutBatch).where(
        PayoutBatch.id == batch_id, PayoutBatch.state == BatchState.open.value).values(
        state=BatchState.paying.value, imported_at=now, version=PayoutBatch.version + 1))
    if getattr(claimed, "rowcount", 0) != 1:
        raise PayoutImportError("此批次刚刚已由他人导入。", "Someone else has just imported this batch's list.")
    await load_payees(session, records)
    session.add(report)
    record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="payout_batch",
                 subject_id=batch_id, action="payees_imported", before={"state": BatchState.open.value},
                 after={"state": BatchState.paying.value, "payees": len(records), "total": f"{checked.total:.2f}",
                        "file_sha256": digest, "encoding": checked.table.encoding})
    await session.commit()
    return report


def refused_audit(session: AsyncSession, actor: Principal, batch_id: int, action: str, digest: str, problems: int,
                   reason: str | None) -> None:
    """A refused file changes nothing, but who sent what, and that it was refused, is kept."""
    record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="payout_batch",
                 subject_id=batch_id, action=action,
                 after={"file_sha256": digest, "problems": problems, **({"reason": reason} if reason else {})})


def _report(batch_id: int, actor: Principal, filename: str, digest: str, encoding: str, rows: int,
            problems: list[Problem], summary: dict[str, Any], accepted: bool) -> PayoutReport:
    return PayoutReport(batch_id=batch_id, kind="import", accepted=accepted, created_at=utcnow(),
                        actor_id=actor.user_id, actor_name=actor.display_name[:120], filename=filename[:200],
                        file_sha256=digest, encoding=encoding, rows=rows,
                        problem_count=sum(1 for p in problems if p.code not in NOTICES), summary=summary,
                        problems=pack(problems))


__all__ = ["Checked", "GoodRow", "PAYEE_COLUMNS", "PayoutImportError", "check_payees", "check_rows",
           "import_payees", "load_payees", "parse_amount", "payee_records"]
