"""Who reaches a case: the right answers, a linked account, court staff of its court; nobody else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseParty, CourtStaff
from tests.cases.conftest import CREDITOR_ID, DEBTOR_ID, Client, MadeCase, id_number, make_case, open_case
from tests.conftest import Factory, login


async def test_right_answers_open_the_case_page_in_chinese(client: Client, case: MadeCase) -> None:
    resp = await open_case(client, "（2024）浙0681执1234号", CREDITOR_ID.lower(), " case-2345 ")
    assert resp.status_code == 303 and resp.headers["location"] == f"/cases/{case.id}"
    page = await client.get(resp.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert "(2024)浙0681执1234号" in html and "诸暨市人民法院" in html
    assert "立案受理" in html and "已查封" in html and "扣划银行存款" in html
    assert "张三" in html  # their own name in full
    assert "李*" in html and "李四" not in html and "王*" in html  # others masked
    assert "****" in html and OTHER_TAIL not in html.replace("****" + OTHER_TAIL, "")
    assert "¥23,333.33" in html and "已发放" in html  # their own payout
    assert f'hx-get="/cases/{case.id}/live"' in html


OTHER_TAIL = id_number("33010219900303345")[-4:]


async def test_english_on_request(client: Client, case: MadeCase) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    page = await client.get(f"/cases/{case.id}?lang=en")
    assert page.status_code == 200
    assert "Case filed" in page.text and "Seized" in page.text and "Your payout" in page.text
    assert "Zhuji People" in page.text


async def test_wrong_answers_look_the_same_whether_or_not_the_case_exists(client: Client, case: MadeCase) -> None:
    wrong_code = await open_case(client, case.number, CREDITOR_ID, "WRONG234")
    wrong_id = await open_case(client, case.number, id_number("11010519491231002"), case.code)
    no_case = await open_case(client, "(2023)浙0681执9999号", CREDITOR_ID, case.code)
    assert wrong_code.status_code == wrong_id.status_code == no_case.status_code == 404

    def body(resp: object) -> str:
        text = resp.text.split('<main id="main">')[1]  # type: ignore[attr-defined]
        return text.replace(case.number, "N").replace("(2023)浙0681执9999号", "N")

    assert body(wrong_code) == body(wrong_id) == body(no_case)
    assert "不匹配" in body(no_case)
    assert (await client.get(f"/cases/{case.id}", follow_redirects=False)).status_code == 303  # no grant


async def test_malformed_numbers_are_explained_not_counted(client: Client) -> None:
    bad_case = await open_case(client, "2024浙0681执1234", CREDITOR_ID, "X")
    assert bad_case.status_code == 422 and "带括号的四位年份" in bad_case.text
    bad_digit = await open_case(client, "(2024)浙0681执1234号", CREDITOR_ID[:-1] + ("0" if CREDITOR_ID[-1] != "0"
                                                                                    else "1"), "X")
    assert bad_digit.status_code == 422 and "校验位" in bad_digit.text
    court = await open_case(client, "(2024)浙9999执1号", CREDITOR_ID, "X")
    assert court.status_code == 422 and "浙9999" in court.text


async def test_repeated_failures_lock_the_client_even_for_the_right_answers(client: Client, case: MadeCase) -> None:
    for _ in range(20):  # THROTTLE_FAILURES=5 in tests: a client may fail 20 times per window
        assert (await open_case(client, case.number, CREDITOR_ID, "WRONG234")).status_code == 404
    locked = await open_case(client, case.number, CREDITOR_ID, "WRONG234")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    right = await open_case(client, case.number, CREDITOR_ID, case.code)
    assert right.status_code == 429  # a burst cannot hide the right answer among refused ones


async def test_many_clients_lock_the_case_number_but_not_its_grant_holders(client: Client, case: MadeCase) -> None:
    ok = await open_case(client, case.number, CREDITOR_ID, case.code)
    assert ok.status_code == 303
    for i in range(100):
        resp = await open_case(client, case.number, CREDITOR_ID, "WRONG234", **{"X-Forwarded-For": f"10.0.{i}.1"})
        assert resp.status_code in (404, 429)
    assert (await open_case(client, case.number, CREDITOR_ID, case.code,
                            **{"X-Forwarded-For": "10.9.9.9"})).status_code == 429  # the case is locked for now
    assert (await client.get(f"/cases/{case.id}")).status_code == 200  # the holder's device still opens it


async def test_debtor_sees_obligations_and_seizures_not_the_distribution(client: Client, case: MadeCase) -> None:
    resp = await open_case(client, case.number, DEBTOR_ID, case.code)
    assert resp.status_code == 303
    html = (await client.get(resp.headers["location"])).text
    assert "王五" in html and 'id="obligations"' in html and "¥1,200,000.00" in html
    assert "已查封" in html and "诸暨市暨阳街道" in html
    assert "分配方案" not in html and "¥23,333.33" not in html and "张*" in html


async def test_signed_in_party_is_linked_and_then_needs_no_answers(client: Client, case: MadeCase,
                                                                   factory: Factory, session: AsyncSession) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    assert (await open_case(client, case.number, CREDITOR_ID, case.code)).status_code == 303
    party = await session.scalar(select(CaseParty).where(CaseParty.case_id == case.id, CaseParty.source_id == "p1"))
    assert party is not None and party.user_id == user.id
    await client.post("/cases/forget", data={"_csrf_token": client.cookies.get("csrftoken") or ""})
    assert (await client.get(f"/cases/{case.id}")).status_code == 200  # the account alone opens it now
    lookup = await client.get("/cases")
    assert f'href="/cases/{case.id}"' in lookup.text


async def test_court_staff_see_only_their_courts_cases(client: Client, factory: Factory, session: AsyncSession,
                                                       settings: object) -> None:
    zhuji = await make_case(session, settings, "(2024)浙0681执1234号")  # type: ignore[arg-type]
    gongshu = await make_case(session, settings, "(2024)浙0105执77号")  # type: ignore[arg-type]
    clerk = await factory.user("staff", "court")
    session.add(CourtStaff(user_id=clerk.id, court_code="浙0681"))
    await session.commit()
    await login(client, clerk.email)
    listing = await client.get("/staff/cases")
    assert zhuji.number in listing.text and gongshu.number not in listing.text
    mine = await client.get(f"/staff/cases/{zhuji.id}")
    assert mine.status_code == 200 and "张三" in mine.text and "李四" in mine.text  # names in full for staff
    assert (await client.get(f"/staff/cases/{gongshu.id}")).status_code == 404
    assert (await client.get(f"/cases/{zhuji.id}", follow_redirects=False)).status_code == 303  # not as a party


async def test_other_departments_cannot_open_staff_case_pages(client: Client, factory: Factory,
                                                              case: MadeCase) -> None:
    tax = await factory.user("staff", "tax")
    await login(client, tax.email)
    assert (await client.get(f"/staff/cases/{case.id}")).status_code == 403


async def test_an_administrator_assigns_court_staff_to_a_court(client: Client, factory: Factory, case: MadeCase,
                                                               session: AsyncSession) -> None:
    from tests.conftest import csrf

    clerk = await factory.user("staff", "court")
    admin = await factory.user("admin")
    await login(client, admin.email)
    page = await client.get("/staff/cases")
    assert 'action="/staff/cases/courts"' in page.text
    title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and page.text.count('id="courts"') == 1  # the court form once, in the page body
    resp = await client.post("/staff/cases/courts", data={"user_id": str(clerk.id), "court_code": "浙0681",
                                                          "assigned": "1", "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 303
    rows = (await session.scalars(select(CourtStaff.court_code).where(CourtStaff.user_id == clerk.id))).all()
    assert list(rows) == ["浙0681"]
    wrong = await client.post("/staff/cases/courts", data={"user_id": str(admin.id), "court_code": "浙0681",
                                                           "assigned": "1", "_csrf_token": csrf(client)})
    assert wrong.status_code == 409 and "执行局" in wrong.text
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    await login(client, clerk.email)
    assert case.number in (await client.get("/staff/cases")).text
    refused = await client.post("/staff/cases/courts", data={"user_id": str(clerk.id), "court_code": "浙0105",
                                                             "assigned": "1", "_csrf_token": csrf(client)})
    assert refused.status_code == 403
