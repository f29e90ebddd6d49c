"""Worked examples from shared/domain.md's tax section, each checked line by line."""

import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest

from title_transfer.tax import (
    HomeCount,
    Location,
    Party,
    PropertyUse,
    SaleFacts,
    TaxClause,
    estimate,
    load_rate_sets,
    rates_for,
)

SALE_DAY = dt.date(2026, 11, 20)


def facts(**overrides: object) -> SaleFacts:
    base: dict[str, object] = dict(
        price=D("2000000"), sale_date=SALE_DAY, use=PropertyUse.residential, area_m2=D("90"),
        clause=TaxClause.by_law, location=Location.city, buyer=Party.individual, buyer_homes=HomeCount.only_home,
        seller=Party.individual, seller_acquired_on=dt.date(2023, 5, 1), seller_purchase_price=D("1200000"),
        seller_only_home=False,
    )
    base.update(overrides)
    return SaleFacts(**base)  # type: ignore[arg-type]


def line(est, key):  # type: ignore[no-untyped-def]
    return next(ln for ln in est.lines if ln.key == key)


def test_only_home_under_140_pays_1_percent_deed_tax_and_no_stamp_duty() -> None:
    est = estimate(facts())
    assert line(est, "deed_tax").amount == D("20000.00")
    assert line(est, "deed_tax").rate == D("0.01")
    assert line(est, "stamp_duty_buyer").exempt and line(est, "stamp_duty_buyer").amount == 0
    assert est.buyer_total == D("20000.00")


@pytest.mark.parametrize(
    ("homes", "area", "rate"),
    [
        (HomeCount.only_home, "140", "0.01"),
        (HomeCount.only_home, "140.01", "0.015"),
        (HomeCount.second_home, "120", "0.01"),
        (HomeCount.second_home, "141", "0.02"),
        (HomeCount.other, "90", "0.03"),
    ],
)
def test_deed_tax_rate_by_home_count_and_area(homes: HomeCount, area: str, rate: str) -> None:
    est = estimate(facts(buyer_homes=homes, area_m2=D(area)))
    assert line(est, "deed_tax").rate == D(rate)
    assert line(est, "deed_tax").amount == (D("2000000") * D(rate)).quantize(D("0.01"))


def test_company_buyer_pays_3_percent_and_stamp_duty() -> None:
    est = estimate(facts(buyer=Party.company))
    assert line(est, "deed_tax").amount == D("60000.00")
    assert line(est, "stamp_duty_buyer").amount == D("1000.00")  # 0.05%


def test_housing_held_under_two_years_pays_vat_on_price_over_1_05_and_surcharges() -> None:
    est = estimate(facts(seller_acquired_on=dt.date(2025, 6, 1)))
    vat = line(est, "vat")
    assert vat.amount == D("95238.10")  # 2,000,000 / 1.05 × 5%
    assert line(est, "urban_maintenance").amount == D("6666.67")  # 7% of VAT (city)
    assert line(est, "education_surcharge").amount == D("2857.14")
    assert line(est, "local_education_surcharge").amount == D("1904.76")


def test_county_location_uses_5_percent_urban_maintenance() -> None:
    est = estimate(facts(seller_acquired_on=dt.date(2025, 6, 1), location=Location.county))
    assert line(est, "urban_maintenance").rate == D("0.05")


def test_housing_held_two_years_or_more_is_vat_exempt() -> None:
    est = estimate(facts(seller_acquired_on=dt.date(2024, 11, 20)))
    assert line(est, "vat").exempt
    assert line(est, "urban_maintenance").amount == 0


def test_income_tax_20_percent_of_gain_or_1_percent_when_cost_unknown() -> None:
    assert line(estimate(facts()), "income_tax").amount == D("160000.00")
    assert line(estimate(facts(seller_purchase_price=None)), "income_tax").amount == D("20000.00")


def test_only_home_held_five_years_is_income_tax_exempt() -> None:
    est = estimate(facts(seller_only_home=True, seller_acquired_on=dt.date(2021, 1, 1)))
    assert line(est, "income_tax").exempt
    assert line(est, "income_tax").amount == 0


def test_non_residential_vat_on_gain_and_land_appreciation_left_to_the_bureau() -> None:
    est = estimate(facts(use=PropertyUse.non_residential, seller_purchase_price=D("1370000")))
    assert line(est, "vat").amount == D("30000.00")  # (2,000,000 − 1,370,000)/1.05 × 5%
    assert line(est, "deed_tax").rate == D("0.03")
    assert line(est, "land_appreciation_tax").assessed_only


def test_by_law_clause_splits_payers_and_buyer_bears_all_moves_every_line_to_the_buyer() -> None:
    by_law = estimate(facts())
    assert line(by_law, "income_tax").payer == "seller"
    assert by_law.seller_total == D("160000.00")
    all_buyer = estimate(facts(clause=TaxClause.buyer_bears_all))
    assert {ln.payer for ln in all_buyer.lines} == {"buyer"}
    assert line(all_buyer, "income_tax").legal_payer == "seller"
    assert all_buyer.buyer_total == D("180000.00")
    assert all_buyer.seller_total == 0


def test_every_line_states_its_rule_in_both_languages() -> None:
    for ln in estimate(facts()).lines:
        assert ln.rule_zh and ln.rule_en


def test_rates_follow_effective_dates(tmp_path: Path) -> None:
    src = (Path(__file__).parents[2] / "title_transfer" / "data" / "tax_rates.toml").read_text(encoding="utf-8")
    newer = src.replace("effective_from = 2024-12-01", "effective_from = 2027-01-01").replace(
        "deed_general = 0.03", "deed_general = 0.04")
    path = tmp_path / "rates.toml"
    path.write_text(src + "\n" + newer.split("[[rate_sets]]", 1)[1].join(["[[rate_sets]]", ""]), encoding="utf-8")
    sets = load_rate_sets(path)
    assert rates_for(dt.date(2026, 12, 31), sets).deed_general == D("0.03")
    assert rates_for(dt.date(2027, 1, 1), sets).deed_general == D("0.04")
    with pytest.raises(LookupError):
        rates_for(dt.date(2020, 1, 1), sets)


def test_a_rate_that_is_not_a_fraction_is_refused(tmp_path: Path) -> None:
    src = (Path(__file__).parents[2] / "title_transfer" / "data" / "tax_rates.toml").read_text(encoding="utf-8")
    path = tmp_path / "rates.toml"
    path.write_text(src.replace("deed_general = 0.03", "deed_general = 3"), encoding="utf-8")
    with pytest.raises(ValueError, match="deed_general"):
        load_rate_sets(path)


def test_price_must_be_positive() -> None:
    with pytest.raises(ValueError):
        estimate(facts(price=D("0")))


def test_rule_texts_are_generated_from_the_rate_file(tmp_path: Path) -> None:
    """Change a threshold, a divisor and a rate in a copy of the file: the rule texts follow."""
    src = (Path(__file__).parents[2] / "title_transfer" / "data" / "tax_rates.toml").read_text(encoding="utf-8")
    changed = (src.replace("deed_area_threshold_m2 = 140", "deed_area_threshold_m2 = 120")
               .replace("vat_vat_included_divisor = 1.05", "vat_vat_included_divisor = 1.06")
               .replace("vat_rate = 0.05", "vat_rate = 0.06")
               .replace("vat_housing_exempt_years = 2", "vat_housing_exempt_years = 3"))
    assert changed != src
    path = tmp_path / "rates.toml"
    path.write_text(changed, encoding="utf-8")
    sets = load_rate_sets(path)
    recent = dict(seller_acquired_on=dt.date(2025, 6, 1))

    before = estimate(facts(area_m2=D("130"), **recent))
    assert "≤140㎡" in line(before, "deed_tax").rule_zh and "≤ 140 m²" in line(before, "deed_tax").rule_en
    assert "价款÷1.05×5%" in line(before, "vat").rule_zh and "(不满2年)" in line(before, "vat").rule_zh

    after = estimate(facts(area_m2=D("130"), **recent), sets)
    deed, vat = line(after, "deed_tax"), line(after, "vat")
    assert "面积130㎡>120㎡" in deed.rule_zh and "130 m² > 120 m²" in deed.rule_en
    assert deed.rate == D("0.015")  # the amount follows the same threshold as the text
    assert "价款÷1.06×6%" in vat.rule_zh and "price ÷ 1.06 × 6%" in vat.rule_en and "(不满3年)" in vat.rule_zh
    assert vat.amount == (D("2000000") / D("1.06") * D("0.06")).quantize(D("0.01"))
    assert not any("140" in ln.rule_zh or "1.05" in ln.rule_zh or "140" in ln.rule_en or "1.05" in ln.rule_en
                   for ln in after.lines)
