"""The whole journey on the web: a citizen submits, the right department claims, asks for a
correction (补正), the citizen answers, staff complete, the citizen sees it done."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.backoffice.helpers import (
    Client,
    audit_actions,
    form_value,
    fresh,
    outbox_events,
    post,
    ref_from,
    sign_in,
)
from tests.conftest import Factory

CLUE = {"case_number": "(2024)浙0681执1234号", "asset_type": "vehicle", "description": "被执行人名下有一辆白色轿车。",
        "location": "诸暨市", "contact_name": "李*华", "contact_phone": "138 1234 5678"}


async def test_web_form_to_done_with_a_correction_on_the_way(client: Client, factory: Factory,
                                                             session: AsyncSession) -> None:
    creditor = await factory.user("creditor")
    court = await factory.user("staff", "court")

    # The citizen fills in the form built from the kind's schema.
    await sign_in(client, creditor)
    form = await client.get("/my/submissions/new/asset_clue")
    assert form.status_code == 200 and 'name="case_number"' in form.text and "案号" in form.text
    key = form_value(form.text, "/my/submissions/new/asset_clue", "_key")
    sent = await post(client, "/my/submissions/new/asset_clue", {**CLUE, "_key": key})
    assert sent.status_code == 303, sent.text
    ref = ref_from(sent.headers["location"])
    page = await client.get(sent.headers["location"])
    assert ref in page.text and "已受理" in page.text

    # It is in the court's queue; the court clerk takes the next item and gets it.
    await sign_in(client, court)
    inbox = await client.get("/staff")
    assert ref in inbox.text
    taken = await post(client, "/staff/queue/claim-next")
    assert taken.status_code == 303
    # (Should another court item ever be queued before it, claim this one explicitly too.)
    item_page = await client.get(f"/staff/items/{ref}")
    if "You hold this item" not in item_page.text and "此事项由您办理" not in item_page.text:
        version = form_value(item_page.text, f"/staff/items/{ref}/claim", "version")
        assert (await post(client, f"/staff/items/{ref}/claim", {"version": version})).status_code == 303
        item_page = await client.get(f"/staff/items/{ref}")
    assert "13812345678" in item_page.text  # the phone, normalised

    # 补正: ask for a clearer description.
    version = form_value(item_page.text, f"/staff/items/{ref}/correction", "version")
    asked = await post(client, f"/staff/items/{ref}/correction",
                       {"version": version, "body": "请补充车牌号。", "fields": ["description"]})
    assert asked.status_code == 303
    assert (await fresh(session, ref)).state == "waiting_citizen"

    # The citizen sees what is asked and answers.
    await sign_in(client, creditor)
    mine = await client.get("/my/submissions")
    assert "待您补正" in mine.text
    page = await client.get(f"/my/submissions/{ref}")
    assert "请补充车牌号。" in page.text and 'name="description"' in page.text
    version = form_value(page.text, f"/my/submissions/{ref}/answer", "_version")
    answered = await post(client, f"/my/submissions/{ref}/answer",
                          {"_version": version, "description": "白色轿车,车牌浙D12345。", "_body": "已补充"})
    assert answered.status_code == 303, answered.text
    item = await fresh(session, ref)
    assert item.state == "new" and item.data["description"] == "白色轿车,车牌浙D12345。"
    assert item.correction_fields is None

    # Staff claim it again and complete it.
    await sign_in(client, court)
    page = await client.get(f"/staff/items/{ref}")
    assert "车牌浙D12345" in page.text
    version = form_value(page.text, f"/staff/items/{ref}/claim", "version")
    assert (await post(client, f"/staff/items/{ref}/claim", {"version": version})).status_code == 303
    page = await client.get(f"/staff/items/{ref}")
    version = form_value(page.text, f"/staff/items/{ref}/complete", "version")
    done = await post(client, f"/staff/items/{ref}/complete", {"confirm": "yes", "version": version, "note": "已查封该车辆。"})
    assert done.status_code == 303
    # The history is on the page, oldest first, in words (never action codes).
    history = (await client.get(f"/staff/items/{ref}")).text.split('id="history"', 1)[1]
    assert history.index("<td>收到") < history.index("<td>要求补正") < history.index("<td>办结")
    assert "request_correction" not in history and ">complete<" not in history

    # The citizen sees it done, with the note.
    await sign_in(client, creditor)
    page = await client.get(f"/my/submissions/{ref}")
    assert "已办结" in page.text and "已查封该车辆。" in page.text

    item = await fresh(session, ref)
    assert item.state == "done" and item.closed_at is not None
    assert await audit_actions(session, item.id) == ["open", "claim", "request_correction", "answer_correction",
                                                     "claim", "complete"]
    assert await outbox_events(session, item.id) == ["item.received", "item.claimed", "item.correction_requested",
                                                     "item.done"]


async def test_staff_of_another_department_cannot_see_or_act(client: Client, factory: Factory) -> None:
    creditor = await factory.user("creditor")
    await sign_in(client, creditor)
    form = await client.get("/my/submissions/new/asset_clue")
    sent = await post(client, "/my/submissions/new/asset_clue",
                      {**CLUE, "_key": form_value(form.text, "/my/submissions/new/asset_clue", "_key")})
    ref = ref_from(sent.headers["location"])

    water = await factory.user("staff", "water")
    await sign_in(client, water)
    assert ref not in (await client.get("/staff")).text
    page = await client.get(f"/staff/items/{ref}")
    assert page.status_code == 403 and "法院执行局" in page.text
    claim = await post(client, f"/staff/items/{ref}/claim", {"version": "1"})
    assert claim.status_code == 403

    admin = await factory.user("admin")
    await sign_in(client, admin)
    assert ref in (await client.get("/staff?view=all")).text
    assert (await client.get(f"/staff/items/{ref}")).status_code == 200


async def test_a_citizen_sees_only_their_own_submissions(client: Client, factory: Factory) -> None:
    one, other = await factory.user("creditor"), await factory.user("creditor")
    await sign_in(client, one)
    form = await client.get("/my/submissions/new/asset_clue")
    sent = await post(client, "/my/submissions/new/asset_clue",
                      {**CLUE, "_key": form_value(form.text, "/my/submissions/new/asset_clue", "_key")})
    ref = ref_from(sent.headers["location"])
    await sign_in(client, other)
    assert (await client.get(f"/my/submissions/{ref}")).status_code == 404
    assert ref not in (await client.get("/my/submissions")).text
    client.cookies.clear()
    anonymous = await client.get(f"/my/submissions/{ref}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
