"""Reading payout files, the report's text, bank-row reconciliation and the demo generator (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cases import idnumbers
from cases.payouts_bank import BankRow, PayeeState, parse_time, reconcile
from cases.payouts_demo import DEMO_FAILED, DEMO_PAID, demo_id, generate
from cases.payouts_files import PayoutFileError, Table, UnreadableEncoding, WrongColumns, decode, read_table
from cases.payouts_import import PAYEE_COLUMNS, check_rows, parse_amount
from cases.payouts_report import Problem, pack, report_csv, unpack


def test_utf8_bom_and_gbk_are_told_apart() -> None:
    text = "姓名,金额\n张三,1\n"
    assert decode(text.encode("utf-8")) == (text, "UTF-8")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "UTF-8 (BOM)")
    assert decode(text.encode("gbk")) == (text, "GBK")


def test_latin1_text_is_not_taken_for_gbk() -> None:
    # "é" followed by "s" is a valid GBK pair: decoding alone would turn it into a Chinese character.
    with pytest.raises(UnreadableEncoding) as refused:
        decode("name\nJosé Müller Désiré Lefèvre Gaël Noël\n".encode("latin-1"))
    assert "neither UTF-8 nor GBK" in refused.value.message_en and refused.value.details["line"] == 2


def test_a_broken_utf8_file_with_a_bom_names_the_line() -> None:
    with pytest.raises(UnreadableEncoding) as refused:
        decode(b"\xef\xbb\xbfname\nok\n\xff\xfe broken\n")
    assert refused.value.details["line"] == 3


def test_old_excel_files_are_refused_by_their_bytes_not_their_name() -> None:
    with pytest.raises(PayoutFileError) as refused:
        read_table(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "payees.csv", PAYEE_COLUMNS)
    assert ".xls" in refused.value.message_en


def test_headings_are_matched_loosely_and_extra_columns_are_named() -> None:
    data = "序号, 收款人姓名 ,身份证号码,银行卡号,金额（元）\n1,张三,x,1,2\n".encode()
    table = read_table(data, "a.csv", PAYEE_COLUMNS)
    assert table.columns == ["name", "id_number", "account", "amount"]
    assert table.ignored_headings == ["序号"]
    assert table.rows == [(2, {"name": "张三", "id_number": "x", "account": "1", "amount": "2"})]


def test_semicolon_and_tab_separated_files_are_read() -> None:
    for sep in (";", "\t"):
        table = read_table(sep.join(["姓名", "身份证号", "银行账号", "金额"]).encode() + b"\n" +
                           sep.join(["李四", "1", "2", "3"]).encode() + b"\n", "a.csv", PAYEE_COLUMNS)
        assert table.rows[0][1]["name"] == "李四"


def test_missing_columns_are_named_with_those_found() -> None:
    with pytest.raises(WrongColumns) as refused:
        read_table("姓名,电话\n张三,1\n".encode(), "a.csv", PAYEE_COLUMNS)
    assert refused.value.details["missing"] == ["id_number", "account", "amount"]
    assert refused.value.details["found"] == ["姓名", "电话"]


def test_empty_rows_inside_the_data_are_reported_and_trailing_ones_are_not() -> None:
    table = read_table("姓名,身份证号,银行账号,金额\nA,1,2,3\n,,,\nB,1,2,3\n,,,\n\n".encode(), "a.csv", PAYEE_COLUMNS)
    assert table.empty_rows == [3]
    assert [n for n, _ in table.rows] == [2, 4]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "amount_missing"), ("abc", "amount_not_number"), ("1,000", "amount_not_number"), ("¥5", "amount_not_number"),
    ("0", "amount_not_positive"), ("-3.00", "amount_not_positive"), ("1.234", "amount_decimals"),
    ("1e3", "amount_not_number"), ("200000000", "amount_too_large"), ("12.500", None), ("7", None)])
def test_amounts(text: str, problem: str | None) -> None:
    amount, found = parse_amount(text)
    assert found == problem
    assert (amount is None) == (problem is not None)


def test_an_account_used_twice_is_reported_against_the_first_row() -> None:
    a, b = demo_id("33010619850315123"), demo_id("33010619900101456")
    table = Table("csv", "UTF-8", ["name", "id_number", "account", "amount"], [
        (2, {"name": "甲", "id_number": a, "account": "6222 0202 0000 1234", "amount": "1"}),
        (3, {"name": "乙", "id_number": b, "account": "6222020200001234", "amount": "1"})])
    checked = check_rows(table, 2, Decimal("2"))
    assert [(p.row, p.code, p.params) for p in checked.problems] == [(3, "duplicate_account", {"other": 2})]
    assert not checked.accepted


def test_the_report_is_excel_friendly_and_defuses_formulas() -> None:
    problems = [Problem(2, "name", "name_too_long", "=HYPERLINK(\"x\")"), Problem(0, "", "count_mismatch", "",
                                                                               {"found": 3, "declared": 4})]
    assert unpack(pack(problems)) == problems
    body = report_csv(problems, ["summary"]).decode("utf-8")
    assert body.startswith("\ufeff")
    assert "'=HYPERLINK" in body and "文件中有 3 名收款人,但批次登记为 4 名。" in body  # the reader's language: zh here


def test_bank_times_are_local_time() -> None:
    assert parse_time("2026-11-30 14:05") == dt.datetime(2026, 11, 30, 6, 5, tzinfo=dt.UTC)
    assert parse_time("20261130140500") == dt.datetime(2026, 11, 30, 6, 5, tzinfo=dt.UTC)
    assert parse_time("yesterday") is None


def _row(n: int, result: str, account: str = "h1", reason: str = "") -> BankRow:
    return BankRow(row=n, batch_code="PF2026AAAAAA", account_hash=account, account_ok=True, name="", amount=Decimal("10.00"),
                   amount_problem=None, raw_amount="10.00", result=result, raw_result=result, reason=reason,
                   paid_at=None, paid_at_problem=False, raw_paid_at="")


def _table() -> Table:
    return Table("csv", "UTF-8", [], [])


def test_a_failed_payee_can_be_paid_later_but_a_paid_one_cannot_fail() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    failed = {"h1": PayeeState(1, "甲", Decimal("10.00"), "failed")}
    out = reconcile(_table(), [_row(2, "paid")], "PF2026AAAAAA", failed, now)
    assert out.accepted and [(c.before, c.after, c.paid_at) for c in out.changes] == [("failed", "paid", now)]
    paid = {"h1": PayeeState(1, "甲", Decimal("10.00"), "paid")}
    refused = reconcile(_table(), [_row(2, "failed")], "PF2026AAAAAA", paid, now)
    assert not refused.accepted and refused.problems[0].code == "bank_already_paid"


def test_a_bank_reason_is_matched_to_the_catalogue_and_kept_as_written() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    pending = {"h1": PayeeState(1, "甲", Decimal("10.00"), "pending")}
    out = reconcile(_table(), [_row(2, "failed", reason="该账户已冻结(司法)")], "PF2026AAAAAA", pending, now)
    assert [(c.failure_code, c.failure_note) for c in out.changes] == [("account_frozen", "该账户已冻结(司法)")]
    odd = reconcile(_table(), [_row(2, "failed", reason="系统繁忙")], "PF2026AAAAAA", pending, now)
    assert odd.changes[0].failure_code == "other"


def test_the_demo_payees_are_the_same_every_run_with_valid_unique_ids() -> None:
    first, second = generate(500), generate(500)
    assert first == second
    assert all(idnumbers.is_valid_id_number(p[1]) for p in first)
    assert len({p[1] for p in first}) == len({p[2] for p in first}) == 500
    assert first[0][:2] == (DEMO_PAID[0], "330106198503151238") and first[1][1] == "330108199207082466"
    assert first[1][0] == DEMO_FAILED[0]


def test_an_id_number_shown_in_scientific_notation_is_explained() -> None:
    table = Table("csv", "UTF-8", ["name", "id_number", "account", "amount"], [
        (2, {"name": "甲", "id_number": "3.30106E+17", "account": "6.22202E+18", "amount": "1"})])
    checked = check_rows(table, 1, Decimal("1"))
    assert [(p.column, p.code) for p in checked.problems] == [("id_number", "excel_number"), ("account", "excel_number")]
