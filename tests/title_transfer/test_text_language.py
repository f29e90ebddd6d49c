"""Free text is kept in the language it was written in and shown as written, in the reader's interface."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from portal.demo import load_demo_data
from tests.conftest import Factory, csrf
from title_transfer.service import load_transfer, move_step

Client = AsyncTestClient[Litestar]
ROOT = Path(__file__).resolve().parents[2]
# A Chinese text, " / ", then a Latin word inside one string: a bilingual pair glued together.
GLUED = re.compile(r"[\u4e00-\u9fff][^\n\"'<>{}]*\s/\s[A-Za-z]")


async def _open(client: Client, tracking_no: str, code: str) -> None:
    await client.get("/track")
    resp = await client.post("/track", data={"tracking_no": tracking_no, "code": code, "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 303


async def _block(session: AsyncSession, tracking_no: str, who, reason: str, **kw) -> None:  # type: ignore[no-untyped-def]
    transfer = await load_transfer(session, tracking_no, for_update=True)
    assert transfer is not None
    step = next(s for s in transfer.steps if s.key == "balance_paid")
    await move_step(session, transfer, "balance_paid", "block", who, expected_revision=step.revision,
                    reason=reason, **kw)
    await session.commit()


async def test_a_chinese_reason_is_shown_as_written_on_the_english_page_with_a_note(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    court = factory.principal(await factory.user("staff", "court"))
    await _block(session, new.transfer.tracking_no, court, "尾款尚未到账,请联系执行法官。", text_lang="zh")
    await _open(client, new.transfer.tracking_no, new.code)
    en = (await client.get(f"/track/{new.transfer.tracking_no}?lang=en")).text
    block = en.split('id="step-balance_paid"', 1)[1].split("</li>", 1)[0]
    assert "Blocked:" in block and '<span lang="zh-CN">尾款尚未到账,请联系执行法官。</span>' in block
    assert "written in Chinese" in block
    zh = (await client.get(f"/track/{new.transfer.tracking_no}?lang=zh")).text
    block = zh.split('id="step-balance_paid"', 1)[1].split("</li>", 1)[0]
    assert "受阻:" in block or "受阻" in block
    assert "尾款尚未到账" in block and "原文为" not in block


async def test_an_english_reason_gets_the_note_on_the_chinese_page(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    court = factory.principal(await factory.user("staff", "court"))
    await _block(session, new.transfer.tracking_no, court, "Waiting for the bank's transfer.", text_lang="en")
    await _open(client, new.transfer.tracking_no, new.code)
    zh = (await client.get(f"/track/{new.transfer.tracking_no}?lang=zh")).text
    assert '<span lang="en">Waiting for the bank&#39;s transfer.</span>' in zh and "原文为英文" in zh


async def test_both_versions_each_shown_alone_and_both_in_the_api(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer(title_en="Test flat, Zhuji", address_en="1 Test Road, Zhuji")
    court = factory.principal(await factory.user("staff", "court"))
    await _block(session, new.transfer.tracking_no, court, "尾款未到账。", text_lang="zh",
                 translations={"en": "Balance not received."})
    await _open(client, new.transfer.tracking_no, new.code)
    en = (await client.get(f"/track/{new.transfer.tracking_no}?lang=en")).text
    assert "Balance not received." in en and "尾款未到账" not in en and "written in" not in en
    assert "<h1>Test flat, Zhuji</h1>" in en and "1 Test Road, Zhuji" in en
    zh = (await client.get(f"/track/{new.transfer.tracking_no}?lang=zh")).text
    assert "尾款未到账。" in zh and "Balance not received" not in zh
    body = (await client.get(f"/api/v1/transfers/{new.transfer.tracking_no}",
                             headers={"X-Verification-Code": new.code})).json()
    step = body["steps"][0]
    assert step["blocked_reason"] == "尾款未到账。"  # as written: what older clients (the bot) read
    assert (step["blocked_reason_lang"], step["blocked_reason_zh"], step["blocked_reason_en"]) == (
        "zh", "尾款未到账。", "Balance not received.")
    assert body["title_en"] == "Test flat, Zhuji"


async def test_demo_data_carries_both_languages_apart(client: Client, session: AsyncSession) -> None:
    await load_demo_data(session, "demo-secret-" + "y" * 40)
    await session.commit()
    transfer = await load_transfer(session, "ZT2026000001")
    assert transfer is not None and transfer.title_en
    texts = {s.key: s.texts for s in transfer.steps if s.texts}
    assert texts["gas_handover"]["blocked_reason"]["lang"] == "zh"
    assert texts["gas_handover"]["blocked_reason"]["en"].startswith("The gas meter")
    assert texts["balance_paid"]["note"] == {"lang": "zh", "zh": "尾款已到账。", "en": "Balance received."}
    for step in transfer.steps:
        for text in (step.note, step.blocked_reason):
            assert text is None or not GLUED.search(text), text


def test_no_glued_bilingual_strings_in_demo_data_or_templates() -> None:
    files = [ROOT / "portal" / "demo.py", *ROOT.glob("*/templates/**/*.html")]
    found = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in files for m in GLUED.finditer(f.read_text())]
    assert found == []
