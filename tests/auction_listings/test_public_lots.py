"""The public lot pages: search with filters, sorting and pages; bad filters; the lot page with
findings, versions side by side, the tax estimate; following; caching (ETag/304, no database
when unchanged)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings import search as search_module
from auction_listings.models import Lot
from backoffice.models import Notification
from tests.auction_listings.public_support import CHINA, answer, ask, make_lot
from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]


async def _three(session: AsyncSession) -> list[Lot]:
    return [
        await make_lot(session, title="诸暨 住宅 A", starting_price=D("1750000"), appraisal=D("2500000")),
        await make_lot(session, title="诸暨 商铺 B", starting_price=D("900000"), appraisal=D("1200000"),
                       property_use="non_residential",
                       bidding_starts_at=dt.datetime(2026, 12, 20, 10, tzinfo=CHINA)),
        await make_lot(session, title="拱墅 轿车 C", asset_kind="vehicle", city="杭州市", district="拱墅区",
                       court_code="浙0105", starting_price=D("80000"), appraisal=D("100000"), area_m2=D("0"),
                       bidding_starts_at=dt.datetime(2026, 12, 5, 10, tzinfo=CHINA)),
    ]


async def test_search_filters_by_city_kind_and_price_and_sorts(client: Client, session: AsyncSession) -> None:
    await _three(session)
    await make_lot(session, title="草稿 D", status="draft")  # never public
    resp = await client.get("/api/v1/lots", params={"city": "绍兴市", "sort": "price"})
    assert resp.status_code == 200, resp.text
    titles = [i["title"] for i in resp.json()["items"]]
    assert titles == ["诸暨 商铺 B", "诸暨 住宅 A"]
    resp = await client.get("/api/v1/lots", params={"kind": "vehicle"})
    assert [i["title"] for i in resp.json()["items"]] == ["拱墅 轿车 C"]
    resp = await client.get("/api/v1/lots", params={"price_min": "100000", "price_max": "1000000"})
    assert [i["title"] for i in resp.json()["items"]] == ["诸暨 商铺 B"]
    resp = await client.get("/api/v1/lots", params={"date_from": "2026-12-06", "date_to": "2026-12-10"})
    assert [i["title"] for i in resp.json()["items"]] == ["诸暨 住宅 A"]
    resp = await client.get("/api/v1/lots", params={"sort": "starts"})
    assert [i["title"] for i in resp.json()["items"]] == ["拱墅 轿车 C", "诸暨 住宅 A", "诸暨 商铺 B"]
    assert resp.json()["total"] == 3


async def test_search_pages_through_results(client: Client, session: AsyncSession) -> None:
    for n in range(12):
        await make_lot(session, title=f"Lot {n:02d}", starting_price=D(1_000_000 + n))
    first = (await client.get("/api/v1/lots", params={"per_page": "10", "sort": "price"})).json()
    second = (await client.get("/api/v1/lots", params={"per_page": "10", "sort": "price", "page": "2"})).json()
    assert first["total"] == 12 and first["pages"] == 2 and len(first["items"]) == 10
    assert [i["title"] for i in second["items"]] == ["Lot 10", "Lot 11"]
    page = await client.get("/lots", params={"per_page": "10", "sort": "price", "lang": "en"})
    assert 'rel="next" href="/lots?sort=price&amp;page=2&amp;per_page=10"' in page.text
    past = await client.get("/lots", params={"page": "9", "lang": "en"})
    assert past.status_code == 200 and "past the last page" in past.text


async def test_a_large_result_is_counted_up_to_the_cap_and_shown_as_more_than(
        client: Client, session: AsyncSession, monkeypatch: Any) -> None:
    monkeypatch.setattr(search_module, "COUNT_CAP", 10)  # 1,000 in the portal; 12 lots make it here
    for n in range(12):
        await make_lot(session, title=f"Lot {n:02d}", starting_price=D(1_000_000 + n))
    first = (await client.get("/api/v1/lots", params={"per_page": "10", "sort": "price"})).json()
    assert (first["total"], first["total_exact"], first["pages"], len(first["items"])) == (10, False, 1, 10)
    second = (await client.get("/api/v1/lots", params={"per_page": "10", "sort": "price", "page": "2"})).json()
    assert (second["total"], second["total_exact"], second["pages"]) == (12, True, 2)  # counted past page 2's start
    assert [i["title"] for i in second["items"]] == ["Lot 10", "Lot 11"]
    page = await client.get("/lots", params={"per_page": "10", "sort": "price", "lang": "en"})
    assert "More than 10 lots found" in page.text and "Page 1 of more than 1" in page.text
    assert 'rel="next" href="/lots?sort=price&amp;page=2&amp;per_page=10"' in page.text
    zh = await client.get("/lots", params={"per_page": "10", "sort": "price", "lang": "zh"})
    assert "找到超过 10 件拍品" in zh.text and "第 1 页,共超过 1 页" in zh.text
    past = (await client.get("/api/v1/lots", params={"per_page": "10", "page": "9"})).json()
    assert (past["total"], past["total_exact"], past["pages"], past["items"]) == (12, True, 2, [])


async def test_nonsense_filters_are_clear_400s_never_500(client: Client) -> None:
    for params, field in [({"page": "0"}, "page"), ({"page": "abc"}, "page"), ({"page": "99999999999"}, "page"),
                          ({"kind": "castle"}, "kind"), ({"status": "draft"}, "status"), ({"sort": "random"}, "sort"),
                          ({"price_min": "-1"}, "price_min"), ({"price_max": "NaN"}, "price_max"),
                          ({"price_min": "5", "price_max": "1"}, "price_min"), ({"date_from": "2026-13-01"}, "date_from"),
                          ({"date_from": "2026-12-02", "date_to": "2026-12-01"}, "date_from"),
                          ({"per_page": "1000"}, "per_page"), ({"colour": "red"}, "colour"),
                          ({"city": "x" * 41}, "city")]:
        resp = await client.get("/api/v1/lots", params=params)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["details"]["field"] == field, (params, resp.json())
    page = await client.get("/lots", params={"page": "abc", "lang": "en"})
    assert page.status_code == 400 and "Please correct the search: page" in page.text
    assert 'name="city"' in page.text  # the form is still there to correct it
    frag = await client.get("/lots", params={"kind": "castle", "lang": "en"}, headers={"HX-Request": "true"})
    assert frag.status_code == 400 and "<html" not in frag.text and "kind" in frag.text


async def test_search_page_plain_form_and_htmx_fragment(client: Client, session: AsyncSession) -> None:
    await _three(session)
    page = await client.get("/lots", params={"kind": "vehicle"})
    assert page.status_code == 200 and "拱墅 轿车 C" in page.text and "诸暨 住宅 A" not in page.text
    assert 'method="get" action="/lots"' in page.text and "拍品" in page.text
    frag = await client.get("/lots", params={"kind": "vehicle"}, headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "拱墅 轿车 C" in frag.text


async def test_search_answers_304_when_nothing_changed(client: Client, session: AsyncSession) -> None:
    lots = await _three(session)
    first = await client.get("/api/v1/lots", params={"city": "绍兴市"})
    tag = first.headers["etag"]
    again = await client.get("/api/v1/lots", params={"city": "绍兴市"}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    await session.execute(update(Lot).where(Lot.id == lots[0].id).values(version=Lot.version + 1))
    await session.commit()
    changed = await client.get("/api/v1/lots", params={"city": "绍兴市"}, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


async def test_lot_page_shows_findings_unanswered_departments_and_the_platform(
        client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    await ask(session, lot, "registry", "tax", "court")
    await answer(session, lot, "registry", 1, {"encumbrances": {"mortgaged": True, "mortgage_amount": "800000"}})
    resp = await client.get(f"/lots/{lot.lot_no}")
    assert resp.status_code == 200, resp.text
    text = resp.text
    assert lot.title in text and "是否设有抵押" in text and "¥800,000.00" in text
    assert "尚未答复" in text or "Not answered" in text
    assert "https://sf-item.taobao.com/sf_item/1.htm" in text and "0575-8701 0681" in text
    en = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert "Mortgaged" in en.text and "Not answered yet:" in en.text and "Tax bureau" in en.text


async def test_a_changed_finding_shows_both_versions_with_the_change_highlighted(
        client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    await ask(session, lot, "registry")
    await answer(session, lot, "registry", 1, {"encumbrances": {"mortgaged": False, "other_seizures": 0}})
    await answer(session, lot, "registry", 2, {"encumbrances": {"mortgaged": True, "other_seizures": 0}},
                 changed=["encumbrances.mortgaged"], after_publication=True)
    resp = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    text = resp.text
    assert "Version 1 beside version 2" in text
    assert "<del>No</del>" in text and "<mark>Yes</mark>" in text
    assert text.count('class="changed"') == 1  # other_seizures did not change
    api = (await client.get(f"/api/v1/lots/{lot.lot_no}")).json()
    registry = next(f for f in api["findings"] if f["department"] == "registry")
    assert registry["current"]["version"] == 2 and registry["earlier"][0]["version"] == 1
    assert registry["current"]["changed"] == ["encumbrances.mortgaged"]


async def test_lot_page_tax_estimate_follows_the_buyer_circumstances(client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session, area_m2=D("150"))
    resp = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert "Deed tax" in resp.text and "¥26,250.00" in resp.text  # only home > 140 m²: 1.5% of 1,750,000
    second = await client.get(f"/lots/{lot.lot_no}/tax", params={"buyer_homes": "2", "lang": "en"},
                              headers={"HX-Request": "true"})
    assert second.status_code == 200 and "<html" not in second.text and "¥35,000.00" in second.text  # 2%
    bad = await client.get(f"/lots/{lot.lot_no}", params={"buyer_homes": "0", "lang": "en"})
    assert bad.status_code == 400 and "buyer_homes" in bad.text and lot.title in bad.text
    assert 'href="/taxes/calculator"' in resp.text


async def test_unknown_or_draft_lot_is_a_404(client: Client, session: AsyncSession) -> None:
    draft = await make_lot(session, status="draft")
    for no in (draft.lot_no, "NOPE-1", "x" * 300):
        assert (await client.get(f"/lots/{no}")).status_code == 404
        assert (await client.get(f"/api/v1/lots/{no}")).status_code == 404


async def test_lot_api_detail_and_304(client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    resp = await client.get(f"/api/v1/lots/{lot.lot_no}")
    body = resp.json()
    assert body["lot"]["lot_no"] == lot.lot_no and body["lot"]["status"] == "announced"
    assert body["lot"]["platform_url"].startswith("https://") and body["result"] is None
    assert body["tax_estimate_url"].startswith("/api/v1/tax/estimate?")
    assert "public" in resp.headers["cache-control"] and "cookie" not in resp.headers.get("vary", "").lower()
    tax = await client.get(body["tax_estimate_url"])
    assert tax.status_code == 200 and tax.json()["lines"]
    again = await client.get(f"/api/v1/lots/{lot.lot_no}", headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304


def _count_queries(app: Litestar) -> list[str]:
    seen: list[str] = []
    engine = app.state.ctx.engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    return seen


async def test_an_unchanged_lot_page_is_served_without_the_database(
        app: Litestar, client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    app.state.listing.cache.clock.ttl = 60  # the version stays fresh for the whole test
    first = await client.get(f"/lots/{lot.lot_no}")
    assert first.status_code == 200
    queries = _count_queries(app)
    second = await client.get(f"/lots/{lot.lot_no}")
    conditional = await client.get(f"/lots/{lot.lot_no}", headers={"If-None-Match": second.headers["etag"]})
    api = await client.get(f"/api/v1/lots/{lot.lot_no}")
    api_again = await client.get(f"/api/v1/lots/{lot.lot_no}")
    assert second.status_code == 200 and lot.title in second.text
    assert conditional.status_code == 304
    assert api.status_code == 200 and api_again.status_code == 200
    assert queries == []


async def test_a_change_is_served_once_the_version_moves(app: Litestar, client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    app.state.listing.cache.clock.ttl = 0  # ask every time: what another replica sees after its second
    first = await client.get(f"/lots/{lot.lot_no}")
    await session.execute(update(Lot).where(Lot.id == lot.id).values(title="新标题 New title", version=2))
    await session.commit()
    after = await client.get(f"/lots/{lot.lot_no}", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and "新标题 New title" in after.text


async def test_signed_in_person_follows_and_is_told_of_finding_changes_and_the_result(
        client: Client, session: AsyncSession, factory: Factory, app: Litestar) -> None:
    from auction_listings.events import FindingChanged, LotResult
    from storage.events import hub

    lot = await make_lot(session)
    anonymous = await client.get(f"/lots/{lot.lot_no}")
    assert "/login?next=/lots/" in anonymous.text
    buyer = await factory.user("buyer")
    await login(client, buyer.email)
    resp = await client.post(f"/lots/{lot.lot_no}/follow", data={"action": "follow", "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 303
    again = await client.post(f"/lots/{lot.lot_no}/follow", data={"action": "follow", "_csrf_token": csrf(client)},
                              follow_redirects=False)
    assert again.status_code == 303  # twice is still one follow
    page = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert "Stop following" in page.text
    await hub.publish(session, FindingChanged(lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, department="registry",
                                              version=2, previous_version=1, changed=["encumbrances.mortgaged"],
                                              signed_by_name="王芳", lot_version=3))
    await hub.publish(session, LotResult(lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, status="sold",
                                         price=D("1800000"), lot_version=4))
    await session.commit()
    rows = (await session.scalars(select(Notification).where(Notification.recipient_id == buyer.id)
                                  .order_by(Notification.id))).all()
    assert [r.event for r in rows] == ["lot.finding_changed", "lot.sold"]
    assert rows[0].payload["reference"] == lot.lot_no and rows[0].language == "zh"
    stop = await client.post(f"/lots/{lot.lot_no}/follow", data={"action": "unfollow", "_csrf_token": csrf(client)},
                             headers={"HX-Request": "true"})
    assert stop.status_code == 200 and "Follow this lot" in stop.text or "关注此拍品" in stop.text


async def test_following_needs_sign_in(client: Client, session: AsyncSession) -> None:
    lot = await make_lot(session)
    await client.get("/lots")
    resp = await client.post(f"/lots/{lot.lot_no}/follow", data={"_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code in (303, 401) and "/login" in resp.headers.get("location", "/login")


async def test_lot_page_is_private_and_its_etag_follows_the_person(
        client: Client, session: AsyncSession, factory: Factory) -> None:
    lot = await make_lot(session)
    anon = await client.get(f"/lots/{lot.lot_no}")
    assert anon.headers["cache-control"] == "private, no-cache"
    vary = ", ".join(v for k, v in anon.headers.multi_items() if k.lower() == "vary")
    assert "HX-Request" in vary and "Cookie" in vary and "Accept-Language" in vary
    en = await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})
    assert en.headers["etag"] != anon.headers["etag"]  # the language is part of it
    user = await factory.user("buyer")
    await login(client, user.email)
    signed_in = await client.get(f"/lots/{lot.lot_no}", headers={"If-None-Match": anon.headers["etag"]})
    assert signed_in.status_code == 200  # a page kept for someone else is not theirs
    await client.post(f"/lots/{lot.lot_no}/follow", data={"action": "follow", "_csrf_token": csrf(client)})
    after = await client.get(f"/lots/{lot.lot_no}", headers={"If-None-Match": signed_in.headers["etag"]})
    assert after.status_code == 200 and "Stop following" in (await client.get(
        f"/lots/{lot.lot_no}", params={"lang": "en"})).text


async def test_an_uncached_lot_page_is_one_statement_on_postgresql(
        app: Litestar, client: Client, session: AsyncSession, database_url: str) -> None:
    """Caches off: the page's version, lot, rounds, findings, sale and documents come in one read."""
    from kernel.caching import RenderCache

    before = await make_lot(session, status="unsold", round="first")
    lot = await make_lot(session, round="second", previous_lot_id=before.id)
    await ask(session, lot, "registry")
    await answer(session, lot, "registry", 1, {"land": {"right_type": "住宅"}})
    cache = app.state.listing.cache
    cache.clock.ttl, cache.lots, cache.bodies = 0, RenderCache(0), RenderCache(0)
    queries = _count_queries(app)
    resp = await client.get(f"/lots/{lot.lot_no}")
    assert resp.status_code == 200 and lot.title in resp.text and before.lot_no in resp.text
    if database_url.startswith("postgresql"):
        assert len(queries) == 1, queries
    else:  # SQLite: the same values from a few plain reads, still on one connection and no ORM session
        assert 1 < len(queries) <= 8, queries


async def test_search_results_are_kept_until_a_lot_changes(
        app: Litestar, client: Client, session: AsyncSession) -> None:
    from auction_listings.events import LotChanged

    lots = await _three(session)
    cache = app.state.listing.cache
    cache.searches.ttl = 60  # kept for the whole test unless a change drops them
    first = await client.get("/lots", params={"city": "绍兴市", "sort": "price"})
    assert first.status_code == 200 and "诸暨 住宅 A" in first.text
    await session.execute(update(Lot).where(Lot.id == lots[0].id).values(title="改过的标题", version=2))
    await session.commit()
    checkouts = _count_checkouts(app)
    kept = await client.get("/lots", params={"city": "绍兴市", "sort": "price"})
    assert kept.status_code == 200 and "诸暨 住宅 A" in kept.text  # another replica's change: within the ttl
    assert not checkouts  # no read at all (on PostgreSQL the search goes to asyncpg: no cursor event to see)
    # a change made in this process (the service publishes LotChanged) drops every kept result
    await cache.on_changed(session, LotChanged(lot_id=lots[0].id, lot_no=lots[0].lot_no, version=2,
                                               status="announced", action="edit"))
    fresh = await client.get("/lots", params={"city": "绍兴市", "sort": "price"})
    assert "改过的标题" in fresh.text and "诸暨 住宅 A" not in fresh.text
    cache.searches.ttl = 0  # the version clock's ttl 0: nothing kept
    await session.execute(update(Lot).where(Lot.id == lots[0].id).values(title="再改", version=3))
    await session.commit()
    assert "再改" in (await client.get("/lots", params={"city": "绍兴市", "sort": "price"})).text


async def test_lot_page_tax_lines_are_the_calculators_own(client: Client, session: AsyncSession) -> None:
    """The lot page shows the estimate's lines as the tax calculator renders them (one template,
    owned by title_transfer), not a copy."""
    lot = await make_lot(session, area_m2=D("150"))
    page = (await client.get(f"/lots/{lot.lot_no}", params={"lang": "en"})).text
    calc = (await client.get("/taxes/calculator", params={"price": "1750000", "area": "150", "lang": "en"})).text
    for text in ("Each tax with its rule", "Buyer pays: ¥26,250.00", "Rates in force from"):
        assert text in page and text in calc


def test_the_lots_keep_no_copy_of_the_tax_lines_template() -> None:
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "auction_listings" / "templates" / "auction_listings"
    assert not (templates / "_tax_lines.html").exists()
    assert "_estimate_lines" not in (templates / "_lot_tax.html").read_text(encoding="utf-8")


def _count_checkouts(app: Litestar) -> list[int]:
    """Every connection taken from the app's pool: a search read on PostgreSQL goes to asyncpg
    itself (no cursor event), but never without a connection."""
    seen: list[int] = []
    event.listen(app.state.ctx.engine.sync_engine, "checkout", lambda *args: seen.append(1))
    return seen


async def test_concurrent_identical_searches_read_once(
        app: Litestar, session: AsyncSession, monkeypatch: Any) -> None:
    """Eight visitors asking the same search at the same moment, nothing kept: one read and one
    rendering serve them all (without the shared computation each read the same rows)."""
    import asyncio

    import httpx

    from auction_listings import public

    await _three(session)
    reads: list[str] = []

    async def counted(conn: Any, f: Any) -> Any:
        reads.append(f.query_string())
        return await search_module.search(conn, f)

    monkeypatch.setattr(public, "search", counted)
    async with app.lifespan():  # served on this test's loop: the requests really overlap
        app.state.listing.cache.searches.ttl = 60
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            assert (await client.get("/lots", params={"kind": "vehicle"})).status_code == 200  # the places, read once
            reads.clear()
            answers = await asyncio.gather(*(client.get("/lots", params={"city": "绍兴市", "sort": "price"})
                                             for _ in range(8)))
            assert [a.status_code for a in answers] == [200] * 8
            assert all("诸暨 住宅 A" in a.text and "诸暨 商铺 B" in a.text for a in answers)
            assert reads == ["city=%E7%BB%8D%E5%85%B4%E5%B8%82&sort=price"]
            checkouts = _count_checkouts(app)
            again = await client.get("/lots", params={"city": "绍兴市", "sort": "price"})
            assert again.status_code == 200 and len(reads) == 1 and not checkouts  # kept: no connection at all


async def test_a_search_asked_after_a_change_does_not_join_a_read_from_before_it() -> None:
    """A change made in this process while a search is being computed: a request that comes after
    the change computes anew (it never gets the older result), and the older result is not kept."""
    import asyncio

    from auction_listings.public_cache import SearchResults

    searches = SearchResults(ttl=60)
    release = asyncio.Event()
    computed: list[str] = []

    async def before() -> str:
        computed.append("before")
        await release.wait()
        return "made before the change"

    async def after() -> str:
        computed.append("after")
        return "made after the change"

    key = ("city=x", "zh")
    first = asyncio.ensure_future(searches.shared(key, before))
    joined = asyncio.ensure_future(searches.shared(key, after))  # same epoch: joins, computes nothing
    await asyncio.sleep(0)
    searches.changed()
    late = await searches.shared(key, after)
    release.set()
    assert late == "made after the change"
    assert await first == await joined == "made before the change"
    assert computed == ["before", "after"]
    assert searches.get(key) == "made after the change"  # the older one was not kept over it


async def test_a_shared_search_survives_its_first_requester_going_away() -> None:
    import asyncio

    from auction_listings.public_cache import SearchResults

    searches = SearchResults(ttl=60)
    release = asyncio.Event()

    async def compute() -> str:
        await release.wait()
        return "rows"

    key = ("q", "en")
    leader = asyncio.ensure_future(searches.shared(key, compute))
    follower = asyncio.ensure_future(searches.shared(key, compute))
    await asyncio.sleep(0)
    leader.cancel()  # the first visitor closed the connection
    release.set()
    assert await follower == "rows" and searches.get(key) == "rows"


async def test_the_kept_search_form_follows_what_was_asked_and_the_places(
        app: Litestar, client: Client, session: AsyncSession) -> None:
    """The form is rendered once per (places read, what was asked, language): another question
    selects another option, and a city that appears shows once the places are read again."""
    await make_lot(session)
    first = await client.get("/lots", params={"city": "绍兴市", "lang": "en"})
    assert "<option selected>绍兴市</option>" in first.text and "杭州市" not in first.text
    other = await client.get("/lots", params={"kind": "vehicle", "lang": "en"})
    assert "<option selected>绍兴市</option>" not in other.text
    assert '<option value="vehicle" selected>Vehicle</option>' in other.text
    await make_lot(session, title="拱墅 轿车 C", asset_kind="vehicle", city="杭州市", district="拱墅区",
                   court_code="浙0105")
    kept = await client.get("/lots", params={"city": "绍兴市", "lang": "en"})
    assert "杭州市" not in kept.text.split("</form>")[0]  # the places are asked once a minute
    app.state.listing.places.ttl = 0  # the minute has passed
    again = await client.get("/lots", params={"city": "绍兴市", "lang": "en"})
    form = again.text.split("</form>")[0]
    assert "<option>杭州市</option>" in form and '<option value="拱墅区">杭州市 · 拱墅区</option>' in form
    assert "<option selected>绍兴市</option>" in form
    zh = (await client.get("/lots", params={"city": "绍兴市", "lang": "zh"})).text.split("</form>")[0]
    assert "Any city" in form and "Any city" not in zh and "<option selected>绍兴市</option>" in zh  # by language


async def test_the_search_reads_the_same_through_asyncpg_and_through_sqlalchemy(
        engine: Any, session: AsyncSession) -> None:
    """On PostgreSQL the page's statement goes to asyncpg itself (a plain connection); the list API's
    session goes through SQLAlchemy: the same cards, totals and order either way (SQLite: both
    through SQLAlchemy)."""
    await _three(session)
    await make_lot(session, title="撤回 D", status="withdrawn", starting_price=D("500000"),
                   bidding_starts_at=None)
    cases = [{"city": "绍兴市", "kind": "real_estate", "price_max": "3000000", "sort": "price"},
             {"status": "all", "sort": "-starts"}, {"price_min": "90000", "date_from": "2026-12-06", "sort": "-price"},
             {"status": "withdrawn"}, {"per_page": "10", "page": "3"}]
    for params in cases:
        f = search_module.parse_filters(params)
        async with engine.connect() as conn:
            direct = await search_module.search(conn, f)
        through = await search_module.search(session, f)
        assert direct == through, params
    assert [c.title for c in direct.items] == [] and direct.total == 3  # past the last page: the count alone
    statement = search_module.DriverStatement(search_module.search_statement(search_module.parse_filters({}))[0])
    assert "POSTCOMPILE" not in statement.sql and "IN ('announced', 'bidding')" in statement.sql
