"""Reading answers: formats people type, and what is refused."""
import datetime as dt

from actions import fields as F
from actions.schemas import BUILTIN, field_map

TODAY = dt.date(2026, 11, 25)  # a Wednesday
UTIL = field_map(BUILTIN["utility_handover"])
CLUE = field_map(BUILTIN["asset_clue"])
DELIVERY = field_map(BUILTIN["delivery_appointment"])


def test_phone_numbers_are_normalised_from_spaced_and_prefixed_forms():
    assert F.check(UTIL["contact_phone"], "186 1234 5678", "zh", TODAY) == ("18612345678", None)
    assert F.check(UTIL["contact_phone"], "+86-138-1234-5678", "en", TODAY)[0] == "13812345678"


def test_landline_or_short_number_is_not_a_mobile():
    value, problem = F.check(UTIL["contact_phone"], "0575-8712345", "en", TODAY)
    assert value is None and "11-digit" in problem
    assert F.check(UTIL["contact_phone"], "12812345678", "zh", TODAY)[0] is None


def test_dates_in_iso_chinese_and_relative_forms():
    f = DELIVERY["preferred_date"]
    assert F.check(f, "2026-12-01", "zh", TODAY)[0] == "2026-12-01"
    assert F.check(f, "2026年12月3日", "zh", TODAY)[0] == "2026-12-03"
    assert F.check(f, "12月5号", "zh", TODAY)[0] == "2026-12-05"
    assert F.check(f, "明天", "zh", TODAY)[0] == "2026-11-26"
    assert F.check(f, "next Monday", "en", TODAY)[0] == "2026-11-30"
    assert F.check(f, "下周一", "zh", TODAY)[0] == "2026-11-30"


def test_past_dates_and_non_dates_are_refused():
    f = DELIVERY["preferred_date"]
    assert F.check(f, "2026-01-01", "en", TODAY) == (None, "can't be in the past.")
    assert F.check(f, "whenever", "en", TODAY)[0] is None


def test_choices_by_label_synonym_or_value_and_ambiguity_refused():
    f = UTIL["utility_type"]
    assert F.check(f, "水", "zh", TODAY)[0] == "water"
    assert F.check(f, "煤气", "zh", TODAY)[0] == "gas"
    assert F.check(f, "Electricity", "en", TODAY)[0] == "electricity"
    assert F.check(f, "the power one", "en", TODAY)[0] == "electricity"
    value, problem = F.check(f, "水和电", "zh", TODAY)
    assert value is None and "水、电、燃气" in problem
    assert F.check(CLUE["asset_type"], "一辆车", "zh", TODAY)[0] == "vehicle"
    assert F.check(DELIVERY["time_slot"], "下午吧", "zh", TODAY)[0] == "afternoon"


def test_tracking_and_case_numbers():
    assert F.check(UTIL["tracking_number"], "my number is zt2026000001", "en", TODAY)[0] == "ZT2026000001"
    assert F.check(UTIL["tracking_number"], "ZT20260001", "en", TODAY)[0] is None
    assert F.check(CLUE["case_number"], "（2024）浙0681执1234号", "zh", TODAY)[0] == "(2024)浙0681执1234号"
    assert F.check(CLUE["case_number"], "(2024)浙01执恢88号", "zh", TODAY)[0] == "(2024)浙01执恢88号"
    assert F.check(CLUE["case_number"], "2024-1234", "zh", TODAY)[0] is None


def test_names_drop_fillers_and_refuse_numbers_or_questions():
    f = UTIL["account_holder_name"]
    assert F.check(f, "户主是陈建国", "zh", TODAY)[0] == "陈建国"
    assert F.check(f, "my name is Li Wei", "en", TODAY)[0] == "Li Wei"
    assert F.check(f, "13812345678", "zh", TODAY)[0] is None
    assert F.check(f, "契税多少？", "zh", TODAY)[0] is None


def test_emoji_name_is_accepted_as_text_but_empty_is_not():
    f = BUILTIN["talk_to_person"]["fields"][1]  # contact_name
    assert F.check(f, "小王😀", "zh", TODAY)[0] == "小王😀"
    assert F.check(f, "   ", "zh", TODAY) == (None, "不能为空。")


def test_five_thousand_characters_are_too_long_for_a_description():
    value, problem = F.check(CLUE["description"], "车" * 5000, "zh", TODAY)
    assert value is None and "5000" in problem and "2000" in problem


def test_verification_code_is_picked_out_of_a_sentence():
    assert F.check(UTIL["verification_code"], "验证码是 482913", "zh", TODAY)[0] == "482913"
    # read as the portal reads it (title_transfer/codes.py normalise_code): upper case
    assert F.check(UTIL["verification_code"], "the code is ab12cd", "en", TODAY)[0] == "AB12CD"


def test_help_and_stop_detection():
    assert F.is_help_request("户主是什么意思？")
    assert F.is_help_request("what does account holder mean")
    assert not F.is_help_request("陈建国")
    assert F.is_stop("算了")
    assert F.is_stop("Stop!")
    assert not F.is_stop("stop sign on the corner near the flat")


def test_corrections_name_the_field_and_ignore_values_that_do_not_fit():
    fields = UTIL
    assert F.find_corrections("不对，电话是13900000000", fields, "zh")["contact_phone"] == "13900000000"
    found = F.find_corrections("no, the tracking number is ZT2026000009", fields, "en")
    assert found["tracking_number"] == "ZT2026000009"
    # "number" also points at the phone; the caller's check refuses ZT… as a phone
    assert F.check(fields["contact_phone"], found.get("contact_phone", ""), "en")[0] is None
    assert F.find_corrections("户主改成李四", fields, "zh")["account_holder_name"] == "李四"
