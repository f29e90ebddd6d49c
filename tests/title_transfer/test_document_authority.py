"""Who may attach what where (issue 9): staff act on their own department's subjects only, the
owner comes from the subject, public documents only on lots, unknown subjects are 404, and
malformed numbers are refused with a 4xx. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from accounts.models import User
from backoffice.models import WorkItem
from documents import Document
from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOO_BIG = 2**63


async def _upload(client: Client, subject_type: str, subject_id: int | str, *, kind: str = "other",
                  visibility: str = "owner", department: str = "", owner_id: str = "",
                  data: bytes = PDF, name: str = "a.pdf"):  # type: ignore[no-untyped-def]
    form = {"subject_type": subject_type, "subject_id": str(subject_id), "kind": kind, "visibility": visibility,
            "_csrf_token": csrf(client)}
    if department:
        form["department"] = department
    if owner_id:
        form["owner_id"] = owner_id
    return await client.post("/documents", data=form, files={"file": (name, data, "application/pdf")},
                             follow_redirects=False)


async def _documents(factory: Factory) -> int:
    return int(await factory.session.scalar(select(func.count()).select_from(Document)) or 0)


async def _court_item_for(factory: Factory, citizen: User) -> WorkItem:
    item = WorkItem(kind="asset_clue", department="court", subject="线索", citizen_id=citizen.id,
                    due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    factory.session.add(item)
    await factory.session.commit()
    return item


async def test_water_staff_cannot_put_a_sale_ruling_on_a_court_item(client: Client, factory: Factory) -> None:
    buyer = await factory.user("buyer")
    item = await _court_item_for(factory, buyer)
    await login(client, (await factory.user("staff", "water")).email)
    before = await _documents(factory)
    resp = await _upload(client, "work_item", item.id, kind="sale_ruling", department="water")
    assert resp.status_code == 403, resp.text
    assert "court" in resp.json()["message_en"].lower() or "department" in resp.json()["message_en"].lower()
    assert await _documents(factory) == before


async def test_water_staff_cannot_put_a_tax_receipt_on_the_tax_step(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    step = next(s for s in new.transfer.steps if s.key == "tax_paid")
    await login(client, (await factory.user("staff", "water")).email)
    resp = await _upload(client, "transfer_step", step.id, kind="tax_receipt", department="water")
    assert resp.status_code == 403, resp.text
    # Nor by naming the owning department.
    resp = await _upload(client, "transfer_step", step.id, kind="tax_receipt", department="tax")
    assert resp.status_code == 403, resp.text


async def test_a_department_issues_only_its_own_kinds(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    water_step = next(s for s in new.transfer.steps if s.key == "water_handover")
    await login(client, (await factory.user("staff", "water")).email)
    refused = await _upload(client, "transfer_step", water_step.id, kind="sale_ruling")
    assert refused.status_code == 403, refused.text
    assert "sale ruling" in refused.json()["message_en"].lower()
    allowed = await _upload(client, "transfer_step", water_step.id, kind="other")
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["department"] == "water"


async def test_no_public_document_on_a_buyers_transfer(client: Client, factory: Factory) -> None:
    new, _ = await factory.transfer()
    step = next(s for s in new.transfer.steps if s.key == "ruling_served")
    await login(client, (await factory.user("staff", "court")).email)
    before = await _documents(factory)
    resp = await _upload(client, "transfer_step", step.id, kind="sale_ruling", visibility="public")
    assert resp.status_code in (400, 403), resp.text
    resp = await _upload(client, "transfer", new.transfer.id, kind="other", visibility="public")
    assert resp.status_code in (400, 403), resp.text
    assert await _documents(factory) == before


async def test_unknown_subjects_are_404(client: Client, factory: Factory) -> None:
    await login(client, (await factory.user("staff", "court")).email)
    for subject_type in ("transfer_step", "transfer", "work_item", "lot"):
        resp = await _upload(client, subject_type, 987654321, kind="other")
        assert resp.status_code == 404, (subject_type, resp.text)
    resp = await _upload(client, "case", 1, kind="other")  # no case can be looked up yet
    assert resp.status_code == 404, resp.text


async def test_the_owner_comes_from_the_subject_not_the_form(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    stranger = await factory.user("buyer")
    step = next(s for s in new.transfer.steps if s.key == "ruling_served")
    await login(client, (await factory.user("staff", "court")).email)
    resp = await _upload(client, "transfer_step", step.id, kind="sale_ruling", owner_id=str(stranger.id))
    assert resp.status_code == 201, resp.text
    doc = await factory.session.get(Document, resp.json()["id"])
    assert doc is not None and doc.owner_id == buyer.id
    # An owner that does not exist changes nothing either (it used to be a 500).
    resp = await _upload(client, "transfer_step", step.id, kind="sale_ruling", owner_id="999999999")
    assert resp.status_code == 201, resp.text

    client.cookies.clear()
    await login(client, stranger.email)
    assert (await client.get(f"/documents/{doc.id}")).status_code == 404


async def test_the_item_citizen_owns_what_staff_attach_to_a_work_item(client: Client, factory: Factory) -> None:
    citizen = await factory.user("creditor")
    item = await _court_item_for(factory, citizen)
    await login(client, (await factory.user("staff", "court")).email)
    resp = await _upload(client, "work_item", item.id, kind="sale_ruling")
    assert resp.status_code == 201, resp.text
    doc = await factory.session.get(Document, resp.json()["id"])
    assert doc is not None and (doc.owner_id, doc.department) == (citizen.id, "court")


async def test_numbers_too_large_for_the_database_are_4xx(client: Client, factory: Factory) -> None:
    await login(client, (await factory.user("staff", "court")).email)
    # A document id is a RowId (storage.ids): out of range is a 400 that names the parameter.
    for path in (f"/documents/{TOO_BIG}", f"/documents/{TOO_BIG}/thumbnail", f"/documents/{10**30}"):
        resp = await client.get(path, headers={"Accept": "application/json"})
        assert resp.status_code == 400, (path, resp.status_code, resp.text)
        assert "document_id" in resp.text
    resp = await client.post(f"/documents/{TOO_BIG}/delete", data={"_csrf_token": csrf(client)})
    assert resp.status_code == 400, resp.text
    resp = await client.get("/documents/", params={"subject_type": "transfer", "subject_id": str(TOO_BIG)})
    assert resp.status_code == 400, resp.text
    resp = await _upload(client, "transfer_step", TOO_BIG, kind="other")
    assert resp.status_code == 400, resp.text
    assert "number" in resp.json()["message_en"]


async def test_options_with_a_multipart_body_is_not_a_500(client: Client) -> None:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n--b--\r\n")
    resp = await client.request("OPTIONS", "/documents", content=body,
                                headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code < 500, resp.text
    resp = await client.request("OPTIONS", "/documents/", content=body,
                                headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code < 500, resp.text


@pytest.mark.parametrize("value", ["-1", "0", "1e3", str(TOO_BIG), "9" * 40])
async def test_list_refuses_bad_subject_numbers(client: Client, value: str) -> None:
    resp = await client.get("/documents/", params={"subject_type": "transfer", "subject_id": value})
    assert 400 <= resp.status_code < 500, resp.text
