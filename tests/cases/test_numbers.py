"""Case numbers and ID numbers: what is accepted, and what a refusal says."""

from __future__ import annotations

import pytest

from cases.errors import CaseNumberInvalid, IdNumberInvalid
from cases.idnumbers import check_digit, id_hash, id_key, last_four, mask_id, mask_name, parse_id_number
from cases.numbers import parse_case_number


@pytest.mark.parametrize("raw", ["(2024)浙0681执1234号", "（2024）浙0681执1234号", "〔2024〕浙0681执1234号",
                                 " ( 2024 ) 浙 0681 执 1234 ", "（２０２４）浙０６８１执１２３４号"])
def test_spellings_of_one_number_become_the_same(raw: str) -> None:
    parsed = parse_case_number(raw)
    assert (parsed.year, parsed.court_code, parsed.case_type, parsed.serial) == (2024, "浙0681", "执", 1234)
    assert parsed.text == "(2024)浙0681执1234号"


def test_longest_case_type_wins() -> None:
    assert parse_case_number("(2023)浙01执恢12号").case_type == "执恢"
    assert parse_case_number("(2023)浙0105执保7号").court_code == "浙0105"


@pytest.mark.parametrize(("raw", "part", "says"), [
    ("", "empty", "没有填写案号"),
    ("2024浙0681执1234号", "year", "带括号的四位年份"),
    ("(1989)浙0681执1号", "year", "1989"),
    ("(2024)0681执1号", "court", "法院代字"),
    ("(2024)浙0199执1号", "court", "浙0199"),
    ("(2024)浙0681民1号", "type", "案件类型"),
    ("(2024)浙0681执号", "serial", "序号"),
    ("(2024)浙0681执0号", "serial", "序号"),
    ("(2024)浙0681执12号之一", "suffix", "号"),
])
def test_malformed_numbers_name_the_wrong_part(raw: str, part: str, says: str) -> None:
    with pytest.raises(CaseNumberInvalid) as info:
        parse_case_number(raw)
    assert info.value.details["part"] == part
    assert says in info.value.message_zh
    assert "(2024)浙0681执1234号" in info.value.message_en  # the example is in both languages


def test_check_digit_follows_gb_11643() -> None:
    assert check_digit("11010519491231002") == "X"  # the standard's published example
    assert parse_id_number("11010519491231002x") == "11010519491231002X"
    assert parse_id_number(" 110105 19491231 002X ") == "11010519491231002X"


@pytest.mark.parametrize(("raw", "part"), [
    ("11010519491231002", "length"), ("1101051949123100", "length"), ("11010519491231002Y", "characters"),
    ("A1010519491231002X", "characters"), ("110105194902300021", "birth_date"), ("110105194912310021", "check_digit"),
])
def test_bad_id_numbers_say_what_is_wrong(raw: str, part: str) -> None:
    with pytest.raises(IdNumberInvalid) as info:
        parse_id_number(raw)
    assert info.value.details["part"] == part and info.value.status_code == 422


def test_id_numbers_are_kept_only_as_keyed_hash_and_last_four() -> None:
    number = "11010519491231002X"
    one, other = id_hash(id_key("secret-one"), number), id_hash(id_key("secret-two"), number)
    assert one != other and number not in one and len(one) == 64
    assert id_hash(id_key("secret-one"), number.lower()) == one
    assert last_four(number) == "002X" and mask_id("002X") == "****002X"


def test_names_are_masked() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("诸暨市某某贸易有限公司") == "诸暨****公司"
