"""The queue does not know the domains: a domain opens items and registers what completing
them means (here a stand-in for the listings' joint pre-review)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from backoffice import service
from backoffice.errors import HandlerRefused
from backoffice.models import WorkItem
from backoffice.registry import registry
from tests.backoffice.helpers import audit_actions, fresh
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
