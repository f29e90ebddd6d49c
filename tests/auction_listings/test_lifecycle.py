"""A lot's lifecycle on the service: each transition, each refusal, the audit, the version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings import review, service
from auction_listings.errors import LotNotFound, LotRulesBroken, NotYourCourt, StaleLot, WrongStatus
from auction_listings.models import Finding, Lot, LotStatus, ReviewRequest
from auction_listings.read import get_lot
from storage.audit import AuditEntry
from storage.events import hub
from tests.auction_listings.helpers import ANSWERS, NOW, clerk, lot_form
from tests.conftest import Factory


async def _announced(session: AsyncSession, factory: Factory) -> tuple[Lot, object]:
    who = await clerk(factory, session)
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await service.publish(session, who, lot.lot_no, now=NOW)
    await session.commit()
    return lot, who


async def test_a_new_lot_is_a_draft_numbered_by_its_court(factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    with hub.isolated():
        first = await service.create_lot(session, who, lot_form(), now=NOW)
        second = await service.create_lot(session, who, lot_form(title="另一套房"), now=NOW)
        await session.commit()
    assert first.status == LotStatus.draft and first.round == "first"
    assert first.lot_no.startswith("ZJ-0681-2026-") and second.lot_no != first.lot_no
    assert first.court == "诸暨市人民法院"
    audit = (await session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "lot",
                                                                   AuditEntry.subject_id == first.id))).all()
    assert audit == ["lot.create"]


async def test_a_clerk_cannot_enter_or_see_another_courts_lot(factory: Factory, session: AsyncSession) -> None:
    zhuji = await clerk(factory, session, "浙0681")
    gongshu = await clerk(factory, session, "浙0105")
    with hub.isolated():
        with pytest.raises(NotYourCourt):
            await service.create_lot(session, zhuji, lot_form(court_code="浙0105"), now=NOW)
        lot = await service.create_lot(session, zhuji, lot_form(), now=NOW)
        await session.commit()
        with pytest.raises(LotNotFound):
            await service.load_lot(session, gongshu, lot.lot_no)
    assert [x.lot_no for x in await service.lots_for(session, gongshu)] == []


async def test_staff_of_the_court_without_a_court_are_told_to_ask_for_one(factory: Factory,
                                                                         session: AsyncSession) -> None:
    who = factory.principal(await factory.user("staff", "court"))
    with pytest.raises(NotYourCourt) as caught:
        await service.lots_for(session, who)
    assert "administrator" in caught.value.message_en


async def test_the_whole_way_from_draft_to_bidding(factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(), now=NOW)
        v0 = lot.version
        asked = await review.request_review(session, who, lot.lot_no, now=NOW)
        assert {r.department for r in asked} == {"court", "registry", "tax", "urban_management", "water",
                                                 "electricity", "gas"}
        assert lot.status == LotStatus.pre_review and lot.version > v0
        await service.publish(session, who, lot.lot_no, now=NOW)
        assert lot.status == LotStatus.announced and lot.announced_on == dt.date(2026, 12, 1)
        await service.start_bidding(session, who, lot.lot_no)
        assert lot.status == LotStatus.bidding
        await session.commit()


async def test_publishing_checks_every_announcement_rule(factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(deposit="", bidding_starts_at="2026-12-20T10:00",
                                                              bidding_ends_at="2026-12-21T10:00"), now=NOW)
        with pytest.raises(LotRulesBroken) as caught:
            await service.publish(session, who, lot.lot_no, now=NOW)
    fields = caught.value.details["fields"]
    assert set(fields) == {"deposit", "bidding_starts_at"}
    assert "2026-12-31" in fields["bidding_starts_at"]["en"]  # 30 days from the announcement


async def test_transitions_out_of_order_are_refused_with_the_status(factory: Factory, session: AsyncSession) -> None:
    who = await clerk(factory, session)
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(), now=NOW)
        with pytest.raises(WrongStatus) as caught:
            await service.start_bidding(session, who, lot.lot_no)
        assert "draft" in caught.value.message_en and "announced" in caught.value.message_en
        with pytest.raises(WrongStatus):
            await service.record_unsold(session, who, lot.lot_no, now=NOW)
        with pytest.raises(WrongStatus):
            await service.resume(session, who, lot.lot_no)


async def test_suspend_needs_a_reason_and_resumes_where_it_was(factory: Factory, session: AsyncSession) -> None:
    with hub.isolated():
        lot, who = await _announced(session, factory)
        await service.start_bidding(session, who, lot.lot_no)
        with pytest.raises(WrongStatus) as caught:
            await service.suspend(session, who, lot.lot_no, "  ")
        assert caught.value.details["field"] == "reason"
        await service.suspend(session, who, lot.lot_no, "案外人提出异议")
        assert lot.status == LotStatus.suspended and lot.status_reason == "案外人提出异议"
        await service.resume(session, who, lot.lot_no)
        assert lot.status == LotStatus.bidding and lot.status_reason is None


async def test_withdrawing_is_final(factory: Factory, session: AsyncSession) -> None:
    with hub.isolated():
        lot, who = await _announced(session, factory)
        await service.withdraw(session, who, lot.lot_no, "被执行人已履行", now=NOW)
        assert lot.status == LotStatus.withdrawn
        with pytest.raises(WrongStatus):
            await service.withdraw(session, who, lot.lot_no, "again", now=NOW)
        with pytest.raises(WrongStatus) as caught:
            await service.update_lot(session, who, lot.lot_no, lot_form(title="改名"))
        assert "ended" in caught.value.message_en


async def test_an_edit_against_an_older_version_is_refused(factory: Factory, session: AsyncSession) -> None:
    with hub.isolated():
        lot, who = await _announced(session, factory)
        old = lot.version
        await service.update_lot(session, who, lot.lot_no, lot_form(title="新标题"), expected_version=old)
        assert lot.version == old + 1
        with pytest.raises(StaleLot):
            await service.update_lot(session, who, lot.lot_no, lot_form(title="另一个"), expected_version=old)


async def test_unsold_relists_in_the_next_round_with_history_and_findings(factory: Factory,
                                                                          session: AsyncSession) -> None:
    who = await clerk(factory, session)
    tax = factory.principal(await factory.user("staff", "tax"))
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(), now=NOW)
        await review.request_review(session, who, lot.lot_no, now=NOW)
        await review.answer(session, tax, lot.lot_no, "tax", ANSWERS["tax"], now=NOW)
        await service.publish(session, who, lot.lot_no, now=NOW)
        await service.start_bidding(session, who, lot.lot_no)
        _, following = await service.record_unsold(session, who, lot.lot_no, now=NOW)
        await session.commit()
    assert following is not None and following.round == "second" and following.previous_lot_id == lot.id
    assert following.status == LotStatus.pre_review
    assert Decimal(following.starting_price) == Decimal("1456000.00")  # 20% below the first round
    assert lot.status == LotStatus.unsold
    carried = (await session.scalars(select(Finding).where(Finding.lot_id == following.id))).all()
    assert [(f.department, f.version, f.signed_by_name) for f in carried] == [("tax", 1, tax.display_name)]
    requests = (await session.scalars(select(ReviewRequest.department).where(ReviewRequest.lot_id == following.id))).all()
    assert len(requests) == 7
    detail = await get_lot(session, following.lot_no, public=False)
    assert detail is not None
    assert [r.lot_no for r in detail.rounds] == [lot.lot_no, following.lot_no]
    assert detail.lot.previous_lot_no == lot.lot_no
    first = await get_lot(session, lot.lot_no)
    assert first is not None and first.lot.next_lot_no is None  # the next round is not public yet


async def test_a_fixed_price_sale_that_does_not_sell_has_no_next_round(factory: Factory,
                                                                       session: AsyncSession) -> None:
    who = await clerk(factory, session)
    with hub.isolated():
        lot = await service.create_lot(session, who, lot_form(), now=NOW)
        await service.publish(session, who, lot.lot_no, now=NOW)
        await service.start_bidding(session, who, lot.lot_no)
        _, second = await service.record_unsold(session, who, lot.lot_no, now=NOW)
        assert second is not None
        await service.update_lot(session, who, second.lot_no, lot_form(
            starting_price="1456000", deposit="145600", bidding_starts_at="2026-12-20T10:00",
            bidding_ends_at="2026-12-21T10:00", platform_url="https://sf-item.taobao.com/sf_item/1002.htm"))
        await service.publish(session, who, second.lot_no, now=NOW)
        await service.start_bidding(session, who, second.lot_no)
        _, fixed = await service.record_unsold(session, who, second.lot_no, now=NOW)
        assert fixed is not None and fixed.round == "fixed_price"
        assert Decimal(fixed.starting_price) == Decimal("1456000")
        await service.update_lot(session, who, fixed.lot_no, lot_form(
            starting_price="1456000", deposit="145600", bidding_starts_at="2026-12-10T10:00",
            bidding_ends_at="2026-12-11T10:00", platform_url="https://sf-item.taobao.com/sf_item/1003.htm"))
        await service.publish(session, who, fixed.lot_no, now=NOW)
        await service.start_bidding(session, who, fixed.lot_no)
        with pytest.raises(WrongStatus) as caught:
            await service.record_unsold(session, who, fixed.lot_no, now=NOW)
        assert "without relisting" in caught.value.message_en
        _, none = await service.record_unsold(session, who, fixed.lot_no, relist=False, now=NOW)
        assert none is None
        detail = await get_lot(session, fixed.lot_no)
        assert detail is not None and [r.round for r in detail.rounds] == ["first", "second", "fixed_price"]
