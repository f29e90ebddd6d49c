"""The queue does not know the domains: a domain opens items and registers what completing
them means (here a stand-in for the listings' joint pre-review)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.identity import make_citizen_token
from accounts.principal import Principal
from backoffice import service
from backoffice.errors import HandlerRefused
from backoffice.models import WorkItem
from backoffice.registry import Claim, Fact, Figure, Link, MetricsSection, SourceAdapter, Verified, registry
from portal.settings import Settings
from tests.backoffice.helpers import BEARER, Client, audit_actions, fresh, sign_in
from tests.conftest import Factory


@pytest.fixture
def answered() -> Iterator[list[tuple[int, str | None]]]:
    calls: list[tuple[int, str | None]] = []

    async def on_done(session: AsyncSession, item: WorkItem, actor: Principal, note: str | None) -> None:
        if note == "refuse":
            raise HandlerRefused("联审意见不完整。", "The finding is incomplete.")
        calls.append((item.source_id or 0, note))

    registry.on_complete("pre_review", on_done)
    yield calls
    registry.completion.pop("pre_review", None)


async def test_a_domain_opens_items_and_hears_when_they_are_done(factory: Factory, session: AsyncSession,
                                                                 answered: list[tuple[int, str | None]]) -> None:
    staff = factory.principal(await factory.user("staff", "urban_management"))
    item = await service.follow_source(session, source_type="pre_review_request", source_id=4242, kind="pre_review",
                                       department="urban_management", open_=True, subject="LOT-1 违建核查",
                                       data={"lot_no": "LOT-1"})
    again = await service.follow_source(session, source_type="pre_review_request", source_id=4242, kind="pre_review",
                                        department="urban_management", open_=True, subject="LOT-1 违建核查",
                                        data={"lot_no": "LOT-1"})
    await session.commit()
    assert item is not None and again is not None and again.id == item.id  # one item per source
    item_id = item.id
    await service.claim(session, item_id, staff)
    await session.commit()

    with pytest.raises(HandlerRefused):
        await service.complete(session, item_id, staff, "refuse")
    await session.rollback()
    assert (await fresh(session, item_id)).state == "claimed"  # refused: nothing changed

    await service.complete(session, item_id, staff, "无违建")
    await session.commit()
    assert answered == [(4242, "无违建")]
    assert (await fresh(session, item_id)).state == "done"
    assert await audit_actions(session, item_id) == ["open", "claim", "complete"]


class CaseAdapter(SourceAdapter):
    """A stand-in for a domain the queue has never heard of (creditors' cases)."""

    source_type = "case_demo"
    reference_field = "case_number"

    def __init__(self) -> None:
        self.claims: list[Claim] = []

    def subject(self, item: WorkItem, lang: str) -> str | None:
        return ("案件 " if lang == "zh" else "Case ") + str((item.data or {}).get("case_no"))

    def facts(self, item: WorkItem) -> list[Fact]:
        return [Fact("案件编号", "Case file", str((item.data or {}).get("case_no")), str((item.data or {}).get("case_no")))]

    def staff_link(self, item: WorkItem) -> Link | None:
        return Link(f"/staff/cases/{item.source_id}", "打开案件", "Open the case", "案件页面为准", "The case page decides")

    def citizen_link(self, item: WorkItem) -> Link | None:
        return Link(f"/my/cases/{item.source_id}", "查看我的案件", "See my case")

    async def verify(self, ctx: object, claim: Claim) -> Verified | None:
        self.claims.append(claim)
        if "9999" in claim.reference or claim.citizen_id is None:
            return None
        return Verified(reference=claim.reference.replace(" ", ""), owner_id=claim.citizen_id)

    def refusal(self, claim: Claim) -> tuple[str, str]:
        return "该案件不属于您。", "This case is not yours."

    async def metrics(self, session: AsyncSession) -> list[MetricsSection]:
        return [MetricsSection("案件办理", "Case handling", "案件用时(中位数,天)", "Days per case (median)",
                               [Figure("立案到结案", "Filed to closed", 12.0, 5)])]


@pytest.fixture
def case_adapter() -> Iterator[CaseAdapter]:
    adapter = CaseAdapter()
    registry.register(adapter)
    yield adapter
    registry.unregister(adapter.source_type)


async def test_a_new_source_type_plugs_in_through_its_adapter(client: Client, factory: Factory, settings: Settings,
                                                              session: AsyncSession, case_adapter: CaseAdapter) -> None:
    creditor = await factory.user("creditor")
    clue = {"case_number": "(2024)浙0681执1234号", "asset_type": "bank_account", "description": "某银行账户。",
            "contact_name": "李*华", "contact_phone": "13812345678"}

    def headers() -> dict[str, str]:
        return {**BEARER, "Idempotency-Key": f"test-{uuid.uuid4()}", "X-Chat-Sender": "s-1",
                "X-Citizen-Token": make_citizen_token(settings.secret_key, creditor.id)}

    # A form naming one of its objects is verified by the adapter: refused with its words…
    refused = await client.post("/api/v1/submissions", headers=headers(), json={
        "kind": "asset_clue", "channel": "chat", "language": "zh",
        "data": {**clue, "case_number": "(2024)浙0681执9999号"}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "case_number", "message_zh": "该案件不属于您。",
                                        "message_en": "This case is not yours."}]
    # …or accepted, the item filed for the object's owner.
    accepted = await client.post("/api/v1/submissions", headers=headers(),
                                 json={"kind": "asset_clue", "channel": "chat", "language": "zh", "data": clue})
    assert accepted.status_code == 201, accepted.text
    assert [c.reference for c in case_adapter.claims] == ["(2024)浙0681执9999号", "(2024)浙0681执1234号"]
    assert all(c.citizen_id == creditor.id for c in case_adapter.claims)

    # An item the domain opens is labelled, described and linked through the adapter.
    item = await service.follow_source(session, source_type="case_demo", source_id=77, kind="pre_review",
                                       department="court", open_=True, citizen_id=creditor.id,
                                       subject="stored subject", data={"case_no": "C-77"})
    await session.commit()
    assert item is not None
    await sign_in(client, await factory.user("staff", "court"))
    staff_page = await client.get(f"/staff/items/{item.reference}")
    assert staff_page.status_code == 200
    assert 'href="/staff/cases/77"' in staff_page.text and "打开案件" in staff_page.text
    assert "案件页面为准" in staff_page.text and "案件编号" in staff_page.text and "C-77" in staff_page.text
    inbox = await client.get("/staff?view=all")
    assert "案件 C-77" in inbox.text
    board = await client.get("/staff/dashboard")
    assert "案件办理" in board.text and "立案到结案" in board.text and "12.0 天" in board.text
    assert "Case handling" in (await client.get("/staff/dashboard?lang=en")).text

    await sign_in(client, creditor)
    mine = await client.get(f"/my/submissions/{item.reference}")
    assert mine.status_code == 200
    assert 'href="/my/cases/77"' in mine.text and "查看我的案件" in mine.text and "/staff/cases/" not in mine.text


async def test_a_form_whose_check_nobody_registered_is_refused_not_filed(client: Client, factory: Factory,
                                                                         settings: Settings) -> None:
    adapter = registry.adapter("transfer_step")
    assert adapter is not None
    registry.unregister("transfer_step")
    try:
        resp = await client.post("/api/v1/submissions", headers={**BEARER, "Idempotency-Key": f"test-{uuid.uuid4()}"},
                                 json={"kind": "utility_handover", "channel": "chat", "language": "zh",
                                       "data": {"tracking_number": "ZT2026000001", "verification_code": "ABCD2345",
                                                "utility_type": "water", "account_holder_name": "张*明",
                                                "contact_phone": "13812345678"}})
    finally:
        registry.register(adapter)
    assert resp.status_code == 503
