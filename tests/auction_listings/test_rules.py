"""The rules on entry: each violation named on its field, in both languages, all at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from auction_listings.errors import LotRulesBroken
from auction_listings.rules import Previous, check, parse_form
from tests.auction_listings.helpers import TODAY, lot_form

FIRST_END = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _rules(form: dict[str, str], previous: Previous | None = None, *, complete: bool = True) -> dict[str, str]:
    data, problems = parse_form(form)
    problems += check(data, previous, complete=complete, announcing_on=TODAY)
    assert all(p.message_zh and p.message_en for p in problems)
    return {p.rule: p.field for p in problems}


def test_a_lot_that_keeps_every_rule_has_no_violation() -> None:
    assert _rules(lot_form()) == {}


def test_first_round_starting_price_below_70_percent_of_the_appraisal() -> None:
    data, _ = parse_form(lot_form(starting_price="1819999.99", deposit="182000"))
    problems = check(data, complete=True, announcing_on=TODAY)
    assert [(p.field, p.rule) for p in problems] == [("starting_price", "first_round_floor")]
    assert "¥1,820,000.00" in problems[0].message_en and "70%" in problems[0].message_zh


def test_second_round_more_than_20_percent_below_the_first() -> None:
    previous = Previous(lot_no="A", round="first", starting_price=Decimal("1820000"), ended_at=FIRST_END)
    ok = lot_form(round="second", starting_price="1456000", deposit="145600", bidding_starts_at="2026-12-17T10:00",
                  bidding_ends_at="2026-12-18T10:00")
    assert _rules(ok, previous) == {}
    low = dict(ok, starting_price="1455999")
    assert _rules(low, previous) == {"second_round_reduction": "starting_price"}


def test_second_round_more_than_30_days_after_the_first() -> None:
    previous = Previous(lot_no="A", round="first", starting_price=Decimal("1820000"), ended_at=FIRST_END)
    late = lot_form(round="second", starting_price="1456000", deposit="145600", bidding_starts_at="2026-12-21T10:00",
                    bidding_ends_at="2026-12-22T10:00")
    assert _rules(late, previous) == {"second_round_within": "bidding_starts_at"}


def test_a_second_round_cannot_be_entered_without_the_first() -> None:
    assert _rules(lot_form(round="second"))["needs_previous"] == "round"


def test_fixed_price_below_the_second_round() -> None:
    previous = Previous(lot_no="B", round="second", starting_price=Decimal("1456000"), ended_at=FIRST_END)
    form = lot_form(round="fixed_price", starting_price="1400000", deposit="140000",
                    bidding_starts_at="2026-12-10T10:00", bidding_ends_at="2026-12-11T10:00")
    assert _rules(form, previous) == {"fixed_price_floor": "starting_price"}


@pytest.mark.parametrize("deposit", ["90999.99", "364000.01"])
def test_deposit_outside_5_to_20_percent(deposit: str) -> None:
    assert _rules(lot_form(deposit=deposit)) == {"deposit_range": "deposit"}


@pytest.mark.parametrize(("increment", "rule"), [("0", "positive"), ("182000.01", "increment_max")])
def test_increment_zero_or_too_large(increment: str, rule: str) -> None:
    assert _rules(lot_form(increment=increment)) == {rule: "increment"}


@pytest.mark.parametrize(("kind", "starts", "ok"), [
    ("real_estate", "2026-12-31T09:00", True), ("real_estate", "2026-12-30T23:00", False),
    ("vehicle", "2026-12-16T09:00", True), ("vehicle", "2026-12-15T10:00", False),
])
def test_announcement_period_by_kind(kind: str, starts: str, ok: bool) -> None:
    ends = (dt.datetime.fromisoformat(starts) + dt.timedelta(days=1)).isoformat(timespec="minutes")
    found = _rules(lot_form(asset_kind=kind, bidding_starts_at=starts, bidding_ends_at=ends))
    assert found == ({} if ok else {"announcement_period": "bidding_starts_at"})


def test_bidding_shorter_than_24_hours() -> None:
    assert _rules(lot_form(bidding_ends_at="2027-01-11T09:59")) == {"bidding_length": "bidding_ends_at"}


def test_platform_link_off_platform_or_on_another_one() -> None:
    assert _rules(lot_form(platform_url="http://sf-item.taobao.com/x")) == {"platform_url": "platform_url"}
    assert _rules(lot_form(platform_url="https://evil.example/x")) == {"platform_url": "platform_url"}
    assert _rules(lot_form(platform_url="https://paimai.jd.com/1")) == {"platform_mismatch": "platform_url"}


def test_case_number_in_the_courts_format() -> None:
    assert _rules(lot_form(case_number="2025-1234")) == {"case_number": "case_number"}
    assert _rules(lot_form(case_number="(2024)浙0105执恢12号")) == {}


def test_unreadable_values_are_named_not_crashed() -> None:
    found = _rules(lot_form(appraisal="lots", starting_price="-5", bidding_starts_at="soon", asset_kind="boat",
                            title="x" * 201))
    assert found["number"] in ("appraisal", "starting_price")
    assert found["datetime"] == "bidding_starts_at"
    assert found["choice"] == "asset_kind"
    assert found["length"] == "title"


def test_every_violation_comes_back_at_once_with_a_message_per_field() -> None:
    data, problems = parse_form(lot_form(starting_price="1000000", deposit="1", increment="0",
                                         bidding_ends_at="2027-01-10T11:00"))
    problems += check(data, complete=True, announcing_on=TODAY)
    error = LotRulesBroken(problems)
    assert error.status_code == 422
    assert set(error.details["fields"]) == {"starting_price", "deposit", "increment", "bidding_ends_at"}
    assert "4" in error.message_en and "4" in error.message_zh


def test_a_draft_needs_only_what_identifies_it() -> None:
    assert _rules({"title": "t", "address": "a", "court_code": "浙0681", "appraisal": "100", "starting_price": "70"},
                  complete=False) == {}
    assert set(_rules({}, complete=False)) == {"required"}



def test_dates_out_of_any_sensible_range_are_named_not_overflowed() -> None:
    data, problems = parse_form(lot_form(announced_on="9999-12-31", bidding_starts_at="0001-01-01T00:00",
                                         bidding_ends_at="9999-12-31T23:59", seller_acquired_on="0001-01-01"))
    problems += check(data, complete=True, announcing_on=None)
    named = {p.field for p in problems if p.rule in ("date", "datetime")}
    assert named == {"announced_on", "bidding_starts_at", "bidding_ends_at", "seller_acquired_on"}
