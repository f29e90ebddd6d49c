"""Findings: signed, versioned, published with the lot; a change after publication is a new
version beside the old one, and followers are told (FindingChanged)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings import review, service
from auction_listings.errors import FindingInvalid, ReviewRefused, WrongStatus
from auction_listings.events import FindingChanged, LotChanged, ReviewAnswered, ReviewRequested
from auction_listings.models import Finding
from auction_listings.read import get_lot, lot_version
from storage.events import hub
from tests.auction_listings.helpers import ANSWERS, NOW, clerk, lot_form
from tests.conftest import Factory


class Heard:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def __call__(self, session: AsyncSession, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def heard() -> Any:
    listener = Heard()
    with hub.isolated():
        for kind in (FindingChanged, LotChanged, ReviewAnswered, ReviewRequested):
            hub.subscribe(kind, listener)
        yield listener


async def test_one_request_asks_each_department_once(factory: Factory, session: AsyncSession, heard: Heard) -> None:
    who = await clerk(factory, session)
    lot = await service.create_lot(session, who, lot_form(asset_kind="vehicle", area_m2="0"), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    again = await review.request_review(session, who, lot.lot_no, now=NOW)
    assert again == []
    assert sorted(e.department for e in heard.of(ReviewRequested)) == ["court", "tax", "vehicles"]


async def test_a_finding_after_publication_is_a_new_version_beside_the_old_and_followers_are_told(
        factory: Factory, session: AsyncSession, heard: Heard) -> None:
    who = await clerk(factory, session)
    registry = factory.principal(await factory.user("staff", "registry"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    first = await review.answer(session, registry, lot.lot_no, "registry", ANSWERS["registry"], now=NOW)
    assert (first.version, first.public, first.signed_by_name) == (1, False, registry.display_name)
    assert first.signed_at == NOW and first.answers["encumbrances"]["mortgaged"] is True
    assert await get_lot(session, lot.lot_no) is None  # not public before the announcement

    await service.publish(session, who, lot.lot_no, now=NOW)
    await session.commit()
    before = await lot_version(session, lot.lot_no)
    changed = {**ANSWERS["registry"], "encumbrances.mortgaged": "no", "encumbrances.mortgage_amount": ""}
    second = await review.answer(session, registry, lot.lot_no, "registry", changed, now=NOW)
    await session.commit()
    assert (second.version, second.public, second.after_publication) == (2, True, True)
    assert second.changed == ["encumbrances.mortgage_amount", "encumbrances.mortgaged"]
    told = heard.of(FindingChanged)
    assert len(told) == 1 and told[0].previous_version == 1 and told[0].version == 2
    assert told[0].changed == second.changed and told[0].lot_no == lot.lot_no
    assert (await lot_version(session, lot.lot_no) or 0) > (before or 0)

    detail = await get_lot(session, lot.lot_no)
    assert detail is not None
    registry_findings = next(d for d in detail.findings if d.department == "registry")
    assert registry_findings.current is not None and registry_findings.current.version == 2
    assert [f.version for f in registry_findings.earlier] == [1]
    marked = {r.field for r in registry_findings.current.rows if r.changed}
    assert marked == {"mortgaged", "mortgage_amount"}
    assert "registry" not in detail.unanswered and "tax" in detail.unanswered


async def test_only_the_version_current_at_the_announcement_is_published(factory: Factory, session: AsyncSession,
                                                                        heard: Heard) -> None:
    who = await clerk(factory, session)
    tax = factory.principal(await factory.user("staff", "tax"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    await review.answer(session, tax, lot.lot_no, "tax", {"taxes.unpaid_taxes": "500"}, now=NOW)
    await review.answer(session, tax, lot.lot_no, "tax", {"taxes.unpaid_taxes": "0"}, now=NOW)
    await service.publish(session, who, lot.lot_no, now=NOW)
    detail = await get_lot(session, lot.lot_no)
    assert detail is not None
    found = next(d for d in detail.findings if d.department == "tax")
    assert found.current is not None and found.current.version == 2 and found.earlier == []
    assert heard.of(FindingChanged) == []  # changed before publication: nobody followed it yet


async def test_sending_the_same_finding_again_signs_nothing_new(factory: Factory, session: AsyncSession,
                                                                heard: Heard) -> None:
    who = await clerk(factory, session)
    tax = factory.principal(await factory.user("staff", "tax"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    a = await review.answer(session, tax, lot.lot_no, "tax", ANSWERS["tax"], now=NOW)
    b = await review.answer(session, tax, lot.lot_no, "tax", ANSWERS["tax"], now=NOW)
    assert a.id == b.id
    assert len((await session.scalars(select(Finding).where(Finding.lot_id == lot.id))).all()) == 1


async def test_findings_are_refused_from_departments_not_asked_or_for_others(factory: Factory, session: AsyncSession,
                                                                            heard: Heard) -> None:
    who = await clerk(factory, session)
    lot = await service.create_lot(session, who, lot_form(asset_kind="vehicle", area_m2="0"), now=NOW)
    gas = factory.principal(await factory.user("staff", "gas"))
    with pytest.raises(ReviewRefused):  # not asked at all yet
        await review.answer(session, gas, lot.lot_no, "gas", ANSWERS["gas"], now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    with pytest.raises(ReviewRefused) as caught:  # a vehicle: the gas company is not asked
        await review.answer_for(session, gas, lot.lot_no, ANSWERS["gas"], now=NOW)
    assert "was not asked" in caught.value.message_en
    with pytest.raises(ReviewRefused):  # answering for another department
        await review.answer(session, gas, lot.lot_no, "tax", ANSWERS["tax"], now=NOW)
    assert heard.of(ReviewAnswered) == []


async def test_a_finding_names_each_bad_field(factory: Factory, session: AsyncSession, heard: Heard) -> None:
    who = await clerk(factory, session)
    water = factory.principal(await factory.user("staff", "water"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    with pytest.raises(FindingInvalid) as caught:
        await review.answer(session, water, lot.lot_no, "water", {"utilities.arrears": "-3",
                                                                  "utilities.account_no": "x" * 201}, now=NOW)
    assert set(caught.value.details["fields"]) == {"utilities.arrears", "utilities.account_no"}


async def test_no_finding_once_the_round_has_ended(factory: Factory, session: AsyncSession, heard: Heard) -> None:
    who = await clerk(factory, session)
    tax = factory.principal(await factory.user("staff", "tax"))
    lot = await service.create_lot(session, who, lot_form(), now=NOW)
    await review.request_review(session, who, lot.lot_no, now=NOW)
    await service.withdraw(session, who, lot.lot_no, "已和解", now=NOW)
    with pytest.raises(WrongStatus):
        await review.answer(session, tax, lot.lot_no, "tax", ANSWERS["tax"], now=NOW)


async def test_the_dashboard_figure_is_each_departments_median_days_to_answer(
        factory: Factory, session: AsyncSession, heard: Heard) -> None:
    import datetime as dt

    from auction_listings.stats import review_times

    who = await clerk(factory, session)
    tax = factory.principal(await factory.user("staff", "tax"))
    for later in (1, 3, 5):
        lot = await service.create_lot(session, who, lot_form(title=f"房产 {later}"), now=NOW)
        await review.request_review(session, who, lot.lot_no, now=NOW)
        await review.answer(session, tax, lot.lot_no, "tax", ANSWERS["tax"], now=NOW + dt.timedelta(days=later))
    await session.commit()
    times = await review_times(session, now=NOW + dt.timedelta(days=6))
    assert times.requested == 21 and times.answered == 3
    assert [(d.department, d.median_days, d.count) for d in times.per_department] == [("tax", 3.0, 3)]
