"""The staff item page a clerk works in: people and actions in words, checkboxes beside their
labels, actions grouped with the final ones confirmed (without JavaScript too), claims extended."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession

from portal.settings import Settings
from tests.backoffice.helpers import Client, audit_actions, fresh, post, ref_from, sign_in
from tests.backoffice.test_api import as_service, body
from tests.conftest import Factory

CLUE = {"case_number": "(2026)浙0681执123号", "asset_type": "vehicle", "description": "被执行人名下车辆 浙D12345",
        "contact_name": "李*华", "contact_phone": "13812345678"}


async def _claimed_clue(client: Client, factory: Factory, settings: Settings, session: AsyncSession):  # type: ignore[no-untyped-def]
    creditor = await factory.user("creditor")
    resp = await client.post("/api/v1/submissions", json=body("asset_clue", CLUE), headers=as_service(creditor.id, settings))
    assert resp.status_code == 201, resp.text
    ref = resp.json()["reference"]
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    item = await fresh(session, ref)
    assert (await post(client, f"/staff/items/{ref}/claim", {"version": str(item.version)})).status_code == 303
    return ref, creditor, court


def _history(page: str) -> str:
    return page.split('id="history"', 1)[1]


async def test_history_and_thread_name_people_and_actions_in_words(client: Client, factory: Factory,
                                                                    settings: Settings, session: AsyncSession) -> None:
    ref, creditor, court = await _claimed_clue(client, factory, settings, session)
    item = await fresh(session, ref)
    await post(client, f"/staff/items/{ref}/correction",
               {"version": str(item.version), "body": "请补充车辆所在地", "fields": "description"})
    page = (await client.get(f"/staff/items/{ref}")).text
    history = _history(page)
    assert "要求补正: 财产线索描述" in history or "要求补正: " in history
    assert f"{creditor.display_name}(申请执行人)" in history
    assert f"法院执行局 {court.display_name}" in history
    for raw in ("request_correction", "claim<", ">open<", f"staff:{court.id}", f"creditor:{creditor.id}",
                f"citizen:{creditor.id}"):
        assert raw not in history, raw
    english = _history((await client.get(f"/staff/items/{ref}?lang=en")).text)
    assert "Asked for a correction" in english and "Claimed" in english and "Received" in english
    assert f"{creditor.display_name} (creditor)" in english
    # The thread names the member of staff too, not their account label.
    thread = page.split('id="messages"', 1)[1].split('id="history"', 1)[0]
    assert f"法院执行局 {court.display_name}" in thread and f"staff:{court.id}" not in thread


async def test_correction_checkboxes_are_tied_to_their_labels(client: Client, factory: Factory, settings: Settings,
                                                             session: AsyncSession) -> None:
    ref, _, _ = await _claimed_clue(client, factory, settings, session)
    page = (await client.get(f"/staff/items/{ref}")).text
    boxes = re.findall(r'<input type="checkbox" id="(cf-[a-z_]+)" name="fields"', page)
    assert boxes, "no correction checkboxes"
    for box in boxes:
        assert f'<label for="{box}">' in page


async def test_final_actions_are_grouped_and_refused_without_the_confirmation(
        client: Client, factory: Factory, settings: Settings, session: AsyncSession) -> None:
    ref, _, _ = await _claimed_clue(client, factory, settings, session)
    page = (await client.get(f"/staff/items/{ref}")).text
    for heading in ("处理", "联系市民", "办结事项"):
        assert f">{heading}</h3>" in page
    final = page.split('class="action-group final"', 1)[1].split("</section>", 1)[0]
    assert 'name="confirm" value="yes" required' in final and 'class="final"' in final and 'class="danger"' in final
    assert "市民将看到" in final and "138****5678" in final
    item = await fresh(session, ref)
    for action, extra in (("complete", {"note": "已查封"}), ("reject", {"reason": "不属于本院"})):
        refused = await post(client, f"/staff/items/{ref}/{action}", {"version": str(item.version), **extra})
        assert refused.status_code == 400 and "请勾选确认" in refused.text
        assert (await fresh(session, ref)).state == "claimed"
    done = await post(client, f"/staff/items/{ref}/complete",
                      {"version": str(item.version), "note": "已查封", "confirm": "yes"})
    assert done.status_code == 303 and (await fresh(session, ref)).state == "done"


async def test_the_holder_extends_the_claim_from_the_page(client: Client, factory: Factory, settings: Settings,
                                                         session: AsyncSession) -> None:
    ref, _, _ = await _claimed_clue(client, factory, settings, session)
    item = await fresh(session, ref)
    before = item.lease_expires_at
    assert before is not None
    page = (await client.get(f"/staff/items/{ref}")).text
    assert f"/staff/items/{ref}/extend" in page and "认领至" in page and "再保留15分钟" in page
    extended = await post(client, f"/staff/items/{ref}/extend", {"version": str(item.version)})
    assert extended.status_code == 303
    item = await fresh(session, ref)
    assert item.lease_expires_at is not None and item.lease_expires_at >= before
    assert item.lease_expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=14)
    assert (await audit_actions(session, item.id))[-1] == "extend"
    # Someone else cannot extend it.
    other = await factory.user("staff", "court")
    await sign_in(client, other)
    refused = await post(client, f"/staff/items/{ref}/extend", {"version": str(item.version)})
    assert refused.status_code == 409 and ref_from(f"/staff/items/{ref}") == ref


async def test_the_queue_menu_links_the_domains_staff_pages_for_their_departments(client: Client,
                                                                                  factory: Factory) -> None:
    """The queue page links each domain's registered staff page; the court's cases only for the court."""
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    menu = (await client.get("/staff")).text
    assert '<a href="/staff/steps">本部门待办环节</a>' in menu and '<a href="/staff/cases">法院案件</a>' in menu
    english = (await client.get("/staff?lang=en")).text
    assert '<a href="/staff/cases">Court cases</a>' in english
    tax = await factory.user("staff", "tax")
    await sign_in(client, tax)
    page = (await client.get("/staff")).text
    assert '<a href="/staff/steps">本部门待办环节</a>' in page and "/staff/cases" not in page
    assert (await client.get("/staff/cases")).status_code == 403  # the link's rule is the page's guard
