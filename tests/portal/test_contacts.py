"""Contacts are data per department and court, checked at start-up, shown where a page says call or visit."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.contacts import CONTACTS_FILE, ContactError, contacts, load_contacts
from accounts.departments import Department
from tests.conftest import Factory, csrf
from title_transfer.service import load_transfer, move_step

Client = AsyncTestClient[Litestar]


def test_every_department_has_a_contact_and_the_courts_are_named() -> None:
    data = contacts()
    for dept in Department:
        assert data.department(dept.value).phone
    assert data.court("诸暨市人民法院").name_zh.startswith("诸暨市人民法院")
    assert data.for_step("gas", "诸暨市人民法院").phone == data.department("gas").phone
    assert data.for_step("court", "杭州市拱墅区人民法院").phone == "0571-0000-2001"


def test_a_file_missing_a_department_or_with_a_bad_phone_is_refused(tmp_path: Path) -> None:
    text = CONTACTS_FILE.read_text(encoding="utf-8")
    gone = tmp_path / "no-gas.toml"
    gone.write_text(text.replace("[departments.gas]", "[departments.gas_unused]"), encoding="utf-8")
    with pytest.raises(ContactError, match="missing \\['gas'\\]"):
        load_contacts(gone)
    bad = tmp_path / "bad-phone.toml"
    bad.write_text(text.replace('phone = "0575-0000-1006"', 'phone = "call us"'), encoding="utf-8")
    with pytest.raises(ContactError, match="departments.gas.phone"):
        load_contacts(bad)


async def test_a_blocked_step_shows_who_to_call(client: Client, factory: Factory, session: AsyncSession) -> None:
    new, _ = await factory.transfer()
    transfer = await load_transfer(session, new.transfer.tracking_no, for_update=True)
    assert transfer is not None
    gas = factory.principal(await factory.user("staff", "gas"))
    step = next(s for s in transfer.steps if s.key == "gas_handover")
    await move_step(session, transfer, "gas_handover", "block", gas, expected_revision=step.revision,
                    reason="燃气表需入户安全检查,请致电燃气公司预约。")
    await session.commit()
    await client.get("/track")
    await client.post("/track", data={"tracking_no": new.transfer.tracking_no, "code": new.code,
                                      "_csrf_token": csrf(client)})
    page = (await client.get(f"/track/{new.transfer.tracking_no}")).text
    block = page.split('id="step-gas_handover"', 1)[1].split("</details>", 1)[0]
    gas_contact = contacts().department("gas")
    assert '<details class="contact" open>' in block
    assert f'href="tel:{gas_contact.tel}"' in block and gas_contact.address_zh in block and gas_contact.hours_zh in block
    # The court's steps name the court that sold the lot.
    court = contacts().court("诸暨市人民法院")
    ready = page.split('id="step-balance_paid"', 1)[1].split("</details>", 1)[0]
    assert court.phone in ready


async def test_the_lookup_page_gives_the_courts_contacts(client: Client) -> None:
    page = (await client.get("/track")).text
    for court in contacts().courts.values():
        assert court.phone in page and court.address_zh in page
    en = (await client.get("/track?lang=en")).text
    assert contacts().court("诸暨市人民法院").address_en in en
