"""Signed-in people don't retype what the portal knows; forms fit the person; dates fit the calendar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from storage.workdays import default_calendar
from tests.backoffice.helpers import Client, form_value, post, sign_in
from tests.conftest import Factory


async def test_a_buyer_picks_one_of_their_transfers_with_name_and_phone_filled(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    first, buyer = await factory.transfer()
    second, _ = await factory.transfer(buyer=buyer, title_en="Second flat")
    buyer.phone = "13912345678"
    await session.commit()
    await sign_in(client, buyer)
    page = (await client.get("/my/submissions/new/utility_handover")).text
    select = page.split('<select id="f-tracking_number"', 1)[1].split("</select>", 1)[0]
    assert first.transfer.tracking_no in select and second.transfer.tracking_no in select
    assert 'name="contact_phone" value="13912345678"' in page
    assert f'name="account_holder_name" value="{buyer.display_name}"' in page
    assert 'autocomplete="name"' in page and 'autocomplete="tel"' in page
    assert "YYYY-MM-DD" not in page  # a native date control needs no format hint
    typed = (await client.get("/my/submissions/new/utility_handover?manual=1")).text
    assert '<input id="f-tracking_number"' in typed
    # Someone else's transfers are not offered.
    other = await factory.user("buyer")
    await sign_in(client, other)
    page = (await client.get("/my/submissions/new/utility_handover")).text
    assert first.transfer.tracking_no not in page and '<input id="f-tracking_number"' in page


async def test_the_new_request_cards_describe_and_put_the_person_s_forms_first(client: Client,
                                                                                factory: Factory) -> None:
    await sign_in(client, await factory.user("buyer"))
    page = (await client.get("/my/submissions/new")).text
    first, others = page.split('class="other-requests"', 1)
    assert "/my/submissions/new/utility_handover" in first and "把水、电、燃气户名转到您名下" in first
    assert "/my/submissions/new/asset_clue" not in first and "/my/submissions/new/asset_clue" in others
    await sign_in(client, await factory.user("creditor"))
    page = (await client.get("/my/submissions/new?lang=en")).text
    first = page.split('class="other-requests"', 1)[0]
    assert "/my/submissions/new/asset_clue" in first and "For creditors" in first


async def test_a_delivery_date_at_the_weekend_is_refused_with_the_next_working_day(client: Client,
                                                                                    factory: Factory) -> None:
    new, buyer = await factory.transfer()
    await sign_in(client, buyer)
    calendar = default_calendar()
    day = dt.date.today() + dt.timedelta(days=7)
    while calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    form = await client.get("/my/submissions/new/delivery_appointment")
    assert "请选择工作日" in form.text
    data = {"tracking_number": new.transfer.tracking_no, "preferred_date": day.isoformat(), "time_slot": "morning",
            "contact_phone": "13812345678",
            "_key": form_value(form.text, "/my/submissions/new/delivery_appointment", "_key")}
    resp = await post(client, "/my/submissions/new/delivery_appointment", data)
    assert resp.status_code == 400
    nearest = calendar.next_working_day(day)
    assert "须为工作日" in resp.text and f"最近的工作日是{nearest.month}月{nearest.day}日" in resp.text
    data["preferred_date"] = nearest.isoformat()
    assert (await post(client, "/my/submissions/new/delivery_appointment", data)).status_code == 303


async def test_the_header_names_who_is_signed_in_and_offers_a_way_to_an_account(client: Client,
                                                                                  factory: Factory) -> None:
    home = (await client.get("/")).text
    assert 'href="/account/help"' in home
    help_page = (await client.get("/account/help")).text
    assert "0575-0000-1000" in help_page and 'id="password"' in help_page
    login_page = (await client.get("/login")).text
    assert "/account/help#password" in login_page
    buyer = await factory.user("buyer")
    await sign_in(client, buyer)
    home = (await client.get("/")).text
    assert f"已登录:{buyer.display_name}" in home
