"""Evidence files on a clue from a party without an account (reached the case with case number +
ID number + query code): the documents domain's limits apply, hostile files are refused before
anything is filed, staff see the files on the queue item."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.models import WorkItem
from documents import (
    Document,
    DocumentKind,
    Guest,
    QuotaExceeded,
    Subject,
    SubjectType,
    build_document_store_from_settings,
    get_limits,
    upload_as_guest,
)
from portal.settings import Settings
from tests.cases.conftest import CREDITOR_ID, Client, MadeCase, open_case
from tests.conftest import Factory, csrf, login

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CLUE = {"asset_type": "vehicle", "description": "被执行人名下一辆白色轿车,常停在小区地库。", "location": "诸暨市",
        "contact_name": "张三", "contact_phone": "13812345678"}


async def _send(client: Client, case: MadeCase, files: list[tuple[str, bytes, str]], key: str,
                **headers: str) -> object:
    await client.get(f"/cases/{case.id}/clues/asset_clue")
    return await client.post(f"/cases/{case.id}/clues/asset_clue",
                             data={**CLUE, "_key": key, "_csrf_token": csrf(client)},
                             files=[("evidence", f) for f in files], headers=headers, follow_redirects=False)


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_party_without_an_account_attaches_evidence_staff_see_it(
        client: Client, case: MadeCase, session: AsyncSession, factory: Factory) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    form = await client.get(f"/cases/{case.id}/clues/asset_clue")
    assert 'type="file" name="evidence"' in form.text and "/login?next=" not in form.text
    resp = await _send(client, case, [("车辆照片说明.pdf", PDF, "application/pdf"),
                                      ("停车位置.pdf", PDF + b"%2", "application/pdf")], "f-1")
    assert resp.status_code == 303, resp.text  # type: ignore[attr-defined]
    assert "files=refused" not in resp.headers["location"]  # type: ignore[attr-defined]
    item = await session.scalar(select(WorkItem).where(WorkItem.kind == "asset_clue"))
    assert item is not None
    docs = (await session.scalars(select(Document).where(Document.subject_type == "work_item",
                                                          Document.subject_id == item.id))).all()
    assert sorted(d.original_name for d in docs) == ["停车位置.pdf", "车辆照片说明.pdf"]
    assert all(d.guest_key and d.guest_key.startswith(f"case:{case.id}p") and d.uploaded_by is None
               and d.kind == "evidence" and d.department == "court" for d in docs)
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    page = await client.get(f"/staff/items/{item.reference}")
    assert page.status_code == 200 and "车辆照片说明.pdf" in page.text and "停车位置.pdf" in page.text


async def test_a_file_of_the_wrong_type_is_refused_and_nothing_is_filed(
        client: Client, case: MadeCase, session: AsyncSession) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    hostile = b"MZ\x90\x00" + b"\x00" * 200  # a Windows program named as a PDF
    resp = await _send(client, case, [("合同.pdf", PDF, "application/pdf"),
                                      ("发票.pdf", hostile, "application/pdf")], "f-2")
    assert resp.status_code == 415  # type: ignore[attr-defined]
    assert "发票.pdf" in resp.text and "文件" in resp.text  # type: ignore[attr-defined]
    en = await _send(client, case, [("invoice.pdf", hostile, "application/pdf")], "f-3", **{"Accept-Language": "en"})
    assert en.status_code == 415 and "invoice.pdf" in en.text  # type: ignore[attr-defined]
    assert await _count(session, WorkItem) == 0 and await _count(session, Document) == 0


async def test_an_oversized_file_is_refused_with_the_limit(client: Client, case: MadeCase,
                                                           session: AsyncSession) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    limit = get_limits().rule(DocumentKind.evidence).max_bytes
    big = PDF + b"0" * (limit + 1 - len(PDF))
    resp = await _send(client, case, [("扫描件.pdf", big, "application/pdf")], "f-4")
    assert resp.status_code == 413  # type: ignore[attr-defined]
    assert "文件太大" in resp.text and "20 MB" in resp.text  # type: ignore[attr-defined]
    assert await _count(session, WorkItem) == 0 and await _count(session, Document) == 0


async def test_without_access_to_the_case_nothing_is_attached(client: Client, case: MadeCase,
                                                              session: AsyncSession) -> None:
    resp = await _send(client, case, [("证据.pdf", PDF, "application/pdf")], "f-5")  # no grant cookie
    assert resp.status_code == 303 and resp.headers["location"] == "/cases"  # type: ignore[attr-defined]
    assert await _count(session, WorkItem) == 0 and await _count(session, Document) == 0


async def test_the_guest_quota_counts_per_case_party(client: Client, case: MadeCase, session: AsyncSession,
                                                     settings: Settings) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    assert (await _send(client, case, [("a.pdf", PDF, "application/pdf")], "f-6")).status_code == 303  # type: ignore[attr-defined]
    item = await session.scalar(select(WorkItem).where(WorkItem.kind == "asset_clue"))
    assert item is not None
    doc = await session.scalar(select(Document).where(Document.subject_id == item.id))
    assert doc is not None and doc.guest_key is not None
    store = build_document_store_from_settings(settings.documents)
    small = dataclasses.replace(get_limits(), citizen_quota_bytes=len(PDF) * 2)
    subject = Subject(SubjectType.work_item, item.id)
    await upload_as_guest(session, store, Guest(doc.guest_key, "t"), subject, DocumentKind.evidence, "b.pdf", PDF,
                          limits=small)
    await session.commit()
    with pytest.raises(QuotaExceeded):
        await upload_as_guest(session, store, Guest(doc.guest_key, "t"), subject, DocumentKind.evidence, "c.pdf",
                              PDF, limits=small)
    await session.rollback()
    # another party's key has its own quota
    await upload_as_guest(session, store, Guest(f"case:{case.id}p999", "t"), subject, DocumentKind.evidence,
                          "d.pdf", PDF, limits=small)
    await session.commit()


async def test_a_clue_sent_with_no_file_chosen_is_filed(client: Client, case: MadeCase, session: AsyncSession) -> None:
    """A browser sends the empty file input as a part with no file name (Litestar hands it over as
    text): the clue is filed, not refused with "this form has no field 'evidence'"."""
    await open_case(client, case.number, CREDITOR_ID, case.code)
    await client.get(f"/cases/{case.id}/clues/asset_clue")
    resp = await client.post(f"/cases/{case.id}/clues/asset_clue",
                             data={**CLUE, "_key": "f-empty", "_csrf_token": csrf(client)},
                             files=[("evidence", ("", b"", "application/octet-stream"))], follow_redirects=False)
    assert resp.status_code == 303, resp.text
    assert "sent=WI-" in resp.headers["location"]
    assert await _count(session, WorkItem) == 1
