"""The assistant's JSON lookups: the same checks as the page, the contract of docs/cases.md."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.identity import make_citizen_token
from cases.models import CaseParty
from portal.settings import Settings
from tests.cases.conftest import CREDITOR_ID, DEBTOR_ID, Client, MadeCase, id_number
from tests.conftest import TEST_TOKEN, Factory

BEARER = {"Authorization": f"Bearer {TEST_TOKEN}", "X-Chat-Client": "chat-browser-1"}


async def _lookup(client: Client, number: str, id_no: str, code: str, **extra: str):  # type: ignore[no-untyped-def]
    return await client.post("/api/v1/cases/lookup", json={"case_number": number, "id_number": id_no,
                                                           "query_code": code, **extra}, headers=BEARER)


async def test_lookup_answers_the_contract(client: Client, case: MadeCase) -> None:
    resp = await _lookup(client, case.number, CREDITOR_ID, case.code)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"case_number", "court", "stage", "stage_label", "role", "latest_node", "next", "assets",
                         "my_payout", "url"}
    assert body["case_number"] == case.number and body["court"] == "诸暨市人民法院" and body["role"] == "creditor"
    assert body["stage"] == "asset_search" and body["stage_label"] == "财产查控"
    assert set(body["latest_node"]) == {"name", "at", "description"} and body["latest_node"]["name"].startswith("网络查控")
    assert body["next"]["name"] == "查封" and body["next"]["likely_from"] is None  # no measured cases yet
    assert {a["state"] for a in body["assets"]} == {"seized", "frozen"}
    assert body["my_payout"] == {"amount": "23333.33", "status": "paid", "status_label": "已发放"}


async def test_lookup_in_english_and_for_a_debtor(client: Client, case: MadeCase) -> None:
    resp = await _lookup(client, case.number, DEBTOR_ID, case.code, language="en")
    body = resp.json()
    assert resp.status_code == 200 and body["role"] == "debtor" and body["my_payout"] is None
    assert body["court"] == "Zhuji People's Court" and body["stage_label"] == "Asset search"


async def test_lookup_wrong_answers_are_one_404_and_bad_input_is_422(client: Client, case: MadeCase) -> None:
    a = await _lookup(client, case.number, CREDITOR_ID, "WRONG234")
    b = await _lookup(client, "(2020)浙0681执1号", CREDITOR_ID, case.code)
    c = await _lookup(client, case.number, id_number("11010519491231002"), case.code)
    assert a.status_code == b.status_code == c.status_code == 404
    assert a.json() == b.json() == c.json() and a.json()["code"] == "case_not_found"
    bad = await _lookup(client, case.number, CREDITOR_ID[:17] + "0" if CREDITOR_ID[-1] != "0" else CREDITOR_ID[:17] + "1",
                        case.code, language="en")
    assert bad.status_code == 422 and bad.json()["code"] == "id_number_invalid" and "check digit" in bad.json()["message"]


async def test_lookup_is_throttled_per_chat_client(client: Client, case: MadeCase) -> None:
    for _ in range(20):
        assert (await _lookup(client, case.number, CREDITOR_ID, "WRONG234")).status_code == 404
    refused = await _lookup(client, case.number, CREDITOR_ID, case.code)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled" and "retry-after" in refused.headers


async def test_lookup_needs_the_service_token(client: Client, case: MadeCase) -> None:
    resp = await client.post("/api/v1/cases/lookup", json={"case_number": case.number, "id_number": CREDITOR_ID,
                                                           "query_code": case.code})
    assert resp.status_code == 401


async def test_mine_lists_the_citizens_linked_cases(client: Client, case: MadeCase, factory: Factory,
                                                    session: AsyncSession, settings: Settings) -> None:
    user = await factory.user("creditor")
    stranger = await factory.user("creditor")
    await session.execute(update(CaseParty).where(CaseParty.source_id == "p1").values(user_id=user.id))
    await session.commit()
    mine = await client.get("/api/v1/cases/mine", headers={
        **BEARER, "X-Citizen-Token": make_citizen_token(settings.secret_key, user.id)})
    assert mine.status_code == 200 and [c["case_number"] for c in mine.json()["cases"]] == [case.number]
    assert mine.json()["cases"][0]["my_payout"]["status"] == "paid"
    none = await client.get("/api/v1/cases/mine", headers={
        **BEARER, "X-Citizen-Token": make_citizen_token(settings.secret_key, stranger.id)})
    assert none.status_code == 200 and none.json() == {"cases": []}
    assert (await client.get("/api/v1/cases/mine", headers=BEARER)).status_code == 403
