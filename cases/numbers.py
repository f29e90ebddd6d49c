"""Enforcement case numbers: (2024)浙0681执1234号 = (year) + court code + type + serial + 号.

People type them with full-width or half-width brackets, 〔〕 or [] instead of (), spaces,
full-width digits, and often without the closing 号. :func:`parse_case_number` accepts all of
those, returns the parts and the one canonical spelling, and otherwise raises
:class:`~cases.errors.CaseNumberInvalid` naming the part that is wrong (in both languages).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import msgspec

from cases.catalogue import catalogue
from cases.errors import CaseNumberInvalid

MIN_YEAR = 1990
MAX_SERIAL_DIGITS = 7
_OPEN = "(〔[【［（"
_CLOSE = ")〕]】］）"
_SPACES = re.compile(r"[\s\u3000]+")
_YEAR = re.compile(r"^\((\d{4})\)")
_DIGITS = re.compile(r"^\d+")
_COURT = re.compile(r"^[\u4e00-\u9fff]\d+")
EXAMPLE = "(2024)浙0681执1234号"


class CaseNumber(msgspec.Struct, frozen=True):
    year: int
    court_code: str
    case_type: str
    serial: int

    @property
    def text(self) -> str:
        """The canonical spelling, with half-width brackets: (2024)浙0681执1234号."""
        return f"({self.year}){self.court_code}{self.case_type}{self.serial}号"

    def __str__(self) -> str:
        return self.text


def normalise_case_number(raw: str) -> str:
    """Full-width → half-width (NFKC), every bracket form → (), spaces removed."""
    value = unicodedata.normalize("NFKC", raw or "")
    value = _SPACES.sub("", value)
    for ch in _OPEN:
        value = value.replace(unicodedata.normalize("NFKC", ch), "(")
    for ch in _CLOSE:
        value = value.replace(unicodedata.normalize("NFKC", ch), ")")
    return value


def _refuse(zh: str, en: str, part: str) -> CaseNumberInvalid:
    return CaseNumberInvalid(f"案号格式有误:{zh}。案号的样式是 {EXAMPLE}。",
                             f"The case number is not valid: {en}. A case number looks like {EXAMPLE}.",
                             field="case_number", part=part)


def parse_case_number(raw: str, *, today: dt.date | None = None) -> CaseNumber:
    """The parts of a case number, or CaseNumberInvalid saying which part is wrong."""
    value = normalise_case_number(raw)
    if not value:
        raise _refuse("没有填写案号", "it is empty", "empty")
    year_match = _YEAR.match(value)
    if not year_match:
        raise _refuse("开头应是带括号的四位年份,如 (2024)", "it must start with the year in brackets, e.g. (2024)",
                      "year")
    year = int(year_match.group(1))
    this_year = (today or dt.date.today()).year
    if not MIN_YEAR <= year <= this_year:
        raise _refuse(f"年份 {year} 不在 {MIN_YEAR}–{this_year} 之间",
                      f"the year {year} is not between {MIN_YEAR} and {this_year}", "year")
    rest = value[year_match.end():]
    cat = catalogue()
    court_match = _COURT.match(rest)
    if not court_match:
        raise _refuse("年份后应是法院代字,如 浙0681", "the year must be followed by the court code, e.g. 浙0681", "court")
    court_code = court_match.group(0)
    if court_code not in cat.courts:
        raise _refuse(f"法院代字“{court_code}”不是本平台覆盖的法院(可查询:{'、'.join(cat.courts)})",
                      f"the court code “{court_code}” is not a court this portal covers ({', '.join(cat.courts)})",
                      "court")
    rest = rest[len(court_code):]
    case_type = next((t for t in sorted(cat.types, key=len, reverse=True) if rest.startswith(t)), None)
    if case_type is None:
        raise _refuse(f"法院代字后应是案件类型({'、'.join(cat.types)})",
                      f"the court code must be followed by the case type ({', '.join(cat.types)})",
                      "type")
    rest = rest[len(case_type):]
    serial_match = _DIGITS.match(rest)
    if not serial_match:
        raise _refuse("案件类型后应是案件序号(数字)", "the case type must be followed by the serial number (digits)",
                      "serial")
    digits = serial_match.group(0)
    if len(digits) > MAX_SERIAL_DIGITS or int(digits) == 0:
        raise _refuse(f"案件序号“{digits}”不正确", f"the serial number “{digits}” is not valid", "serial")
    tail = rest[len(digits):]
    if tail not in ("", "号"):
        raise _refuse(f"序号后多了“{tail}”,案号应以“号”结尾", f"there is “{tail}” after the serial number; "
                      "a case number ends with 号", "suffix")
    return CaseNumber(year=year, court_code=court_code, case_type=case_type, serial=int(digits))


def canonical_case_number(raw: str) -> str:
    return parse_case_number(raw).text


__all__ = ["CaseNumber", "canonical_case_number", "normalise_case_number", "parse_case_number"]
