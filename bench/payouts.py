"""Mass payout import on PostgreSQL (issue 10): a 170,000-payee CSV, file to committed rows with the report.

    python -m bench.payouts                 # 170,000 payees
    python -m bench.payouts --payees 20000  # a quick look
    python -m bench --only-payouts           # the same from the bench runner

In a database it creates (migrated by the portal's own Alembic migrations) and drops:

1. a case and a batch declaring the generated file's count and total;
2. the file: ``cases.payouts_demo.generate`` (deterministic names, valid ID numbers, accounts,
   amounts) written as UTF-8 CSV; generation time printed apart;
3. **import**: ``cases.payouts_import.import_payees`` on the bytes, as the staff form calls it
   (decode, read, check every row, hash ID numbers and accounts, COPY, audit row, report,
   commit); timed from the bytes to the commit, then the committed rows are counted;
4. **refused import** of the same file with 100 bad rows in a second batch: the time to the
   report (nothing loaded);
5. **bank results**: a result file marking every payee paid (one row each), reconciled and
   applied with an audit row per payee (COPY into a temporary table, two set-based statements).

Wall time and this process's CPU time for each step; the machine's load average before.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal
from typing import Any

from bench import support


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _csv(payees: list[tuple[str, str, str, Decimal]]) -> bytes:
    lines = ["姓名,身份证号,银行账号,金额"] + [f"{n},{i},{a},{m}" for n, i, a, m in payees]
    return ("\n".join(lines) + "\n").encode("utf-8")


async def _run(db_url: str, payees_n: int) -> dict[str, Any]:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from accounts.principal import Principal
    from cases.models import EnforcementCase
    from cases.payouts import Payee, PayoutBatch
    from cases.payouts_bank import record_bank_results
    from cases.payouts_demo import generate
    from cases.payouts_import import import_payees
    from storage.audit import AuditEntry
    from storage.db import normalise_database_url

    secret = "bench-secret-" + "k" * 40
    result: dict[str, Any] = {"payees": payees_n, "load_before": os.getloadavg(), "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    payees = generate(payees_n, seed=170)
    content = _csv(payees)
    result["generate_s"] = round(time.perf_counter() - t0, 2)
    result["file_mb"] = round(len(content) / 1024 / 1024, 2)
    total = sum((p[3] for p in payees), Decimal("0"))

    engine = create_async_engine(normalise_database_url(db_url))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    actor = Principal(0, "admin", "bench")
    async with sessions() as session:
        case = EnforcementCase(case_number="(2023)浙01执1700号", year=2023, court_code="浙01", case_type="执",
                               serial=1700, filed_on=dt.date(2023, 4, 10), source_id="bench")
        session.add(case)
        await session.flush()
        good = PayoutBatch(code="PFBENCH00001", case_id=case.id, title="bench", declared_count=payees_n,
                           declared_total=total, state="open", version=1)
        bad = PayoutBatch(code="PFBENCH00002", case_id=case.id, title="bench refused", declared_count=payees_n,
                          declared_total=total, state="open", version=1)
        session.add_all([good, bad])
        await session.commit()

    async with sessions() as session:
        batch = await session.get(PayoutBatch, good.id)
        assert batch is not None
        w0, c0 = time.perf_counter(), _cpu()
        report = await import_payees(session, batch, actor, data=content, filename="payees.csv", secret=secret)
        result["import_s"] = round(time.perf_counter() - w0, 2)
        result["import_cpu_s"] = round(_cpu() - c0, 2)
        result["import_accepted"] = report.accepted
    async with sessions() as session:
        result["committed_rows"] = await session.scalar(select(func.count()).select_from(Payee)
                                                        .where(Payee.batch_id == good.id))

    broken = content.decode().splitlines()
    for i in range(1, payees_n, max(1, payees_n // 100)):  # 100 rows with a negative amount
        name, id_number, account, amount = broken[i].split(",")
        broken[i] = f"{name},{id_number},{account},-{amount}"
    async with sessions() as session:
        batch = await session.get(PayoutBatch, bad.id)
        assert batch is not None
        w0 = time.perf_counter()
        refused = await import_payees(session, batch, actor, data=("\n".join(broken) + "\n").encode(),
                                      filename="payees-bad.csv", secret=secret)
        result["refused_s"] = round(time.perf_counter() - w0, 2)
        result["refused_problems"] = refused.problem_count

    bank = ["批次号,账号,户名,金额,结果,失败原因,交易时间"] + [
        f"PFBENCH00001,{a},{n},{m},成功,,2026-11-30 10:00:00" for n, _i, a, m in payees]
    async with sessions() as session:
        batch = await session.get(PayoutBatch, good.id)
        assert batch is not None
        w0, c0 = time.perf_counter(), _cpu()
        applied = await record_bank_results(session, batch, actor, data=("\n".join(bank) + "\n").encode(),
                                            filename="bank.csv", secret=secret)
        result["bank_s"] = round(time.perf_counter() - w0, 2)
        result["bank_cpu_s"] = round(_cpu() - c0, 2)
        result["bank_accepted"] = applied.accepted
    async with sessions() as session:
        result["paid_rows"] = await session.scalar(select(func.count()).select_from(Payee)
                                                   .where(Payee.batch_id == good.id, Payee.status == "paid"))
        result["audit_rows"] = await session.scalar(select(func.count()).select_from(AuditEntry)
                                                    .where(AuditEntry.subject_type == "payout_payee"))
    await engine.dispose()
    return result


def run_payouts_bench(pg_url: str, payees: int = 170_000, keep: bool = False) -> dict[str, Any]:
    from portal.cli import migrate
    from portal.settings import Settings

    db_url = asyncio.run(support.create_database(pg_url, "bench_payouts"))
    try:
        print(f"· payouts: migrating {db_url.rsplit('/', 1)[1]} …", flush=True)
        migrate(Settings.from_env({"DATABASE_URL": db_url, "PORTAL_ENV": "test",
                                   "PORTAL_SECRET": "bench-secret-" + "k" * 40}))
        print(f"· payouts: {payees:,} payees: generate, import, refused import, bank results …", flush=True)
        return asyncio.run(_run(db_url, payees))
    finally:
        if keep:
            print(f"· kept {db_url}")
        else:
            asyncio.run(support.drop_database(db_url))


def markdown(r: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in r["load_before"])
    return "\n".join([
        "| step | payees | wall s | CPU s (this process) | outcome |",
        "|---|---:|---:|---:|---|",
        f"| generate the CSV ({r['file_mb']} MB) | {r['payees']:,} | {r['generate_s']} | – | – |",
        f"| **import: file → committed rows + report** | {r['payees']:,} | **{r['import_s']}** | {r['import_cpu_s']} | "
        f"accepted={r['import_accepted']}, {r['committed_rows']:,} rows committed |",
        f"| refused import (100 bad rows) → report | {r['payees']:,} | {r['refused_s']} | – | "
        f"{r['refused_problems']} problems, nothing loaded |",
        f"| bank results (all paid) → applied + audit | {r['payees']:,} | {r['bank_s']} | {r['bank_cpu_s']} | "
        f"accepted={r['bank_accepted']}, {r['paid_rows']:,} paid, {r['audit_rows']:,} audit rows |",
        "",
        f"Load average before (1/5/15 min): {load} on {r['cpus']} CPUs. Aim: import under 30 s (stretch 10 s).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payouts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payees", type=int, default=170_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    result = run_payouts_bench(support.server_url(), payees=args.payees, keep=args.keep)
    print(markdown(result))
    ok = result["import_accepted"] and result["committed_rows"] == args.payees and result["bank_accepted"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
