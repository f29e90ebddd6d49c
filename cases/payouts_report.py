"""What a checked file was found to hold, row by row, and the CSV staff download to fix it.

A problem is kept as a code and its values (never as text), so the report reads in the
language of whoever downloads it. ID numbers and bank accounts never appear in a report:
the row number and the name find the row in the staff's own file.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kernel.i18n import _, current_lang


@dataclass(frozen=True)
class Problem:
    row: int  # the spreadsheet's row number (the headings are row 1); 0 for the file as a whole
    column: str  # a field name ("name", "id_number", …) or "" for the file/row
    code: str
    name: str = ""  # the row's name as written, to find it
    params: dict[str, Any] = field(default_factory=dict)

    def to_list(self) -> list[Any]:
        return [self.row, self.column, self.code, self.name, self.params]

    @classmethod
    def from_list(cls, item: list[Any]) -> Problem:
        return cls(int(item[0]), str(item[1]), str(item[2]), str(item[3]), dict(item[4] or {}))


def pack(problems: Iterable[Problem]) -> bytes:
    return zlib.compress(json.dumps([p.to_list() for p in problems], ensure_ascii=False,
                                    separators=(",", ":")).encode(), 6)


def unpack(blob: bytes) -> list[Problem]:
    return [Problem.from_list(item) for item in json.loads(zlib.decompress(blob))]


def column_label(column: str) -> str:
    labels = {
        "name": _("Name"),
        "id_number": _("ID number"),
        "account": _("Bank account"),
        "amount": _("Amount"),
        "batch_code": _("Batch code"),
        "result": _("Result"),
        "reason": _("Failure reason"),
        "paid_at": _("Time paid"),
    }
    return labels.get(column, column)


def message(problem: Problem) -> str:
    """What is wrong and what to do about it, in the current language."""
    p = problem.params
    if problem.code == "file":  # the file as a whole could not be read: the refusal's own two messages
        return str(p.get("zh" if current_lang.get() == "zh" else "en", ""))
    texts = {
        # payee list rows
        "name_missing": _("The name is empty: write the payee's name as on their ID card."),
        "name_too_long": _("The name is longer than 100 characters."),
        "id_empty": _("The ID number is empty: write the payee's 18-character ID number."),
        "id_length": _("The ID number must have 18 characters; this one has {length}."),
        "id_characters": _("The ID number must be 17 digits followed by a digit or X."),
        "id_birth_date": _("Characters 7–14 of the ID number are not a real date of birth."),
        "id_check_digit": _("The ID number's last character (check digit) does not match: "
                            "compare each digit with the ID card."),
        "excel_number": _("The cell holds a number, and spreadsheets keep only 15 digits of a number: format the "
                          "column as Text and type the ID number or account again."),
        "account_missing": _("The bank account is empty."),
        "account_malformed": _("The bank account must be 8 to 32 digits (spaces and dashes are allowed)."),
        "amount_missing": _("The amount is empty."),
        "amount_not_number": _("The amount “{value}” is not a number: write digits only, e.g. 1234.56 "
                               "(no currency sign, no thousands separator)."),
        "amount_not_positive": _("The amount must be more than 0 (it is {value})."),
        "amount_decimals": _("The amount {value} has more than 2 decimal places: round it to fen (0.01)."),
        "amount_too_large": _("The amount {value} is too large for one payee."),
        "duplicate_row": _("The same row as row {other}: remove one of them."),
        "duplicate_id": _("The same ID number as row {other}: each payee appears once; merge the rows."),
        "duplicate_account": _("The same bank account as row {other}: each payee needs an account of their own."),
        # the file as a whole
        "count_mismatch": _("The file has {found} payees, but the batch declares {declared}."),
        "total_mismatch": _("The amounts add up to {found}, but the batch declares a total of {declared}."),
        "empty_rows": _("{count} empty rows were skipped (rows {rows})."),
        "ignored_columns": _("These columns were not read: {columns}."),
        # bank result rows
        "bank_other_batch": _("This row is for batch {found}, not this batch ({expected})."),
        "bank_unknown": _("No payee of this batch has this bank account."),
        "bank_amount_mismatch": _("The amount {found} differs from the payee's amount {expected}."),
        "bank_name_mismatch": _("The account name “{found}” differs from the payee's name."),
        "bank_duplicate": _("The same bank account as row {other} of this file."),
        "bank_result_unknown": _("The result “{value}” is not understood: write 成功/success or 失败/failed."),
        "bank_already_paid": _("This payee was already recorded as paid; a later failure cannot undo it. "
                               "Ask the bank to confirm."),
        "bank_paid_at_invalid": _("The time “{value}” is not a date and time, e.g. 2026-11-30 14:05."),
        "bank_no_rows": _("The file has no result rows."),
        "bank_batch_closed": _("The batch is closed: no more results are recorded."),
    }
    text = texts.get(problem.code, problem.code)
    try:
        return text.format(**p)
    except (KeyError, IndexError):
        return text


def report_csv(problems: list[Problem], summary_lines: list[str]) -> bytes:
    """The report as CSV, UTF-8 with a BOM (Excel opens it with the Chinese intact)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Name"), _("Column"), _("What to fix")])
    for line in summary_lines:
        writer.writerow(["", "", "", line])
    for problem in problems:
        writer.writerow([problem.row or "", _safe_cell(problem.name),
                         column_label(problem.column) if problem.column else "", message(problem)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (names come from an uploaded file)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


__all__ = ["Problem", "column_label", "message", "pack", "report_csv", "unpack"]
