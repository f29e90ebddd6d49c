"""Staff attach a sale ruling to a step; the buyer downloads it from the tracking page."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _attach(client: Client, step_id: int, buyer_id: int, *, kind: str = "sale_ruling",
                  name: str = "成交裁定书.pdf", data: bytes = PDF, department: str = "court"):  # type: ignore[no-untyped-def]
    return await client.post(
        "/documents",
        data={"subject_type": "transfer_step", "subject_id": str(step_id), "kind": kind, "visibility": "owner",
              "department": department, "owner_id": str(buyer_id), "next": "/staff", "_csrf_token": csrf(client)},
        files={"file": (name, data, "application/pdf")},
        follow_redirects=False,
    )


async def test_court_attaches_the_ruling_and_the_code_holder_downloads_it(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    no = new.transfer.tracking_no
    step = next(s for s in new.transfer.steps if s.key == "ruling_served")
    court = await factory.user("staff", "court")
    await login(client, court.email)
    staff_page = await client.get(f"/staff/transfers/{no}")
    assert f'name="subject_id" value="{step.id}"' in staff_page.text  # the upload widget is on the step
    resp = await _attach(client, step.id, buyer.id)
    assert resp.status_code == 303, resp.text

    client.cookies.clear()
    await client.get("/track")
    verified = await client.post("/track", data={"tracking_no": no, "code": new.code, "_csrf_token": csrf(client)},
                                 follow_redirects=False)
    assert verified.status_code == 303
    page = (await client.get(f"/track/{no}")).text
    assert "成交裁定书.pdf" in page
    doc_id = page.split('/documents/', 1)[1].split('"', 1)[0]
    download = await client.get(f"/documents/{doc_id}")
    assert download.status_code == 200 and download.content == PDF
    assert "attachment" in download.headers["content-disposition"]

    # Someone without the grant (or another buyer) cannot open it.
    client.cookies.clear()
    assert (await client.get(f"/documents/{doc_id}")).status_code == 404
    other = await factory.user("buyer")
    await login(client, other.email)
    assert (await client.get(f"/documents/{doc_id}")).status_code == 404
    client.cookies.clear()
    await login(client, buyer.email)
    assert (await client.get(f"/documents/{doc_id}")).status_code == 200


async def test_staff_of_another_department_cannot_attach_to_a_court_step(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    step = next(s for s in new.transfer.steps if s.key == "ruling_served")
    water = await factory.user("staff", "water")
    await login(client, water.email)
    resp = await _attach(client, step.id, buyer.id, department="court")
    assert resp.status_code in (403, 404)


async def test_an_executable_dressed_as_a_pdf_is_refused(client: Client, factory: Factory) -> None:
    new, buyer = await factory.transfer()
    step = next(s for s in new.transfer.steps if s.key == "ruling_served")
    court = await factory.user("staff", "court")
    await login(client, court.email)
    resp = await _attach(client, step.id, buyer.id, data=b"MZ\x90\x00" + b"\x00" * 100)
    assert resp.status_code in (400, 415, 422)
    page = (await client.get(f"/staff/transfers/{new.transfer.tracking_no}")).text
    assert "/documents/" not in page.split('id="step-ruling_served"')[1].split("</li>")[0].split("<details")[0]
