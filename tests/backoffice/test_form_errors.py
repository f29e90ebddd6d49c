"""A bad form, sent through the web page or the API, comes back with its field errors (the kernel's
one handler renders them; no handler catches them): the page keeps what was typed, shows each
message beside its field and the summary, in the reader's language; the API gets a 422 listing
every field. Never a 500."""

from __future__ import annotations

from portal.settings import Settings
from tests.backoffice.helpers import BEARER, Client, form_value, post, sign_in
from tests.conftest import Factory

NEW = "/my/submissions/new/utility_handover"


async def test_the_web_form_comes_back_as_typed_with_each_error_beside_its_field(
    client: Client, factory: Factory,
) -> None:
    new, buyer = await factory.transfer()
    await sign_in(client, buyer)
    form = await client.get(NEW)
    assert f'<option value="{new.transfer.tracking_no}"' in form.text  # their own transfer is offered
    key = form_value(form.text, NEW, "_key")
    sent = await post(client, NEW, {"tracking_number": "ZT12", "utility_type": "gas", "account_holder_name": "张三丰",
                                    "contact_phone": "12", "notes": "楼下 <b>", "_key": key})
    assert sent.status_code == 400, sent.status_code
    page = sent.text
    assert 'id="error-summary"' in page and "查询号格式应为 ZT 加 10 位数字" in page and "请填写11位手机号码" in page
    assert 'value="张三丰"' in page and "楼下 &lt;b&gt;" in page and f'value="{key}"' in page  # kept, same key
    phone = page.split('name="contact_phone"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in phone
    # They typed another number than their own: the box stays, with what they typed.
    tracking = page.split('name="tracking_number"', 1)[1].split(">", 1)[0]
    assert 'value="ZT12"' in tracking and 'aria-invalid="true"' in tracking

    english = await post(client, NEW + "?lang=en", {"tracking_number": new.transfer.tracking_no, "utility_type": "gas",
                                                    "account_holder_name": "", "contact_phone": "13812345678",
                                                    "_key": key})
    assert english.status_code == 400
    assert "Please fill in: New account holder." in english.text and "请填写新户名" not in english.text
    own = english.text.split('name="tracking_number"', 1)[0].rsplit("<", 1)[1]
    assert own.startswith("select")  # their own number: still offered as a choice


async def test_the_api_gets_every_field_error_in_the_submissions_language(
    client: Client, factory: Factory, settings: Settings,
) -> None:
    from accounts.identity import make_citizen_token

    _new, buyer = await factory.transfer()
    headers = {**BEARER, "Idempotency-Key": "form-errors-1", "X-Citizen-Token": make_citizen_token(
        settings.secret_key, buyer.id)}
    resp = await client.post("/api/v1/submissions", headers=headers, json={
        "kind": "delivery_appointment", "language": "en",
        "data": {"tracking_number": "zt", "time_slot": "noon", "contact_phone": "13812345678"}})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["detail"] == "A tracking number is ZT followed by 10 digits, e.g. ZT2026000001."
    assert [e["field"] for e in body["errors"]] == ["tracking_number", "preferred_date", "time_slot"]
    assert all(e["message_zh"] and e["message_en"] for e in body["errors"])
