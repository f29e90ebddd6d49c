"""Demo data: a mass case's payout batch of a few thousand generated payees (deterministic).

The payees are generated from a fixed seed (names from common surnames and given-name
characters, ID numbers of Hangzhou districts with valid GB 11643 check digits, accounts,
amounts), about 86% paid, 3% failed with a bank's reason, the rest pending. Two payees are
fixed and listed in the README's demo table. Loaded with the same bulk path as an import
(COPY on PostgreSQL, executemany on SQLite): a few hundred milliseconds.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from cases import idnumbers
from cases.models import CourtStaff, EnforcementCase
from cases.payouts import BatchState, Payee, PayeeStatus, PayoutBatch, account_hash, account_key
from cases.payouts_import import LOAD_COLUMNS, load_payees

DEMO_BATCH_CODE = "PF2026HZ0001"
DEMO_CASE_NUMBER = "(2023)浙01执1700号"  # the mass case: Hangzhou intermediate court
DEMO_PAYEES = 3000
# The two payees the README lists (ID numbers generated for the demo; their check digits are valid).
DEMO_PAID = ("陈建华", "33010619850315123", "6222021202004567891", Decimal("56800.00"))
DEMO_FAILED = ("林晓燕", "33010819920708246", "6217001540012345678", Decimal("23450.50"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷龙史陶贺毛郝顾龚邵万钱严覃武戴莫孔汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉宁健飞鹏波斌宇浩凯俊峰琳燕晶雪梅丹婷倩颖欣怡雨佳嘉晨旭东海林春燕志国荣立新永"
DISTRICTS = ("330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330122", "330127")
BANK_PREFIXES = ("622202", "621700", "622848", "621226", "622588", "622700", "621483")
FAILURES = (("account_closed", "账户已销户"), ("name_mismatch", "户名不符"), ("account_frozen", "账户冻结"),
            ("account_invalid", "账号不存在"), ("account_dormant", "久悬户"))


def demo_id(first17: str) -> str:
    return first17 + idnumbers.check_digit(first17)


def generate(n: int, seed: int = 2026) -> list[tuple[str, str, str, Decimal]]:
    """``n`` payees: name, valid ID number, account, amount (the same every run)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    out = [(DEMO_PAID[0], demo_id(DEMO_PAID[1]), DEMO_PAID[2], DEMO_PAID[3]),
           (DEMO_FAILED[0], demo_id(DEMO_FAILED[1]), DEMO_FAILED[2], DEMO_FAILED[3])]
    seen_ids = {out[0][1], out[1][1]}
    seen_accounts = {out[0][2], out[1][2]}
    while len(out) < n:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 52))
        first17 = f"{rng.choice(DISTRICTS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        id_number = demo_id(first17)
        account = rng.choice(BANK_PREFIXES) + f"{rng.randrange(10**13):013d}"
        if id_number in seen_ids or account in seen_accounts:
            continue
        seen_ids.add(id_number)
        seen_accounts.add(account)
        amount = (Decimal(rng.randrange(200_000, 8_000_000)) / 100).quantize(Decimal("0.01"))
        out.append((name, id_number, account, amount))
    return out


async def _mass_case(session: AsyncSession) -> EnforcementCase:
    case = await session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == DEMO_CASE_NUMBER))
    if case is None:  # normally seeded by the cases demo; created here so the batch has its case either way
        case = EnforcementCase(case_number=DEMO_CASE_NUMBER, year=2023, court_code="浙01", case_type="执",
                               serial=1700, cause="非法吸收公众存款案涉案财产执行", filed_on=dt.date(2023, 4, 10),
                               amount_claimed=Decimal("1700000000.00"), source_system="demo",
                               source_id="demo-mass-1700")
        session.add(case)
        await session.flush()
    return case


async def seed_payout_demo(session: AsyncSession, secret: str, court_user_email: str = "court@demo.local") -> list[str]:
    """The demo batch, if missing; the demo court user works for the Hangzhou intermediate court."""
    created: list[str] = []
    user_id = await session.scalar(select(User.id).where(User.email == court_user_email))
    if user_id is not None and await session.scalar(select(CourtStaff.id).where(
            CourtStaff.user_id == user_id, CourtStaff.court_code == "浙01")) is None:
        session.add(CourtStaff(user_id=user_id, court_code="浙01"))
    if await session.scalar(select(PayoutBatch.id).where(PayoutBatch.code == DEMO_BATCH_CODE)) is not None:
        return created
    case = await _mass_case(session)
    payees = generate(DEMO_PAYEES)
    batch = PayoutBatch(code=DEMO_BATCH_CODE, case_id=case.id, title="第一批涉众案款发放", declared_count=len(payees),
                        declared_total=sum((p[3] for p in payees), Decimal("0")), state=BatchState.paying.value,
                        expected_by=dt.date(2026, 12, 4), created_by=user_id, version=1,
                        imported_at=dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC))
    session.add(batch)
    await session.flush()
    id_key, acc_key = idnumbers.id_key(secret), account_key(secret)
    records = [(batch.id, i + 2, name, idnumbers.id_hash(id_key, id_number), id_number[-4:],
                account_hash(acc_key, account), account[-4:], amount, PayeeStatus.pending.value)
               for i, (name, id_number, account, amount) in enumerate(payees)]
    assert tuple(LOAD_COLUMNS) == ("batch_id", "row_no", "name", "id_hash", "id_last4", "account_hash",
                                   "account_last4", "amount", "status")
    await load_payees(session, records)
    # Most were paid on the day, a few failed; the rest are still pending (set-based: fast to seed).
    rng = random.Random(7)  # noqa: S311 - demo data
    paid_at = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
    failed_rows = {3} | {r for r in range(4, len(payees) + 2) if rng.random() < 0.03}
    pending_rows = {r for r in range(4, len(payees) + 2) if r not in failed_rows and rng.random() < 0.11}
    await session.execute(update(Payee).where(Payee.batch_id == batch.id, Payee.row_no.not_in(failed_rows | pending_rows))
                          .values(status=PayeeStatus.paid.value, paid_at=paid_at))
    for i, (code, note) in enumerate(FAILURES):
        rows = [r for r in sorted(failed_rows - {3}) if r % len(FAILURES) == i] + ([3] if code == "name_mismatch" else [])
        await session.execute(update(Payee).where(Payee.batch_id == batch.id, Payee.row_no.in_(rows))
                              .values(status=PayeeStatus.failed.value, failure_code=code, failure_note=note))
    created.append(f"payout batch {DEMO_BATCH_CODE} ({len(payees)} payees)")
    return created


__all__ = ["DEMO_BATCH_CODE", "DEMO_FAILED", "DEMO_PAID", "demo_id", "generate", "seed_payout_demo"]
