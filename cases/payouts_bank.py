"""The bank's result file: which payees were paid and which failed, reconciled before anything changes.

Each row names the batch, the account, the amount and the result (and, when it failed, the
bank's reason). A row is matched to its payee by the keyed hash of the account. Rows for
another batch, unknown accounts, amounts or names that differ, an account twice in the file,
a result that cannot be read, a failure for someone already paid: each is a row in the report,
and then nothing is applied. When every row reconciles, all changes are applied in one
transaction, with an audit row per payee whose state changed (bulk: COPY into a temporary
table and two set-based statements on PostgreSQL; executemany on SQLite). A database lost
while they run is the 503 a lost database gives anywhere else (``storage.db.driver_errors``),
and nothing of the file is applied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import Table as SqlTable
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from cases.errors import CaseError
from cases.payouts import (
    BatchState,
    Payee,
    PayeeStatus,
    PayoutBatch,
    PayoutReport,
    account_hash,
    account_key,
    failure_catalogue,
    normalise_account,
    normalise_batch_code,
)
from cases.payouts_files import Column, PayoutFileError, Table, read_table
from cases.payouts_import import NOTICES, parse_amount, refused_audit
from cases.payouts_report import Problem, pack
from storage.audit import AuditEntry, record_audit
from storage.db import asyncpg_of, driver_errors, utcnow

BANK_COLUMNS = (
    Column("batch_code", "批次号", "Batch code", ("发放批次", "批次编号", "批次", "batch", "batch no")),
    Column("account", "账号", "Account", ("银行账号", "收款账号", "卡号", "account number", "bank account")),
    Column("amount", "金额", "Amount", ("交易金额", "发放金额", "金额(元)", "amount (yuan)")),
    Column("result", "结果", "Result", ("处理结果", "交易结果", "状态", "交易状态", "status")),
    Column("name", "户名", "Account name", ("姓名", "收款人", "name", "payee"), required=False),
    Column("reason", "失败原因", "Failure reason", ("原因", "备注", "错误信息", "reason", "remark", "message"),
           required=False),
    Column("paid_at", "交易时间", "Time", ("入账时间", "处理时间", "时间", "paid at", "date", "time"), required=False),
)
PAID_WORDS = {"成功", "已入账", "入账成功", "交易成功", "success", "succeeded", "paid", "ok", "s"}
FAILED_WORDS = {"失败", "退回", "交易失败", "入账失败", "退票", "failed", "failure", "fail", "returned", "f"}
BANK_TZ = ZoneInfo("Asia/Shanghai")  # banks write local time
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S",
                 "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


class BankFileRefused(CaseError):
    status_code = 409
    code = "payout_bank_refused"


@dataclass(frozen=True)
class BankRow:
    row: int
    batch_code: str
    account_hash: str
    account_ok: bool
    name: str
    amount: Decimal | None
    amount_problem: str | None
    raw_amount: str
    result: str | None  # "paid" / "failed" / None (not understood)
    raw_result: str
    reason: str
    paid_at: dt.datetime | None
    paid_at_problem: bool
    raw_paid_at: str
    account_as_number: bool = False  # a workbook held the account as a number: its last digits are lost


@dataclass(frozen=True)
class PayeeState:
    id: int
    name: str
    amount: Decimal
    status: str


@dataclass
class Change:
    payee_id: int
    before: str
    after: str
    paid_at: dt.datetime | None
    failure_code: str | None
    failure_note: str | None


@dataclass
class Reconciled:
    table: Table
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def accepted(self) -> bool:
        return not any(p.code not in NOTICES for p in self.problems)


def _result(text: str) -> str | None:
    word = unicodedata.normalize("NFKC", text).strip().lower()
    if word in PAID_WORDS:
        return PayeeStatus.paid.value
    if word in FAILED_WORDS:
        return PayeeStatus.failed.value
    return None


def parse_time(text: str) -> dt.datetime | None:
    value = unicodedata.normalize("NFKC", text).strip()
    if "." in value:
        value = value.split(".", 1)[0]  # fractions of a second, as a spreadsheet may add
    value = value.replace("T", " ")
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=BANK_TZ).astimezone(dt.UTC)
        except ValueError:
            continue
    return None


def read_bank_rows(data: bytes, filename: str, secret: str) -> tuple[Table, list[BankRow]]:
    """Read and hash a bank result file (CPU-bound: run it off the event loop)."""
    table = read_table(data, filename, BANK_COLUMNS)
    key = account_key(secret)
    rows: list[BankRow] = []
    for row_no, cells in table.rows:
        account = normalise_account(cells.get("account", ""))
        amount, amount_problem = parse_amount(cells.get("amount", ""))
        raw_time = cells.get("paid_at", "")
        paid_at = parse_time(raw_time) if raw_time else None
        rows.append(BankRow(
            row=row_no, batch_code=normalise_batch_code(cells.get("batch_code", "")),
            account_hash=account_hash(key, account) if account.isdigit() else "", account_ok=account.isdigit(),
            name=unicodedata.normalize("NFKC", cells.get("name", "")).strip(), amount=amount,
            amount_problem=amount_problem, raw_amount=cells.get("amount", "")[:30],
            result=_result(cells.get("result", "")), raw_result=cells.get("result", "")[:30],
            reason=cells.get("reason", "").strip()[:200], paid_at=paid_at,
            paid_at_problem=bool(raw_time) and paid_at is None, raw_paid_at=raw_time[:30],
            account_as_number=(row_no, "account") in table.long_numbers))
    return table, rows


def reconcile(table: Table, rows: list[BankRow], batch_code: str, payees: dict[str, PayeeState],
              now: dt.datetime) -> Reconciled:
    """What the file would change, or why it cannot be applied (pure: no database)."""
    out = Reconciled(table=table)
    problems = out.problems
    catalogue = failure_catalogue()
    seen: dict[str, int] = {}
    if not rows:
        problems.append(Problem(0, "", "bank_no_rows"))
    for r in rows:
        found = len(problems)
        if r.batch_code != batch_code:
            problems.append(Problem(r.row, "batch_code", "bank_other_batch", r.name,
                                    {"found": r.batch_code or "—", "expected": batch_code}))
            continue
        payee = payees.get(r.account_hash) if r.account_ok and not r.account_as_number else None
        if r.account_as_number:
            problems.append(Problem(r.row, "account", "excel_number", r.name))
        elif payee is None:
            problems.append(Problem(r.row, "account", "bank_unknown", r.name))
        elif r.account_hash in seen:
            problems.append(Problem(r.row, "account", "bank_duplicate", r.name, {"other": seen[r.account_hash]}))
        if r.account_ok:
            seen.setdefault(r.account_hash, r.row)
        if r.amount_problem:
            problems.append(Problem(r.row, "amount", r.amount_problem, r.name, {"value": r.raw_amount}))
        elif payee is not None and r.amount != payee.amount:
            problems.append(Problem(r.row, "amount", "bank_amount_mismatch", r.name or payee.name,
                                    {"found": f"{r.amount:.2f}", "expected": f"{payee.amount:.2f}"}))
        if payee is not None and r.name and r.name != unicodedata.normalize("NFKC", payee.name).strip():
            problems.append(Problem(r.row, "name", "bank_name_mismatch", payee.name, {"found": r.name[:40]}))
        if r.result is None:
            problems.append(Problem(r.row, "result", "bank_result_unknown", r.name, {"value": r.raw_result}))
        if r.paid_at_problem:
            problems.append(Problem(r.row, "paid_at", "bank_paid_at_invalid", r.name, {"value": r.raw_paid_at}))
        if payee is None or r.result is None or len(problems) != found:
            continue
        if payee.status == PayeeStatus.paid.value:
            if r.result == PayeeStatus.failed.value:
                problems.append(Problem(r.row, "result", "bank_already_paid", payee.name))
            else:
                out.unchanged += 1  # the same file, or the same result, sent again
            continue
        if payee.status == r.result:
            out.unchanged += 1
            continue
        if r.result == PayeeStatus.paid.value:
            out.changes.append(Change(payee.id, payee.status, r.result, r.paid_at or now, None, None))
        else:
            reason = catalogue.match(r.reason)
            out.changes.append(Change(payee.id, payee.status, r.result, None, reason.code, r.reason or None))
    others = {p.params.get("found") for p in problems if p.code == "bank_other_batch"}
    if rows and len([p for p in problems if p.code == "bank_other_batch"]) == len(rows):
        problems.insert(0, Problem(0, "batch_code", "bank_other_batch", "",
                                   {"found": ", ".join(sorted(str(o) for o in others))[:60], "expected": batch_code}))
    return out


async def _payee_states(session: AsyncSession, batch_id: int) -> dict[str, PayeeState]:
    result = await session.execute(select(Payee.account_hash, Payee.id, Payee.name, Payee.amount, Payee.status)
                                   .where(Payee.batch_id == batch_id))
    return {row[0]: PayeeState(row[1], row[2], row[3], row[4]) for row in result}


async def _apply(session: AsyncSession, changes: list[Change], actor: Principal, now: dt.datetime) -> None:
    """The payees' new states and an audit row each, inside the session's transaction.

    On PostgreSQL the statements run on asyncpg's connection, past SQLAlchemy, so
    :func:`driver_errors` does what SQLAlchemy would: a connection the server ended is
    invalidated and raised as SQLAlchemy's invalidated-connection error (the request answers
    503 with Retry-After), a cancelled or failed statement invalidates it too. The session's
    transaction is then rolled back without a word to the dead connection (the server has
    dropped the temporary table and every change with it)."""
    conn = await session.connection()
    driver = await asyncpg_of(conn)  # asyncpg's, inside the session's transaction
    if driver is not None:
        async with driver_errors(conn):
            await driver.execute("CREATE TEMP TABLE payout_change (payee_id bigint, before text, after text, "
                                 "paid_at timestamptz, failure_code text, failure_note text) ON COMMIT DROP")
            await driver.copy_records_to_table(
                "payout_change", records=[(c.payee_id, c.before, c.after, c.paid_at, c.failure_code, c.failure_note)
                                          for c in changes])
            await driver.execute(
                "UPDATE payout_payee p SET status = c.after, paid_at = c.paid_at, failure_code = c.failure_code, "
                "failure_note = c.failure_note FROM payout_change c WHERE p.id = c.payee_id")
            await driver.execute(
                "INSERT INTO audit_log (at, actor_id, actor_label, subject_type, subject_id, action, before, after) "
                "SELECT $1, $2, $3, 'payout_payee', c.payee_id, 'payout_' || c.after, "
                "jsonb_build_object('status', c.before), "
                "jsonb_strip_nulls(jsonb_build_object('status', c.after, 'paid_at', c.paid_at, "
                "'failure_code', c.failure_code)) FROM payout_change c", now, actor.user_id, actor.label[:120])
            await driver.execute("DROP TABLE payout_change")
        return
    table = cast(SqlTable, Payee.__table__)
    await conn.execute(
        update(table).where(table.c.id == bindparam("pid")).values(
            status=bindparam("after"), paid_at=bindparam("new_paid_at"), failure_code=bindparam("fcode"),
            failure_note=bindparam("fnote")),
        [{"pid": c.payee_id, "after": c.after, "new_paid_at": c.paid_at, "fcode": c.failure_code,
          "fnote": c.failure_note} for c in changes])
    await conn.execute(insert(cast(SqlTable, AuditEntry.__table__)), [
        {"at": now, "actor_id": actor.user_id, "actor_label": actor.label[:120], "subject_type": "payout_payee",
         "subject_id": c.payee_id, "action": f"payout_{c.after}", "before": {"status": c.before},
         "after": {k: v for k, v in {"status": c.after, "paid_at": c.paid_at.isoformat() if c.paid_at else None,
                                     "failure_code": c.failure_code}.items() if v is not None}}
        for c in changes])


async def record_bank_results(session: AsyncSession, batch: PayoutBatch, actor: Principal, *, data: bytes,
                              filename: str, secret: str) -> PayoutReport:
    """Reconcile a bank result file against the batch; apply it only if every row reconciles; commit.

    The report is kept either way. Applying is one transaction: the payees' new states, an
    audit row for each, one for the file, and the report.
    """
    digest = hashlib.sha256(data).hexdigest()
    batch_id, code = batch.id, batch.code
    if batch.state != BatchState.paying.value:
        raise BankFileRefused(
            "此批次目前不接收银行回盘文件(尚未导入收款人名单,或已结束)。",
            "This batch does not take bank result files now (its payee list is not imported yet, or it is closed).")
    try:
        table, rows = await anyio.to_thread.run_sync(read_bank_rows, data, filename, secret)
    except PayoutFileError as exc:
        session.add(_report(batch_id, actor, filename, digest, "-", 0,
                            [Problem(0, "", "file", "", {"zh": exc.message_zh, "en": exc.message_en})], {}, False))
        refused_audit(session, actor, batch_id, "bank_results_refused", digest, 1, exc.code)
        await session.commit()
        raise
    # Lock the batch, then read its payees: two result files for one batch apply one after the other. A
    # conditional UPDATE (changing nothing) locks the row on PostgreSQL and takes the write lock on SQLite.
    locked = await session.execute(update(PayoutBatch).where(
        PayoutBatch.id == batch_id, PayoutBatch.state == BatchState.paying.value).values(version=PayoutBatch.version))
    if getattr(locked, "rowcount", 0) != 1:
        raise BankFileRefused("此批次已结束,不再记录银行结果。", "The batch is closed: no more results are recorded.")
    payees = await _payee_states(session, batch_id)
    now = utcnow()
    out = await anyio.to_thread.run_sync(reconcile, table, rows, code, payees, now)
    summary = {"rows": len(rows), "paid": sum(1 for c in out.changes if c.after == PayeeStatus.paid.value),
               "failed": sum(1 for c in out.changes if c.after == PayeeStatus.failed.value),
               "unchanged": out.unchanged, "encoding": table.encoding, "kind": table.kind}
    report = _report(batch_id, actor, filename, digest, table.encoding, len(rows), out.problems, summary,
                     out.accepted)
    if out.accepted and out.changes:
        await _apply(session, out.changes, actor, now)
        record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="payout_batch",
                     subject_id=batch_id, action="bank_results_recorded",
                     after={**summary, "file_sha256": digest})
        await session.execute(update(PayoutBatch).where(PayoutBatch.id == batch_id)
                              .values(version=PayoutBatch.version + 1))
    elif not out.accepted:
        refused_audit(session, actor, batch_id, "bank_results_refused", digest, report.problem_count, None)
    session.add(report)
    await session.commit()
    return report


def _report(batch_id: int, actor: Principal, filename: str, digest: str, encoding: str, rows: int,
            problems: list[Problem], summary: dict[str, Any], accepted: bool) -> PayoutReport:
    return PayoutReport(batch_id=batch_id, kind="bank", accepted=accepted, created_at=utcnow(),
                        actor_id=actor.user_id, actor_name=actor.display_name[:120], filename=filename[:200],
                        file_sha256=digest, encoding=encoding, rows=rows,
                        problem_count=sum(1 for p in problems if p.code not in NOTICES), summary=summary,
                        problems=pack(problems))


__all__ = ["BANK_COLUMNS", "BankFileRefused", "parse_time", "read_bank_rows", "reconcile", "record_bank_results"]
