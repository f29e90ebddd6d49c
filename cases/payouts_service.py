"""Payout batches for court staff (create, progress, close) and the payee's own lookup.

Court staff see the batches of their court's cases (cases.models.CourtStaff); an
administrator sees every batch. A payee sees one payout: their own, by batch code + ID
number, throttled per batch and per client (:class:`PayoutChecker`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.principal import Principal
from cases import idnumbers
from cases.catalogue import catalogue
from cases.errors import CaseError
from cases.models import CourtStaff, EnforcementCase
from cases.numbers import parse_case_number
from cases.payouts import (
    BATCH_CODE,
    BatchState,
    Payee,
    PayeeStatus,
    PayoutBatch,
    failure_catalogue,
    new_batch_code,
    normalise_batch_code,
)
from storage.audit import record_audit
from storage.db import utcnow
from storage.errors import Throttled
from storage.throttle import Throttle


class PayoutError(CaseError):
    status_code = 409
    code = "payout_error"


class BatchNotFound(PayoutError):
    status_code = 404
    code = "payout_batch_not_found"


class BatchInvalid(PayoutError):
    status_code = 422
    code = "payout_batch_invalid"


class PayoutNotFound(PayoutError):
    """The same answer whether the batch does not exist or the ID number is not in it."""

    status_code = 404
    code = "payout_not_found"

    def __init__(self) -> None:
        super().__init__("没有找到对应的发放记录。请核对发放批次号(见法院的发放通知)和身份证号码。",
                         "No payout matches. Check the batch code (on the court's payout notice) and the ID number.")


class BatchCodeInvalid(PayoutError):
    status_code = 422
    code = "payout_batch_code_invalid"

    def __init__(self) -> None:
        super().__init__("发放批次号应为 6–16 位字母和数字,如 PF2026HZ0001,见法院的发放通知。",
                         "A batch code is 6–16 letters and digits, e.g. PF2026HZ0001, as on the court's payout notice.",
                         field="batch_code")


# --- who sees which batch -------------------------------------------------------------------


async def staff_courts(session: AsyncSession, principal: Principal) -> set[str] | None:
    """The court codes a member of staff works for; None = every court (administrators)."""
    if principal.is_admin:
        return None
    if not principal.works_for("court"):
        return set()
    rows = await session.scalars(select(CourtStaff.court_code).where(CourtStaff.user_id == principal.user_id))
    return set(rows)


async def batches_for(session: AsyncSession, principal: Principal) -> list[tuple[PayoutBatch, EnforcementCase]]:
    courts = await staff_courts(session, principal)
    stmt = (select(PayoutBatch, EnforcementCase).join(EnforcementCase, EnforcementCase.id == PayoutBatch.case_id)
            .order_by(PayoutBatch.created_at.desc()).limit(200))
    if courts is not None:
        stmt = stmt.where(EnforcementCase.court_code.in_(courts or {""}))
    return [(b, c) for b, c in (await session.execute(stmt)).all()]


async def batch_for_staff(session: AsyncSession, principal: Principal, code: str) -> tuple[PayoutBatch, EnforcementCase]:
    """The batch, if this member of staff may see it; else BatchNotFound (whether or not it exists)."""
    found = (await session.execute(
        select(PayoutBatch, EnforcementCase).join(EnforcementCase, EnforcementCase.id == PayoutBatch.case_id)
        .where(PayoutBatch.code == normalise_batch_code(code)))).first()
    if found is not None:
        courts = await staff_courts(session, principal)
        if courts is None or found[1].court_code in courts:
            return found[0], found[1]
    raise BatchNotFound("没有这个发放批次,或它不属于您所在法院的案件。",
                        "No such payout batch, or it belongs to another court's case.")


# --- batches ----------------------------------------------------------------------------------


def parse_money(raw: str, what_zh: str, what_en: str) -> Decimal:
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        value = Decimal("-1")
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value >= Decimal("1e13"):
        raise BatchInvalid(f"{what_zh}应为大于 0 的金额,最多两位小数,如 1700000000.00。",
                           f"The {what_en} must be an amount above 0 with at most 2 decimals, e.g. 1700000000.00.",
                           field="declared_total")
    return value.quantize(Decimal("0.01"))


async def create_batch(session: AsyncSession, actor: Principal, *, case_number: str, title: str,
                       declared_count: str, declared_total: str, expected_by: str = "",
                       code: str | None = None) -> PayoutBatch:
    """A new, empty batch for one of the actor's court's cases; the payee list is imported next."""
    number = parse_case_number(case_number)  # CaseNumberInvalid says which part is wrong
    case = await session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == number.text))
    courts = await staff_courts(session, actor)
    if case is None or (courts is not None and case.court_code not in courts):
        raise BatchInvalid(f"没有案号为 {number.text} 的本院案件。请核对案号。",
                           f"No case {number.text} of your court. Check the case number.", field="case_number")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise BatchInvalid("请填写批次名称(200 字以内),如“第一批案款发放”。",
                           "Give the batch a name (up to 200 characters), e.g. “First payout”.", field="title")
    try:
        count = int((declared_count or "").strip())
    except ValueError:
        count = 0
    if not 1 <= count <= 500_000:
        raise BatchInvalid("收款人数应为 1 到 500000 之间的整数。",
                           "The number of payees must be a whole number from 1 to 500000.", field="declared_count")
    total = parse_money(declared_total, "发放总额", "total amount")
    expected: dt.date | None = None
    if (expected_by or "").strip():
        try:
            expected = dt.date.fromisoformat(expected_by.strip())
        except ValueError:
            raise BatchInvalid("预计发放日期应为日期,如 2026-12-15。",
                               "The expected payout date must be a date, e.g. 2026-12-15.", field="expected_by") from None
    code = code or new_batch_code(utcnow().year)
    while await session.scalar(select(PayoutBatch.id).where(PayoutBatch.code == code)) is not None:
        code = new_batch_code(utcnow().year)
    batch = PayoutBatch(code=code, case_id=case.id, title=title, declared_count=count, declared_total=total,
                        state=BatchState.open.value, expected_by=expected, created_at=utcnow(),
                        created_by=actor.user_id, version=1)
    session.add(batch)
    await session.flush()
    record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="payout_batch",
                 subject_id=batch.id, action="batch_created",
                 after={"code": code, "case": number.text, "count": count, "total": f"{total:.2f}"})
    return batch


async def close_batch(session: AsyncSession, actor: Principal, batch: PayoutBatch) -> None:
    """Final: no more bank results are recorded for the batch (payees can still look it up)."""
    if batch.state == BatchState.closed.value:
        raise PayoutError("此批次已结束。", "This batch is already closed.")
    before = batch.state
    batch.state = BatchState.closed.value
    batch.closed_at = utcnow()
    batch.version += 1
    counts = await progress(session, batch.id)
    record_audit(session, actor_id=actor.user_id, actor_label=actor.label, subject_type="payout_batch",
                 subject_id=batch.id, action="batch_closed", before={"state": before},
                 after={"state": batch.state, **{k: v.count for k, v in counts.items()}})


@dataclass(frozen=True)
class Tally:
    count: int
    amount: Decimal


async def progress(session: AsyncSession, batch_id: int) -> dict[str, Tally]:
    """Payees and amounts by status (one indexed GROUP BY)."""
    rows = await session.execute(select(Payee.status, func.count(), func.coalesce(func.sum(Payee.amount), 0))
                                 .where(Payee.batch_id == batch_id).group_by(Payee.status))
    found = {status: Tally(int(n), Decimal(str(total))) for status, n, total in rows}
    return {s.value: found.get(s.value, Tally(0, Decimal("0"))) for s in PayeeStatus}


async def failed_payees(session: AsyncSession, batch_id: int, limit: int = 50) -> list[Payee]:
    return list(await session.scalars(select(Payee).where(Payee.batch_id == batch_id,
                                                          Payee.status == PayeeStatus.failed.value)
                                      .order_by(Payee.row_no).limit(limit)))


# --- the payee's lookup -------------------------------------------------------------------------


class PayoutAnswer(msgspec.Struct):
    """What a payee is told about their payout (docs/payouts.md documents this contract)."""

    batch_code: str
    case_number: str
    amount: str
    status: str
    paid_at: str | None
    failure_reason_zh: str | None
    failure_reason_en: str | None
    next_step_zh: str
    next_step_en: str
    account_last4: str
    failure_note: str | None  # the bank's own words, as written (None when it gave none)
    court_zh: str
    court_en: str
    court_phone: str


def _next_steps(status: str, failure_code: str | None, expected_by: dt.date | None, court_zh: str, court_en: str,
                phone: str, last4: str) -> tuple[str, str]:
    contact_zh = f"联系方式:{court_zh}执行局,电话 {phone}。"
    contact_en = f"Contact: {court_en}, enforcement bureau, phone {phone}."
    if status == PayeeStatus.paid.value:
        return (f"案款已转入尾号 {last4} 的账户,无需办理其他手续。如 3 个工作日内仍未到账,请先向开户银行查询,再联系法院。{contact_zh}",
                f"The money was sent to your account ending {last4}; nothing else is needed. If it has not arrived "
                f"within 3 working days, ask your bank first, then the court. {contact_en}")
    if status == PayeeStatus.failed.value:
        reason = failure_catalogue().get(failure_code)
        return f"{reason.next_zh}{contact_zh}", f"{reason.next_en} {contact_en}"
    if expected_by is not None:
        when_zh = f"预计在 {expected_by.year}年{expected_by.month}月{expected_by.day}日前发放"
        when_en = f"It is expected to be paid by {expected_by.strftime('%d %b %Y')}"
        return (f"案款正在发放中,{when_zh}(以银行实际入账为准),将转入尾号 {last4} 的账户,您无需办理任何手续。{contact_zh}",
                f"The payout is being processed. {when_en} (the bank's booking is what counts), to your account "
                f"ending {last4}; you need not do anything. {contact_en}")
    return (f"案款正在发放中,将转入尾号 {last4} 的账户,您无需办理任何手续。{contact_zh}",
            f"The payout is being processed, to your account ending {last4}; you need not do anything. {contact_en}")


@dataclass
class PayoutChecker:
    """Throttled lookups: wrong answers counted per batch code and per client, the right one only checked.

    Limits per throttle window, in multiples of THROTTLE_FAILURES (5 by default): a client may
    fail 20 times across batches; a batch code takes 100 wrong answers from everyone together,
    plus 5 for every 1,000 payees it declares, since on payout day thousands of honest payees
    mistype (docs/payouts.md). A right answer never clears a counter: one payee's success must
    not wipe the count of someone guessing other payees' ID numbers.
    """

    throttle: Throttle
    CLIENT_FACTOR = 4
    BATCH_FACTOR = 20

    def limits(self, code: str, client_key: str, declared_count: int) -> dict[str, int]:
        per_batch = self.throttle.limit * (self.BATCH_FACTOR + declared_count // 1000)
        return {f"payout:batch:{code}": per_batch, f"payout:client:{client_key}": self.throttle.limit * self.CLIENT_FACTOR}

    async def verdict(self, found: bool, code: str, client_key: str, declared_count: int) -> None:
        limits = self.limits(code, client_key, declared_count)
        verdict = await (self.throttle.peek(limits) if found else self.throttle.hit(limits))
        if verdict.refused:
            raise Throttled(verdict.retry_after)


async def lookup_payout(engine: AsyncEngine, throttle: Throttle, *, secret: str, batch_code: str, id_number: str,
                        client_key: str) -> PayoutAnswer:
    """The payee's own payout, or PayoutNotFound (the same whether the batch exists or not); Throttled."""
    code = normalise_batch_code(batch_code)
    if not BATCH_CODE.match(code):
        raise BatchCodeInvalid()
    number = idnumbers.parse_id_number(id_number)  # IdNumberInvalid: a typo, said before anything is counted
    digest = idnumbers.id_hash(idnumbers.id_key(secret), number)
    # One statement whether or not the batch exists (left join): the answer takes the same path.
    stmt = (select(PayoutBatch.code, PayoutBatch.declared_count, PayoutBatch.expected_by, EnforcementCase.case_number,
                   EnforcementCase.court_code, Payee.amount, Payee.status, Payee.paid_at, Payee.failure_code,
                   Payee.failure_note, Payee.account_last4)
            .join(EnforcementCase, EnforcementCase.id == PayoutBatch.case_id)
            .outerjoin(Payee, (Payee.batch_id == PayoutBatch.id) & (Payee.id_hash == digest))
            .where(PayoutBatch.code == code))
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).first()
    found = row is not None and row.status is not None
    await PayoutChecker(throttle).verdict(found, code, client_key, row.declared_count if row is not None else 0)
    if not found or row is None:
        raise PayoutNotFound()
    court = catalogue().courts.get(row.court_code)
    court_zh = court.name_zh if court else row.court_code
    court_en = court.name_en if court else row.court_code
    phone = court.phone if court else "12368"
    reason = failure_catalogue().get(row.failure_code) if row.status == PayeeStatus.failed.value else None
    next_zh, next_en = _next_steps(row.status, row.failure_code, row.expected_by, court_zh, court_en, phone,
                                   row.account_last4)
    return PayoutAnswer(
        batch_code=row.code, case_number=row.case_number, amount=f"{row.amount:.2f}", status=row.status,
        paid_at=row.paid_at.isoformat() if row.paid_at else None,
        failure_reason_zh=reason.reason_zh if reason else None, failure_reason_en=reason.reason_en if reason else None,
        next_step_zh=next_zh, next_step_en=next_en, account_last4=row.account_last4,
        failure_note=row.failure_note if reason else None, court_zh=court_zh, court_en=court_en, court_phone=phone)


def answer_dict(answer: PayoutAnswer) -> dict[str, Any]:
    return msgspec.to_builtins(answer)  # type: ignore[no-any-return]


__all__ = ["BatchCodeInvalid", "BatchInvalid", "BatchNotFound", "PayoutAnswer", "PayoutChecker", "PayoutError",
           "PayoutNotFound", "Tally", "batch_for_staff", "batches_for", "close_batch", "create_batch",
           "failed_payees", "lookup_payout", "progress", "staff_courts"]
