"""The demo transfer carries its sale ruling and assistance notice as files that download."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from portal.demo import DEMO_TRANSFERS, load_demo_data
from portal.demo_documents import one_page_pdf
from tests.conftest import TEST_SECRET, csrf

Client = AsyncTestClient[Litestar]


def test_the_generated_pdf_is_well_formed() -> None:
    pdf = one_page_pdf(["Hello (demo)", "second line"])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref:xref + 4] == b"xref"
    assert b"Hello \\(demo\\)" in pdf


async def test_the_buyer_downloads_the_demo_ruling_and_notice(client: Client, app: Litestar,
                                                              session: AsyncSession) -> None:
    store = app.state.ctx.document_store
    created = await load_demo_data(session, TEST_SECRET, store)
    await session.commit()
    assert any("sale-ruling" in line for line in created)
    assert not [x for x in await load_demo_data(session, TEST_SECRET, store) if x.startswith("document")]  # idempotent
    await session.commit()

    await client.get("/track")
    resp = await client.post("/track", data={"tracking_no": "ZT2026000001", "code": DEMO_TRANSFERS["ZT2026000001"],
                                             "_csrf_token": csrf(client)}, follow_redirects=False)
    assert resp.status_code == 303
    page = (await client.get("/track/ZT2026000001")).text
    docs = page.split('id="docs-h"', 1)[1]
    links = re.findall(r'<a href="(/documents/\d+)" download>([^<]+)</a>', docs)
    names = [name for _, name in links]
    assert "sale-ruling-2025-zhe0681-zhi1234.pdf" in names and "assistance-notice-2025-zhe0681-zhi1234.pdf" in names
    for url, _ in links:
        got = await client.get(url)
        assert got.status_code == 200 and got.content.startswith(b"%PDF-")
        assert got.headers["content-type"].startswith("application/pdf")
    # Without the code (another browser), the files are not handed out.
    client.cookies.clear()
    assert (await client.get(links[0][0])).status_code in (401, 403, 404)
