"""A citizen attaches evidence to a submitted form; staff of that department open it, others cannot."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.backoffice.helpers import form_value, post, ref_from, sign_in
from tests.backoffice.test_journey import CLUE
from tests.conftest import Factory, csrf

Client = AsyncTestClient[Litestar]


def _jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


JPEG = _jpeg()


async def test_evidence_attached_by_the_creditor_is_opened_by_the_court(client: Client, factory: Factory) -> None:
    creditor = await factory.user("creditor")
    await sign_in(client, creditor)
    form = await client.get("/my/submissions/new/asset_clue")
    key = form_value(form.text, "/my/submissions/new/asset_clue", "_key")
    sent = await post(client, "/my/submissions/new/asset_clue", {**CLUE, "_key": key})
    ref = ref_from(sent.headers["location"])
    item_page = await client.get(sent.headers["location"])
    item_id = item_page.text.split('name="subject_id" value="', 1)[1].split('"', 1)[0]

    upload = await client.post(
        "/documents",
        data={"subject_type": "work_item", "subject_id": item_id, "kind": "evidence", "visibility": "owner",
              "department": "court", "next": f"/my/submissions/{ref}", "_csrf_token": csrf(client)},
        files={"file": ("车辆照片.jpg", JPEG, "image/jpeg")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text
    mine = (await client.get(f"/my/submissions/{ref}")).text
    assert "车辆照片.jpg" in mine
    doc_id = mine.split('href="/documents/', 1)[1].split('"', 1)[0]

    court = await factory.user("staff", "court")
    await sign_in(client, court)
    staff_page = (await client.get(f"/staff/items/{ref}")).text
    assert "车辆照片.jpg" in staff_page
    opened = await client.get(f"/documents/{doc_id}")
    assert opened.status_code == 200 and opened.content == JPEG

    water = await factory.user("staff", "water")
    await sign_in(client, water)
    assert (await client.get(f"/documents/{doc_id}")).status_code == 404


async def test_a_citizen_cannot_attach_to_someone_elses_submission(client: Client, factory: Factory) -> None:
    owner = await factory.user("creditor")
    await sign_in(client, owner)
    form = await client.get("/my/submissions/new/asset_clue")
    key = form_value(form.text, "/my/submissions/new/asset_clue", "_key")
    sent = await post(client, "/my/submissions/new/asset_clue", {**CLUE, "_key": key})
    page = (await client.get(sent.headers["location"])).text
    item_id = page.split('name="subject_id" value="', 1)[1].split('"', 1)[0]

    intruder = await factory.user("creditor")
    await sign_in(client, intruder)
    upload = await client.post(
        "/documents",
        data={"subject_type": "work_item", "subject_id": item_id, "kind": "evidence", "visibility": "owner",
              "department": "court", "_csrf_token": csrf(client)},
        files={"file": ("x.jpg", JPEG, "image/jpeg")},
        follow_redirects=False,
    )
    assert upload.status_code in (403, 404)
