"""The court attaches a document to a case; its parties open it, nobody else does."""

from __future__ import annotations

import re

from tests.cases.conftest import CREDITOR_ID, Client, MadeCase, open_case
from tests.conftest import Factory, csrf, login

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _attach(client: Client, case_id: int, visibility: str, name: str) -> int:
    page = await client.get(f"/staff/cases/{case_id}")
    assert 'name="subject_type" value="case"' in page.text  # the upload widget is on the staff case page
    resp = await client.post("/documents", data={
        "subject_type": "case", "subject_id": str(case_id), "kind": "sale_ruling", "visibility": visibility,
        "department": "court", "next": f"/staff/cases/{case_id}", "_csrf_token": csrf(client)},
        files={"file": (name, PDF, "application/pdf")}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    listed = (await client.get(f"/staff/cases/{case_id}")).text
    return int(re.findall(r'href="/documents/(\d+)">' + re.escape(name), listed)[0]) if visibility == "owner" else 0


async def test_parties_open_the_courts_shared_documents_only(client: Client, case: MadeCase, factory: Factory,
                                                             session: object) -> None:
    from cases.models import CourtStaff

    clerk = await factory.user("staff", "court")
    factory.session.add(CourtStaff(user_id=clerk.id, court_code="浙0681"))
    await factory.session.commit()
    await login(client, clerk.email)
    shared = await _attach(client, case.id, "owner", "成交裁定书.pdf")
    await _attach(client, case.id, "department", "内部审批表.pdf")
    client.cookies.clear()

    assert (await client.get(f"/documents/{shared}")).status_code == 404  # a stranger
    await open_case(client, case.number, CREDITOR_ID, case.code)
    page = (await client.get(f"/cases/{case.id}")).text
    assert "成交裁定书.pdf" in page and "内部审批表.pdf" not in page
    download = await client.get(f"/documents/{shared}")
    assert download.status_code == 200 and download.content == PDF
