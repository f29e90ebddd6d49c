"""The tax estimator on its own: the JSON API's lines and refusals, and the calculator page."""

from __future__ import annotations

from decimal import Decimal as D

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
BASE = {"price": "2000000", "area": "90", "sale_date": "2026-11-20"}


def _line(body: dict, key: str) -> dict:  # type: ignore[type-arg]
    return next(ln for ln in body["lines"] if ln["key"] == key)


async def test_estimate_api_returns_each_line_with_its_rule(client: Client) -> None:
    resp = await client.get("/api/v1/tax/estimate", params={**BASE, "buyer_homes": "1"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    deed = _line(body, "deed_tax")
    assert D(deed["amount"]) == D("20000.00") and D(deed["rate"]) == D("0.01")
    assert "140" in deed["rule_zh"] and "only home" in deed["rule_en"]
    assert {ln["key"] for ln in body["lines"]} >= {"deed_tax", "vat", "income_tax", "land_appreciation_tax"}
    assert D(body["buyer_total"]) == D("20000.00")
    assert body["inputs"]["price"] == "2000000" and body["sale_date"] == "2026-11-20"
    assert "public" in resp.headers["cache-control"]


async def test_estimate_api_follows_home_count_seller_years_and_clause(client: Client) -> None:
    resp = await client.get("/api/v1/tax/estimate", params={
        **BASE, "buyer_homes": "3", "seller_years": "1", "clause": "buyer_bears_all", "city_level": "county"})
    body = resp.json()
    assert D(_line(body, "deed_tax")["rate"]) == D("0.03")
    vat = _line(body, "vat")
    assert D(vat["amount"]) == D("95238.10") and vat["payer"] == "buyer"  # held 1 year, buyer bears all
    assert D(_line(body, "urban_maintenance")["rate"]) == D("0.05")  # county
    assert D(body["seller_total"]) == 0


async def test_seller_only_home_held_five_years_is_exempt_from_income_tax(client: Client) -> None:
    resp = await client.get("/api/v1/tax/estimate",
                            params={**BASE, "seller_years": "6", "seller_only_home": "true"})
    income = _line(resp.json(), "income_tax")
    assert income["exempt"] is True and D(income["amount"]) == 0


async def test_nonsense_inputs_are_400s_naming_the_field(client: Client) -> None:
    cases = [
        ({"area": "90"}, "price"),
        ({**BASE, "price": "abc"}, "price"),
        ({**BASE, "price": "-5"}, "price"),
        ({**BASE, "price": "NaN"}, "price"),
        ({**BASE, "area": "1e400"}, "area"),
        ({**BASE, "kind": "castle"}, "kind"),
        ({**BASE, "buyer_homes": "0"}, "buyer_homes"),
        ({**BASE, "buyer_homes": "1.5"}, "buyer_homes"),
        ({**BASE, "seller_years": "-1"}, "seller_years"),
        ({**BASE, "seller_only_home": "maybe"}, "seller_only_home"),
        ({**BASE, "sale_date": "1999-01-01"}, "sale_date"),
        ({**BASE, "colour": "red"}, "colour"),
    ]
    for params, field in cases:
        resp = await client.get("/api/v1/tax/estimate", params=params)
        assert resp.status_code == 400, (params, resp.text)
        body = resp.json()
        assert body["details"]["field"] == field, (params, body)
        assert body["message_zh"] and body["message_en"]


async def test_a_parameter_given_twice_is_refused(client: Client) -> None:
    resp = await client.get("/api/v1/tax/estimate?price=1&price=2&area=90")
    assert resp.status_code == 400
    assert "more than once" in resp.json()["message_en"]


async def test_calculator_page_chinese_first_english_on_request(client: Client) -> None:
    zh = await client.get("/taxes/calculator", params=BASE)
    assert zh.status_code == 200
    assert "契税" in zh.text and "¥20,000.00" in zh.text and 'method="get"' in zh.text
    en = await client.get("/taxes/calculator", params={**BASE, "lang": "en"})
    assert "Deed tax" in en.text and "Tax calculator" in en.text


async def test_calculator_without_input_shows_the_form_only(client: Client) -> None:
    resp = await client.get("/taxes/calculator?lang=en")
    assert resp.status_code == 200
    assert "Fill in the price" in resp.text and "Estimated taxes" not in resp.text


async def test_calculator_refusal_keeps_the_input_and_says_what_to_fix(client: Client) -> None:
    resp = await client.get("/taxes/calculator", params={"price": "lots", "area": "90", "lang": "en"})
    assert resp.status_code == 400
    assert 'value="lots"' in resp.text and "price" in resp.text and 'aria-invalid="true"' in resp.text
    frag = await client.get("/taxes/calculator", params={"price": "lots", "area": "90", "lang": "en"},
                            headers={"HX-Request": "true"})
    assert frag.status_code == 400 and "<html" not in frag.text and 'role="alert"' in frag.text


async def test_calculator_htmx_answers_the_result_fragment(client: Client) -> None:
    resp = await client.get("/taxes/calculator", params=BASE, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "<html" not in resp.text and "契税" in resp.text


async def test_home_page_links_the_calculator(client: Client) -> None:
    resp = await client.get("/")
    assert 'href="/taxes/calculator"' in resp.text
