"""A message is kept in the language it was written in and marked as such for a reader of the other."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.backoffice.helpers import Client, form_value, messages, post, ref_from, sign_in
from tests.conftest import Factory

SUPPLEMENT = {"department": "registry", "reference": "ZT2026000001", "description": "补充身份证复印件。",
              "contact_phone": "13812345678"}


async def test_a_chinese_reply_is_marked_on_the_english_page(client: Client, factory: Factory,
                                                               session: AsyncSession) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    form = await client.get("/my/submissions/new/document_supplement")
    sent = await post(client, "/my/submissions/new/document_supplement",
                      {**SUPPLEMENT, "_key": form_value(form.text, "/my/submissions/new/document_supplement", "_key")})
    ref = ref_from(sent.headers["location"])
    registry = await factory.user("staff", "registry")
    await sign_in(client, registry)
    page = (await client.get(f"/staff/items/{ref}")).text
    await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page, f"{ref}/claim", "version")})
    page = (await client.get(f"/staff/items/{ref}")).text
    resp = await post(client, f"/staff/items/{ref}/reply",
                      {"version": form_value(page, f"{ref}/reply", "version"), "body": "材料已收到,正在审核。"})
    assert resp.status_code == 303
    stored = [m for m in await messages(session, int(ref[3:])) if m.body == "材料已收到,正在审核。"]
    assert stored and stored[0].data == {"lang": "zh"}

    await sign_in(client, citizen)
    en = (await client.get(f"/my/submissions/{ref}?lang=en")).text
    assert '<p lang="zh-CN">材料已收到,正在审核。' in en and "(written in Chinese)" in en
    zh = (await client.get(f"/my/submissions/{ref}?lang=zh")).text
    assert "材料已收到,正在审核。" in zh and "原文为中文" not in zh


async def test_a_declined_request_s_reason_is_marked_for_the_other_language(client: Client, factory: Factory) -> None:
    citizen = await factory.user("buyer")
    await sign_in(client, citizen)
    form = await client.get("/my/submissions/new/document_supplement")
    sent = await post(client, "/my/submissions/new/document_supplement",
                      {**SUPPLEMENT, "_key": form_value(form.text, "/my/submissions/new/document_supplement", "_key")})
    ref = ref_from(sent.headers["location"])
    await sign_in(client, await factory.user("staff", "registry"))
    page = (await client.get(f"/staff/items/{ref}")).text
    await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page, f"{ref}/claim", "version")})
    page = (await client.get(f"/staff/items/{ref}?lang=en")).text
    resp = await post(client, f"/staff/items/{ref}/reject",
                      {"version": form_value(page, f"{ref}/reject", "version"), "reason": "Not ours to handle.",
                       "confirm": "yes"})  # the final action ticked, as the staff page asks
    assert resp.status_code == 303
    await sign_in(client, citizen)
    zh = (await client.get(f"/my/submissions/{ref}?lang=zh")).text
    outcome = zh.split('class="notice" lang="en">', 1)[1].split("</p>", 1)[0]
    assert "Not ours to handle." in outcome and "原文为英文" in outcome
