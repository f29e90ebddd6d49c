"""Claims: two people never hold the same item, leases run out, and the holder is the one who acts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accounts.principal import Principal
from backoffice import service
from backoffice.errors import HeldByOther, NotYourDepartment, StaleItem, WrongState
from backoffice.models import WorkItem
from backoffice.service import Actor
from storage.db import utcnow
from tests.backoffice.helpers import Client, audit_actions, form_value, fresh, messages, post, sign_in
from tests.conftest import Factory


async def _items(session: AsyncSession, n: int, department: str, citizen_id: int | None = None) -> list[int]:
    ids = []
    for i in range(n):
        item = await service.open_item(session, kind="talk_to_person", department=department, actor=Actor.citizen(None),
                                       data={"topic": f"t{i}", "contact_phone": "13812345678"},
                                       citizen_id=citizen_id, subject=f"t{i}")
        ids.append(item.id)
    await session.commit()
    return ids


async def _staff(factory: Factory, department: str, n: int) -> list[Principal]:
    return [factory.principal(await factory.user("staff", department)) for _ in range(n)]


async def test_many_concurrent_claimers_never_get_the_same_item(engine: AsyncEngine, factory: Factory,
                                                                session: AsyncSession) -> None:
    dept = "urban_management"
    mine = set(await _items(session, 60, dept))
    staff = await _staff(factory, dept, 10)
    makers = async_sessionmaker(engine, expire_on_commit=False)

    async def worker(who: Principal) -> list[int]:
        got = []
        while True:
            async with makers() as s:
                item = await service.claim_next(s, who)
                await s.commit()
            if item is None:
                return got
            got.append(item.id)

    results = await asyncio.gather(*(worker(w) for w in staff))
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)), "an item was claimed twice"
    assert mine <= set(claimed), "an item was lost"
    if engine.dialect.name == "postgresql":
        assert sum(1 for r in results if r) > 1  # the work really was shared


async def test_one_item_many_hands_one_winner(engine: AsyncEngine, factory: Factory, session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "vehicles")
    staff = await _staff(factory, "vehicles", 8)
    makers = async_sessionmaker(engine, expire_on_commit=False)

    async def attempt(who: Principal) -> str:
        async with makers() as s:
            try:
                await service.claim(s, item_id, who, expected_version=1)
                await s.commit()
                return "won"
            except (HeldByOther, StaleItem):
                await s.rollback()
                return "lost"

    outcomes = await asyncio.gather(*(attempt(w) for w in staff))
    assert outcomes.count("won") == 1
    assert (await audit_actions(session, item_id)).count("claim") == 1


async def test_a_lease_runs_out_and_then_someone_else_may_take_over(factory: Factory, session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "electricity")
    alice, bob = await _staff(factory, "electricity", 2)
    t0 = utcnow()
    await service.claim(session, item_id, alice, lease_seconds=60, now=t0)
    await session.commit()
    with pytest.raises(HeldByOther):
        await service.claim(session, item_id, bob, lease_seconds=60, now=t0 + dt.timedelta(seconds=30))
    await session.rollback()
    # Alice's lease has run out but nobody took it: she can still finish what she started.
    await service.reply(session, item_id, alice, "还在办理中", now=t0 + dt.timedelta(seconds=90))
    await session.commit()
    item = await fresh(session, item_id)
    assert item.claimed_by == alice.user_id
    later = t0 + dt.timedelta(seconds=90 + 15 * 60 + 1)
    taken = await service.claim_next(session, bob, now=later)
    await session.commit()
    assert taken is not None and taken.id == item_id and taken.claimed_by == bob.user_id
    with pytest.raises(HeldByOther) as refused:
        await service.complete(session, item_id, alice, "done", now=later)
    await session.rollback()
    assert "holds this item" in refused.value.message_en
    await service.complete(session, item_id, bob, "好了", now=later)
    await session.commit()
    assert (await fresh(session, item_id)).state == "done"
    assert (await audit_actions(session, item_id)) == ["open", "claim", "reply", "claim", "complete"]


async def test_acting_needs_a_claim_and_the_right_department(factory: Factory, session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "water")
    (water,) = await _staff(factory, "water", 1)
    (gas,) = await _staff(factory, "gas", 1)
    with pytest.raises(WrongState):
        await service.complete(session, item_id, water, "x")
    await session.rollback()
    with pytest.raises(NotYourDepartment):
        await service.claim(session, item_id, gas)
    await session.rollback()
    with pytest.raises(NotYourDepartment):
        await service.claim_next(session, gas, department="water")
    await session.rollback()
    admin = factory.principal(await factory.user("admin"))
    await service.claim(session, item_id, water)
    await session.commit()
    await service.release(session, item_id, admin)  # an administrator may free a stuck claim
    await session.commit()
    assert (await fresh(session, item_id)).state == "new"


async def test_completing_an_item_someone_else_holds_is_refused_over_http(client: Client, factory: Factory,
                                                                          session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "registry")
    holder, other = await factory.user("staff", "registry"), await factory.user("staff", "registry")
    await service.claim(session, item_id, factory.principal(holder))
    await session.commit()
    ref = (await fresh(session, item_id)).reference
    await sign_in(client, other)
    page = await client.get(f"/staff/items/{ref}")
    assert f"/staff/items/{ref}/complete" not in page.text  # no such form for someone who does not hold it
    resp = await post(client, f"/staff/items/{ref}/complete", {"confirm": "yes", "version": str((await fresh(session, item_id)).version),
                                                               "note": "我的说明不丢"})
    assert resp.status_code == 409 and holder.display_name in resp.text
    assert (await fresh(session, item_id)).state == "claimed"


async def test_a_double_clicked_complete_completes_once(client: Client, factory: Factory,
                                                        session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "tax")
    staff = await factory.user("staff", "tax")
    await sign_in(client, staff)
    ref = (await fresh(session, item_id)).reference
    page = await client.get(f"/staff/items/{ref}")
    await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page.text, f"{ref}/claim", "version")})
    page = await client.get(f"/staff/items/{ref}")
    version = form_value(page.text, f"{ref}/complete", "version")
    first = await post(client, f"/staff/items/{ref}/complete", {"confirm": "yes", "version": version, "note": "ok"})
    second = await post(client, f"/staff/items/{ref}/complete", {"confirm": "yes", "version": version, "note": "ok"})
    assert first.status_code == second.status_code == 303
    assert (await audit_actions(session, item_id)).count("complete") == 1
    assert [m.kind for m in await messages(session, item_id)].count("completed") == 1


async def test_a_reply_sent_twice_is_sent_once(client: Client, factory: Factory, session: AsyncSession) -> None:
    (item_id,) = await _items(session, 1, "tax", citizen_id=(await factory.user("buyer")).id)
    staff = await factory.user("staff", "tax")
    await sign_in(client, staff)
    ref = (await fresh(session, item_id)).reference
    page = await client.get(f"/staff/items/{ref}")
    await post(client, f"/staff/items/{ref}/claim", {"version": form_value(page.text, f"{ref}/claim", "version")})
    page = await client.get(f"/staff/items/{ref}")
    version = form_value(page.text, f"{ref}/reply", "version")
    first = await post(client, f"/staff/items/{ref}/reply", {"version": version, "body": "您好"})
    second = await post(client, f"/staff/items/{ref}/reply", {"version": version, "body": "您好"})
    assert first.status_code == 303 and second.status_code == 409
    assert "您好" in second.text  # what was typed is still there
    assert [m.kind for m in await messages(session, item_id)].count("reply") == 1


async def test_claim_next_serves_the_most_urgent_first(factory: Factory, session: AsyncSession) -> None:
    dept = "gas"
    (staff,) = await _staff(factory, dept, 1)
    while await service.claim_next(session, staff) is not None:  # empty the queue of earlier tests' items
        await session.commit()
    await session.commit()
    normal = await service.open_item(session, kind="asset_clue", department=dept, actor=Actor.citizen(None))
    urgent = await service.open_item(session, kind="talk_to_person", department=dept, actor=Actor.citizen(None))
    await session.commit()
    first = await service.claim_next(session, staff)
    await session.commit()
    assert first is not None and first.id == urgent.id
    assert isinstance(normal, WorkItem)
