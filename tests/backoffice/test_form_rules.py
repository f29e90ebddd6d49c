"""Field rules live in the form schema: the OpenAPI, the JSON schema the assistant reads and
the web form all show the same patterns, choices and lengths."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from backoffice import forms
from tests.backoffice.helpers import Client, sign_in
from tests.conftest import Factory
from title_transfer.forms import TRACKING_NUMBER


async def test_the_openapi_shows_each_forms_rules(client: Client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    body = spec["paths"]["/api/v1/submissions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    variants = {v["properties"]["kind"]["const"]: v["properties"] for v in body["oneOf"]}
    assert set(variants) == set(forms.form_kinds())
    utility = variants["utility_handover"]["data"]["properties"]
    assert utility["tracking_number"]["pattern"] == r"^ZT\d{10}$" and utility["tracking_number"]["maxLength"] == 12
    assert sorted(utility["utility_type"]["enum"]) == ["electricity", "gas", "water"]
    assert utility["contact_phone"]["pattern"] == r"^1[3-9]\d{9}$"
    assert utility["preferred_date"]["pattern"] == r"^(?:\d{4}-\d{2}-\d{2})?$"  # optional: may be empty
    assert variants["dispute"]["data"]["properties"]["reference"]["pattern"] == r"^WI-\d{1,12}$"
    assert "" in variants["talk_to_person"]["data"]["properties"]["department"]["enum"]
    assert variants["asset_clue"]["channel"]["enum"] == ["chat", "web"]


async def test_the_form_schema_carries_the_same_rules(client: Client) -> None:
    fields = {f["name"]: f for f in (await client.get("/api/v1/forms/delivery_appointment")).json()["fields"]}
    assert fields["tracking_number"]["pattern"] == TRACKING_NUMBER.rule[0]
    assert fields["contact_phone"]["input_pattern"] == forms.PATTERNS["phone"][1]
    assert fields["time_slot"]["max_length"] == len("afternoon") and fields["notes"]["pattern"] is None


async def test_the_web_form_shows_the_rules_as_input_attributes(client: Client, factory: Factory) -> None:
    await sign_in(client, await factory.user("buyer"))
    page = (await client.get("/my/submissions/new/utility_handover")).text
    inputs = {m.group(1): m.group(0) for m in re.finditer(r'<(?:input|textarea|select)[^>]*name="(\w+)"[^>]*>', page)
              if not m.group(1).startswith("_")}
    assert f'pattern="{html.escape(TRACKING_NUMBER.rule[1])}"' in inputs["tracking_number"]
    assert f'pattern="{html.escape(forms.PATTERNS["phone"][1])}"' in inputs["contact_phone"]
    for name, tag in inputs.items():
        if not tag.startswith("<select") and 'type="date"' not in tag:  # a date picker has its own bounds
            assert "maxlength=" in tag, name
    assert 'maxlength="60"' in inputs["account_holder_name"]


SAMPLES = {
    "phone": ["13812345678", "138 1234 5678", "+86 138-1234-5678", "(+86) 13812345678", "1381234567", "12812345678",
              "86 13812345678", "138123456789", "abc"],
    "tracking_number": ["ZT2026000001", "zt2026000001", "ZT-2026-000001", " zt 2026 000001 ", "ZT202600001",
                        "XT2026000001", "ZT20260000011"],
    "case_number": ["(2024)浙0681执1234号", "（2024）浙0681执恢12号", "(2024) 浙0681 执1234号", "(2024)浙执1234号",
                    "2024浙0681执1234号"],
}
FIELD_OF = {"phone": ("asset_clue", "contact_phone"), "tracking_number": ("utility_handover", "tracking_number"),
            "case_number": ("asset_clue", "case_number")}


@pytest.mark.parametrize("rule", sorted(SAMPLES))
def test_what_the_input_accepts_is_what_the_server_accepts(rule: str) -> None:
    kind, name = FIELD_OF[rule]
    spec = next(f for f in forms._fields(kind) if f.name == name)
    for sample in SAMPLES[rule]:
        browser = re.fullmatch(spec.input_pattern or "", sample) is not None
        try:
            value = forms.validate_fields(kind, {name: sample}, [name], today=dt.date(2026, 1, 1))[name]
        except forms.FormInvalid:
            value = None
        assert browser == (value is not None), (rule, sample)
        if value is not None:
            assert re.search(spec.pattern or "", value), (rule, sample, value)
