"""Mass payouts: import (row checks, encodings, totals, all or nothing), bank results, lookup, staff pages.

Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (COPY path).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from cases import idnumbers
from cases.models import CourtStaff, EnforcementCase
from cases.payouts import Payee, PayoutBatch
from cases.payouts_files import MAX_FILE_BYTES
from storage.audit import AuditEntry
from tests.conftest import Factory, csrf, login

CASE_NUMBER = "(2024)浙01执100号"


def valid_id(first17: str) -> str:
    return first17 + idnumbers.check_digit(first17)


def person(i: int) -> tuple[str, str, str, str]:
    """Name, a valid ID number, an account and an amount for payee number i."""
    return (f"测试{i}", valid_id(f"330106198{i % 10}0101{i:03d}"[:17]), f"62220202{i:011d}", f"{100 + i}.50")


def payee_csv(rows: list[tuple[str, str, str, str]], header: str = "姓名,身份证号,银行账号,金额") -> str:
    return header + "\n" + "".join(",".join(r) + "\n" for r in rows)


def total_of(rows: list[tuple[str, str, str, str]]) -> str:
    return f"{sum(Decimal(r[3]) for r in rows):.2f}"


async def _court_staff(factory: Factory, session: AsyncSession, court: str = "浙01") -> Any:
    user = await factory.user("staff", "court")
    session.add(CourtStaff(user_id=user.id, court_code=court))
    await session.commit()
    return user


async def _case(session: AsyncSession, number: str = CASE_NUMBER, court: str = "浙01") -> EnforcementCase:
    serial = int(number.split("执")[1].rstrip("号"))
    case = EnforcementCase(case_number=number, year=2024, court_code=court, case_type="执", serial=serial,
                           filed_on=dt.date(2024, 3, 1), source_id=f"src-{number}")
    session.add(case)
    await session.commit()
    return case


async def _batch(client: AsyncTestClient[Litestar], count: int, total: str, number: str = CASE_NUMBER) -> str:
    resp = await client.post("/staff/payouts", data={
        "case_number": number, "title": "第一批案款发放", "declared_count": str(count), "declared_total": total,
        "_csrf_token": csrf(client)}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return resp.headers["location"].rsplit("/", 1)[1]


async def _upload(client: AsyncTestClient[Litestar], code: str, what: str, content: bytes,
                  name: str = "payees.csv") -> Any:
    await client.get(f"/staff/payouts/{code}")
    return await client.post(f"/staff/payouts/{code}/{what}", files={"file": (name, content, "text/csv")},
                             data={"_csrf_token": csrf(client)}, follow_redirects=False)


@pytest.fixture
async def staff(client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession) -> Any:
    user = await _court_staff(factory, session)
    await _case(session)
    await login(client, user.email)
    return user


async def _payee_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Payee)) or 0)


async def _report_text(client: AsyncTestClient[Litestar], location: str) -> str:
    code, report = location.split("/staff/payouts/")[1].split("?report=")
    resp = await client.get(f"/staff/payouts/{code}/reports/{report}?lang=en")
    assert resp.status_code == 200
    assert resp.content.startswith("\ufeff".encode())
    return resp.content.decode("utf-8-sig")


# --- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
async def test_a_good_list_is_imported_whole_in_any_of_the_three_encodings(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession, encoding: str) -> None:
    rows = [person(i) for i in range(1, 6)]
    code = await _batch(client, 5, total_of(rows))
    resp = await _upload(client, code, "import", payee_csv(rows).encode(encoding))
    assert resp.status_code == 303
    assert await _payee_count(session) == 5
    batch = await session.scalar(select(PayoutBatch).where(PayoutBatch.code == code))
    assert batch is not None and batch.state == "paying"
    stored = await session.scalar(select(Payee).where(Payee.row_no == 2))
    assert stored is not None and stored.name == "测试1" and stored.id_last4 == rows[0][1][-4:]
    assert rows[0][1] not in str(stored.id_hash) and stored.account_last4 == rows[0][2][-4:]
    page = (await client.get(resp.headers["location"])).text
    expected = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gbk": "GBK"}[encoding]
    assert "payees.csv" in page
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "payees_imported"))
    assert audit is not None and audit.after is not None and audit.after["encoding"] == expected


async def test_every_bad_row_is_reported_and_nothing_is_imported(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    good = [person(i) for i in range(1, 4)]
    bad_id = good[0][1][:17] + ("0" if good[0][1][17] != "0" else "1")
    rows = good + [
        ("王五", bad_id, "6222020200000000099", "10.00"),  # row 5: check digit
        ("", person(7)[1], person(7)[2], "10.00"),  # row 6: no name
        ("赵六", person(8)[1], person(8)[2], "-5"),  # row 7: negative
        ("钱七", person(9)[1], person(9)[2], "abc"),  # row 8: not a number
        ("孙八", person(10)[1], person(10)[2], "1.234"),  # row 9: three decimals
        ("周九", good[1][1], person(11)[2], "10.00"),  # row 10: same ID as row 3
        good[2],  # row 11: the same row as row 4
    ]
    code = await _batch(client, len(rows), "1000.00")
    resp = await _upload(client, code, "import", payee_csv(rows).encode())
    assert resp.status_code == 303
    assert await _payee_count(session) == 0
    batch = await session.scalar(select(PayoutBatch).where(PayoutBatch.code == code))
    assert batch is not None and batch.state == "open"
    report = await _report_text(client, resp.headers["location"])
    lines = report.splitlines()
    assert any(line.startswith("5,王五,ID number,") and "check digit" in line for line in lines)
    assert any(line.startswith("6,,Name,") for line in lines)
    assert any(line.startswith("7,赵六,Amount,") and "more than 0" in line for line in lines)
    assert any(line.startswith("8,钱七,Amount,") and "not a number" in line for line in lines)
    assert any(line.startswith("9,孙八,Amount,") and "2 decimal" in line for line in lines)
    assert any(line.startswith("10,周九,ID number,") and "row 3" in line for line in lines)
    assert any(line.startswith("11,") and "same row as row 4" in line for line in lines)
    assert any("but the batch declares a total of 1000.00" in line for line in lines)
    assert "Refused" in report


async def test_totals_that_do_not_match_the_batch_refuse_the_whole_file(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    rows = [person(i) for i in range(1, 4)]
    code = await _batch(client, 4, total_of(rows))
    resp = await _upload(client, code, "import", payee_csv(rows).encode())
    report = await _report_text(client, resp.headers["location"])
    assert "The file has 3 payees, but the batch declares 4." in report
    assert await _payee_count(session) == 0


async def test_an_undecodable_file_is_refused_with_what_to_do(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code = await _batch(client, 1, "100.00")
    content = "姓名,身份证号,银行账号,金额\nJosé Müller,x,1,1\n".encode("latin-1", errors="replace")
    content = b"name,id_number,account,amount\nJos\xe9 M\xfcller,1,2,3\n"
    resp = await _upload(client, code, "import", content)
    assert resp.status_code == 400
    assert "无法识别文件的编码" in resp.text
    assert await _payee_count(session) == 0


async def test_a_utf16_file_is_refused_naming_the_format_to_save_in(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    code = await _batch(client, 1, "100.00")
    resp = await _upload(client, code, "import", payee_csv([person(1)]).encode("utf-16"))
    assert resp.status_code == 400
    assert "UTF-16" in resp.text


async def test_an_oversized_file_is_refused_with_the_limit(client: AsyncTestClient[Litestar], staff: Any) -> None:
    code = await _batch(client, 1, "100.00")
    resp = await _upload(client, code, "import", b"a" * (MAX_FILE_BYTES + 10))
    assert resp.status_code == 413
    assert f"{MAX_FILE_BYTES // (1024 * 1024)} MB" in resp.text


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_xlsx_list_is_imported(client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    rows = [person(i) for i in range(1, 4)]
    code = await _batch(client, 3, total_of(rows))
    content = _xlsx([["Name", "ID number", "Bank account", "Amount"]]
                    + [[n, i, a, float(m)] for n, i, a, m in rows])
    resp = await _upload(client, code, "import", content, "payees.xlsx")
    assert resp.status_code == 303
    assert await _payee_count(session) == 3


async def test_an_xlsx_with_the_wrong_columns_says_which_are_missing(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code = await _batch(client, 1, "100.00")
    content = _xlsx([["姓名", "电话", "金额"], ["张三", "13800000000", 100]])
    resp = await _upload(client, code, "import", content, "payees.xlsx")
    assert resp.status_code == 400
    assert "缺少列:身份证号、银行账号" in resp.text
    assert await _payee_count(session) == 0


async def test_a_batch_is_imported_once(client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    rows = [person(i) for i in range(1, 3)]
    code = await _batch(client, 2, total_of(rows))
    assert (await _upload(client, code, "import", payee_csv(rows).encode())).status_code == 303
    again = await _upload(client, code, "import", payee_csv(rows).encode())
    assert again.status_code == 409
    assert await _payee_count(session) == 2


# --- bank results --------------------------------------------------------------------------------


async def _imported(client: AsyncTestClient[Litestar], n: int = 4) -> tuple[str, list[tuple[str, str, str, str]]]:
    rows = [person(i) for i in range(1, n + 1)]
    code = await _batch(client, n, total_of(rows))
    assert (await _upload(client, code, "import", payee_csv(rows).encode())).status_code == 303
    return code, rows


def bank_csv(lines: list[tuple[str, ...]]) -> bytes:
    return ("批次号,账号,户名,金额,结果,失败原因,交易时间\n" + "".join(",".join(x) + "\n" for x in lines)).encode()


async def test_bank_results_mark_payees_paid_and_failed_with_an_audit_row_each(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code, rows = await _imported(client)
    resp = await _upload(client, code, "results", bank_csv([
        (code, rows[0][2], rows[0][0], rows[0][3], "成功", "", "2026-11-30 10:05:00"),
        (code, rows[1][2], rows[1][0], rows[1][3], "失败", "账户已销户", ""),
    ]), "bank.csv")
    assert resp.status_code == 303
    statuses = dict((await session.execute(select(Payee.row_no, Payee.status))).all())
    assert statuses == {2: "paid", 3: "failed", 4: "pending", 5: "pending"}
    failed = await session.scalar(select(Payee).where(Payee.row_no == 3))
    assert failed is not None and failed.failure_code == "account_closed" and failed.failure_note == "账户已销户"
    audits = (await session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "payout_payee"))).all()
    assert sorted(a.action for a in audits) == ["payout_failed", "payout_paid"]
    page = (await client.get(f"/staff/payouts/{code}")).text
    assert "<svg" in page and 'id="progress-table"' in page and "测试2" in page


async def test_a_bank_file_with_unknown_rows_mismatches_and_duplicates_changes_nothing(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code, rows = await _imported(client)
    resp = await _upload(client, code, "results", bank_csv([
        (code, rows[0][2], rows[0][0], rows[0][3], "成功", "", ""),  # row 2: fine on its own
        (code, "6222020299999999999", "无名", "1.00", "成功", "", ""),  # row 3: unknown account
        (code, rows[1][2], rows[1][0], "999.99", "成功", "", ""),  # row 4: amount differs
        (code, rows[0][2], rows[0][0], rows[0][3], "成功", "", ""),  # row 5: duplicate of row 2
    ]), "bank.csv")
    assert resp.status_code == 303
    report = await _report_text(client, resp.headers["location"])
    assert "3,无名,Bank account,No payee of this batch has this bank account." in report
    assert "differs from the payee's amount" in report and "row 2 of this file" in report
    paid = await session.scalar(select(func.count()).select_from(Payee).where(Payee.status != "pending"))
    assert paid == 0


async def test_a_bank_file_for_another_batch_is_refused(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code, rows = await _imported(client)
    resp = await _upload(client, code, "results", bank_csv([
        ("PF2026OTHER1", rows[0][2], rows[0][0], rows[0][3], "成功", "", "")]), "bank.csv")
    report = await _report_text(client, resp.headers["location"])
    assert "This row is for batch PF2026OTHER1, not this batch" in report
    assert await session.scalar(select(func.count()).select_from(Payee).where(Payee.status == "paid")) == 0


async def test_the_same_bank_file_twice_changes_nothing_the_second_time(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code, rows = await _imported(client)
    content = bank_csv([(code, rows[0][2], rows[0][0], rows[0][3], "成功", "", "")])
    await _upload(client, code, "results", content, "bank.csv")
    second = await _upload(client, code, "results", content, "bank.csv")
    assert second.status_code == 303
    audits = await session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "payout_paid"))
    assert audits == 1


# --- the payee's lookup --------------------------------------------------------------------------


async def test_a_payee_sees_their_own_payout_through_the_api(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, rows = await _imported(client)
    await _upload(client, code, "results", bank_csv([
        (code, rows[1][2], rows[1][0], rows[1][3], "失败", "户名不符", "")]), "bank.csv")
    resp = await client.post("/api/v1/payouts/lookup", json={"batch_code": code.lower(), "id_number": rows[1][1]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["case_number"] == CASE_NUMBER and body["amount"] == rows[1][3] and body["status"] == "failed"
    assert body["failure_reason_en"].startswith("The account holder's name") and "0571-12368" in body["next_step_zh"]
    assert body["account_last4"] == rows[1][2][-4:]
    pending = (await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": rows[0][1]})).json()
    assert pending["status"] == "pending" and pending["failure_reason_zh"] is None


async def test_a_wrong_id_looks_the_same_whether_the_batch_exists_or_not(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, _rows = await _imported(client)
    stranger = valid_id("11010119700101999")
    real = await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": stranger})
    fake = await client.post("/api/v1/payouts/lookup", json={"batch_code": "PF2099ZZZZZZ", "id_number": stranger})
    assert real.status_code == fake.status_code == 404
    assert real.json()["message_en"] == fake.json()["message_en"] and real.json()["code"] == "payout_not_found"


async def test_a_bad_check_digit_is_explained_and_not_counted(client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, rows = await _imported(client)
    wrong = rows[0][1][:17] + ("0" if rows[0][1][17] != "0" else "1")
    for _ in range(25):
        resp = await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": wrong})
        assert resp.status_code == 422
    assert "check digit" in resp.json()["message_en"]
    ok = await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": rows[0][1]})
    assert ok.status_code == 200


async def test_repeated_misses_are_throttled_per_client_even_for_the_right_answer(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, rows = await _imported(client)
    answers = []
    for i in range(21):  # 20 misses per client per window (THROTTLE_FAILURES=5 × 4)
        resp = await client.post("/api/v1/payouts/lookup",
                                 json={"batch_code": code, "id_number": valid_id(f"11010119700101{i:03d}")})
        answers.append(resp.status_code)
    assert answers[:20] == [404] * 20 and answers[20] == 429
    right = await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": rows[0][1]})
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


async def test_a_wrong_service_token_is_refused(client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, rows = await _imported(client)
    resp = await client.post("/api/v1/payouts/lookup", json={"batch_code": code, "id_number": rows[0][1]},
                             headers={"Authorization": "Bearer not-the-token"})
    assert resp.status_code == 401


async def test_the_lookup_page_works_as_a_plain_form(client: AsyncTestClient[Litestar], staff: Any) -> None:
    code, rows = await _imported(client)
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    page = await client.get("/payouts")
    assert page.status_code == 200 and 'name="batch_code"' in page.text
    resp = await client.post("/payouts", data={"batch_code": code, "id_number": rows[2][1],
                                               "_csrf_token": csrf(client)})
    assert resp.status_code == 200
    assert 'id="payout-status"' in resp.text and "¥103.50" in resp.text
    miss = await client.post("/payouts?lang=en", data={"batch_code": code, "id_number": valid_id("11010119700101999"),
                                                       "_csrf_token": csrf(client)})
    assert miss.status_code == 404 and "No payout matches" in miss.text and code in miss.text


# --- staff access -------------------------------------------------------------------------------


async def test_staff_of_another_court_do_not_see_the_batch(
        client: AsyncTestClient[Litestar], staff: Any, factory: Factory, session: AsyncSession) -> None:
    code = await _batch(client, 1, "100.00")
    other = await _court_staff(factory, session, court="浙0681")
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    await login(client, other.email)
    assert (await client.get(f"/staff/payouts/{code}")).status_code == 404
    assert code not in (await client.get("/staff/payouts")).text


async def test_other_departments_cannot_open_payout_pages(
        client: AsyncTestClient[Litestar], factory: Factory) -> None:
    tax = await factory.user("staff", "tax")
    await login(client, tax.email)
    assert (await client.get("/staff/payouts")).status_code == 403


async def test_closing_a_batch_needs_the_confirmation(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    code, _rows = await _imported(client)
    confirm = await client.get(f"/staff/payouts/{code}/close")
    assert confirm.status_code == 200 and 'name="confirm" value="yes"' in confirm.text
    unconfirmed = await client.post(f"/staff/payouts/{code}/close", data={"_csrf_token": csrf(client)},
                                    follow_redirects=False)
    assert unconfirmed.headers["location"].endswith("/close")
    batch = await session.scalar(select(PayoutBatch).where(PayoutBatch.code == code))
    assert batch is not None and batch.state == "paying"
    done = await client.post(f"/staff/payouts/{code}/close", data={"confirm": "yes", "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert done.status_code == 303
    await session.refresh(batch)
    assert batch.state == "closed"


async def test_a_batch_for_a_case_number_that_is_malformed_says_what_is_wrong(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    resp = await client.post("/staff/payouts", data={"case_number": "2024浙01执1号", "title": "x",
                                                     "declared_count": "1", "declared_total": "1",
                                                     "_csrf_token": csrf(client)})
    assert resp.status_code == 422 and "案号格式有误" in resp.text and 'value="x"' in resp.text


def _principal(user: Any) -> Principal:
    return Principal(user.id, user.role, user.display_name, user.department)


async def test_the_demo_batch_seeds_once_and_its_documented_payees_see_their_payouts(
        client: AsyncTestClient[Litestar], session: AsyncSession, settings: Any) -> None:
    from cases.payouts_demo import DEMO_BATCH_CODE, seed_payout_demo

    assert await seed_payout_demo(session, settings.secret_key) == [f"payout batch {DEMO_BATCH_CODE} (3000 payees)"]
    await session.commit()
    assert await seed_payout_demo(session, settings.secret_key) == []
    await session.commit()
    assert await _payee_count(session) == 3000
    paid = await client.post("/api/v1/payouts/lookup",
                             json={"batch_code": DEMO_BATCH_CODE, "id_number": "330106198503151238"})
    assert paid.json()["status"] == "paid" and paid.json()["amount"] == "56800.00"
    failed = await client.post("/api/v1/payouts/lookup",
                               json={"batch_code": DEMO_BATCH_CODE, "id_number": "330108199207082466"})
    assert failed.json()["status"] == "failed" and failed.json()["failure_reason_zh"] == "账户户名与收款人姓名不一致。"


async def test_the_api_answers_refusals_in_the_language_asked_and_rejects_a_wrong_language(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    english = await client.post("/api/v1/payouts/lookup",
                                json={"batch_code": "x", "id_number": "1", "language": "en"})
    assert english.status_code == 422 and english.json()["message"].startswith("A batch code is")
    wrong = await client.post("/api/v1/payouts/lookup", json={"batch_code": "x", "id_number": "1", "language": [1]})
    assert wrong.status_code == 400


async def test_a_refused_file_is_audited_with_its_digest(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    rows = [person(i) for i in range(1, 3)]
    code = await _batch(client, 3, total_of(rows))
    await _upload(client, code, "import", payee_csv(rows).encode())
    audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "payees_import_refused"))
    assert audit is not None and audit.after is not None and audit.after["problems"] == 1
    assert len(audit.after["file_sha256"]) == 64


async def test_two_imports_at_once_load_one_list(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    import asyncio

    rows = [person(i) for i in range(1, 40)]
    code = await _batch(client, len(rows), total_of(rows))
    await client.get(f"/staff/payouts/{code}")
    content = payee_csv(rows).encode()
    answers = await asyncio.gather(*[
        client.post(f"/staff/payouts/{code}/import", files={"file": ("p.csv", content, "text/csv")},
                    data={"_csrf_token": csrf(client)}, follow_redirects=False) for _ in range(2)])
    assert sorted(a.status_code for a in answers) == [303, 409]
    assert await _payee_count(session) == len(rows)


async def test_a_body_past_the_upload_limit_is_refused_with_the_same_clear_message(
        client: AsyncTestClient[Litestar], staff: Any) -> None:
    code = await _batch(client, 1, "100.00")
    resp = await _upload(client, code, "import", b"a" * (MAX_FILE_BYTES + 2 * 1024 * 1024))
    assert resp.status_code == 413
    assert f"最多 {MAX_FILE_BYTES // (1024 * 1024)} MB" in resp.text


async def test_ids_and_accounts_typed_as_numbers_in_excel_are_reported_as_such(
        client: AsyncTestClient[Litestar], staff: Any, session: AsyncSession) -> None:
    rows = [person(i) for i in range(1, 3)]
    code = await _batch(client, 2, total_of(rows))
    content = _xlsx([["姓名", "身份证号", "银行账号", "金额"],
                     [rows[0][0], int(rows[0][1]), rows[0][2], float(rows[0][3])],  # the ID as a number
                     [rows[1][0], rows[1][1], int(rows[1][2]), float(rows[1][3])]])  # the account as a number
    resp = await _upload(client, code, "import", content, "payees.xlsx")
    report = await _report_text(client, resp.headers["location"])
    assert report.count("format the column as Text") == 2
    assert "2,测试1,ID number," in report and "3,测试2,Bank account," in report
    assert await _payee_count(session) == 0
