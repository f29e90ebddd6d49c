"""The court's lot pages and the departments' pre-review forms over HTTP: plain forms, the queue,
per-field refusals, confirmed final actions, and the sale that opens the buyer's transfer."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings.models import Finding, Lot, Sale
from auction_listings.rules import CHINA
from auction_listings.service import assign_court
from backoffice.models import WorkItem
from tests.auction_listings.helpers import ANSWERS, lot_form
from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]


async def _post(client: Client, url: str, **form: str):  # type: ignore[no-untyped-def]
    return await client.post(url, data={**form, "_csrf_token": csrf(client)}, follow_redirects=False)


def _version(page: str) -> str:
    return page.split('name="version" value="', 1)[1].split('"', 1)[0]


async def _court_clerk(factory: Factory, session: AsyncSession, client: Client, court: str = "浙0681") -> str:
    clerk = await factory.user("staff", "court")
    await assign_court(session, clerk.id, court)
    await session.commit()
    await login(client, clerk.email)
    return clerk.email


def _days_ahead(days: int) -> str:
    """A bidding time ``days`` from today (China time): the pages announce with today's date."""
    return (dt.datetime.now(CHINA).date() + dt.timedelta(days=days)).isoformat() + "T10:00"


async def _new_lot(client: Client, **over: str) -> str:
    await client.get("/staff/lots/new")
    dates = {"bidding_starts_at": _days_ahead(40), "bidding_ends_at": _days_ahead(41)}
    resp = await _post(client, "/staff/lots/new", **lot_form(**{**dates, **over}))
    assert resp.status_code == 303, resp.text
    return resp.headers["location"].split("/staff/lots/", 1)[1].split("?", 1)[0]


async def test_a_rule_broken_on_entry_comes_back_beside_its_field_with_what_was_typed(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    await client.get("/staff/lots/new")
    resp = await _post(client, "/staff/lots/new", **lot_form(starting_price="1000000", deposit="1"))
    assert resp.status_code == 422
    assert "起拍价至少 ¥1,820,000.00" in resp.text and 'id="e-deposit"' in resp.text
    assert 'value="1000000"' in resp.text  # what was typed is kept
    assert (await session.scalar(select(Lot.id))) is None  # nothing half-written
    english = await client.post("/staff/lots/new?lang=en", data={**lot_form(increment="0"),
                                                                 "_csrf_token": csrf(client)})
    assert english.status_code == 422 and "The increment must be more than zero." in english.text


async def test_the_rules_check_as_staff_type_is_a_fragment(client: Client, factory: Factory,
                                                          session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    await client.get("/staff/lots/new")
    resp = await client.post("/staff/lots/check", data={**lot_form(deposit="1"), "_csrf_token": csrf(client)},
                             headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "<html" not in resp.text and "保证金应为起拍价的5%至20%" in resp.text


async def test_from_draft_through_pre_review_by_every_department_to_a_sale_and_the_buyers_transfer(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    clerk = await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    page = await client.get(f"/staff/lots/{lot_no}")
    assert page.status_code == 200 and "草稿" in page.text
    resp = await _post(client, f"/staff/lots/{lot_no}/act/request_review", version=_version(page.text))
    assert resp.status_code == 303
    items = (await session.scalars(select(WorkItem).where(WorkItem.kind == "pre_review"))).all()
    assert sorted(i.department for i in items) == sorted(["court", "registry", "tax", "urban_management", "water",
                                                          "electricity", "gas"])
    page = await client.get(f"/staff/lots/{lot_no}")
    assert "尚未答复" in page.text or "Not answered yet" in page.text

    # Each department opens its queue item, follows the link and signs its finding there.
    for item in items:
        dept = item.department
        staff = await factory.user("staff", dept)
        client.cookies.clear()
        await login(client, staff.email)
        queue_page = await client.get(f"/staff/items/{item.reference}")
        link = f"/staff/lots/{lot_no}/review/{dept}"
        assert link in queue_page.text
        form = await client.get(link)
        assert form.status_code == 200
        done = await _post(client, link, **ANSWERS[dept])
        assert done.status_code == 303, done.text
    session.expire_all()
    states = {i.department: i.state for i in (await session.scalars(select(WorkItem).where(
        WorkItem.kind == "pre_review").execution_options(populate_existing=True))).all()}
    assert set(states.values()) == {"done"}

    client.cookies.clear()
    await login(client, clerk)
    page = await client.get(f"/staff/lots/{lot_no}")
    assert "Every department asked has answered." in (await client.get(f"/staff/lots/{lot_no}?lang=en")).text
    assert (await _post(client, f"/staff/lots/{lot_no}/act/publish", version=_version(page.text))).status_code == 303
    page = await client.get(f"/staff/lots/{lot_no}")
    assert (await _post(client, f"/staff/lots/{lot_no}/act/start_bidding",
                        version=_version(page.text))).status_code == 303

    buyer = await factory.user("buyer")
    confirm = await client.get(f"/staff/lots/{lot_no}/confirm/sale")
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.text
    unconfirmed = await _post(client, f"/staff/lots/{lot_no}/confirm/sale", version=_version(confirm.text),
                              price="2350000", buyer=buyer.email)
    assert unconfirmed.status_code == 409 and 'id="e-confirm"' in unconfirmed.text
    assert await session.scalar(select(Sale.id)) is None
    sold = await _post(client, f"/staff/lots/{lot_no}/confirm/sale", version=_version(confirm.text),
                       price="2350000", buyer=buyer.email, confirm="yes")
    assert sold.status_code == 200
    tracking = re.search(r"<strong>(ZT\d+)</strong>", sold.text)
    code = re.search(r'class="new-code">([^<]+)<', sold.text)
    assert tracking and code
    again = await _post(client, f"/staff/lots/{lot_no}/confirm/sale", version=_version(confirm.text),
                        price="2350000", buyer=buyer.email, confirm="yes")
    assert again.status_code == 409 and "cannot be recorded twice" in again.text  # (English: chosen above)

    # The buyer sees the new transfer in the tracker.
    client.cookies.clear()
    await login(client, buyer.email)
    view = await client.get(f"/api/v1/transfers/{tracking.group(1)}")
    assert view.status_code == 200 and view.json()["tracking_no"] == tracking.group(1)


async def test_a_department_not_asked_cannot_answer_and_another_department_cannot_answer_for_it(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    clerk = await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client, asset_kind="vehicle", area_m2="0")
    page = await client.get(f"/staff/lots/{lot_no}")
    await _post(client, f"/staff/lots/{lot_no}/act/request_review", version=_version(page.text))
    water = await factory.user("staff", "water")
    client.cookies.clear()
    await login(client, water.email)
    refused = await _post(client, f"/staff/lots/{lot_no}/review/water", **ANSWERS["water"])
    assert refused.status_code == 403 and "未请" in refused.text
    as_tax = await _post(client, f"/staff/lots/{lot_no}/review/tax", **ANSWERS["tax"])
    assert as_tax.status_code == 403
    assert (await session.scalar(select(Finding.id))) is None
    assert clerk


async def test_completing_a_pre_review_item_before_signing_the_finding_is_refused(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    page = await client.get(f"/staff/lots/{lot_no}")
    await _post(client, f"/staff/lots/{lot_no}/act/request_review", version=_version(page.text))
    item = await session.scalar(select(WorkItem).where(WorkItem.kind == "pre_review", WorkItem.department == "tax"))
    assert item is not None
    tax = await factory.user("staff", "tax")
    client.cookies.clear()
    await login(client, tax.email)
    page = await client.get(f"/staff/items/{item.reference}")
    await _post(client, f"/staff/items/{item.reference}/claim", version=_version(page.text))
    page = await client.get(f"/staff/items/{item.reference}")
    resp = await _post(client, f"/staff/items/{item.reference}/complete", version=_version(page.text), note="ok", confirm="yes")  # the final action ticked, as the staff page asks
    assert resp.status_code == 409 and "请先" in resp.text
    item_id = item.id
    session.expire_all()
    fresh = await session.get(WorkItem, item_id, populate_existing=True)
    assert fresh is not None and fresh.state == "claimed"


async def test_a_bad_finding_is_refused_field_by_field(client: Client, factory: Factory,
                                                      session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    page = await client.get(f"/staff/lots/{lot_no}")
    await _post(client, f"/staff/lots/{lot_no}/act/request_review", version=_version(page.text))
    registry = await factory.user("staff", "registry")
    client.cookies.clear()
    await login(client, registry.email)
    resp = await _post(client, f"/staff/lots/{lot_no}/review/registry",
                       **{**ANSWERS["registry"], "encumbrances.mortgaged": "", "land_use.right_type": "stolen",
                          "encumbrances.mortgage_amount": "lots"})
    assert resp.status_code == 422
    assert resp.text.count('class="field-error"') == 3
    assert (await session.scalar(select(Finding.id))) is None


async def test_editing_a_sold_lot_is_refused_clearly(client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    for action in ("publish", "start_bidding"):
        page = await client.get(f"/staff/lots/{lot_no}")
        await _post(client, f"/staff/lots/{lot_no}/act/{action}", version=_version(page.text))
    buyer = await factory.user("buyer")
    page = await client.get(f"/staff/lots/{lot_no}/confirm/sale")
    sold = await _post(client, f"/staff/lots/{lot_no}/confirm/sale", version=_version(page.text), price="1820000",
                       buyer=buyer.email, confirm="yes")
    assert sold.status_code == 200
    edit = await client.get(f"/staff/lots/{lot_no}/edit")
    assert edit.status_code == 409 and "已成交,不能再修改" in edit.text
    post = await _post(client, f"/staff/lots/{lot_no}/edit", **lot_form(title="改"))
    assert post.status_code == 409 and "已成交" in post.text
    lot = await session.scalar(select(Lot).where(Lot.lot_no == lot_no))
    assert lot is not None and lot.title != "改"


async def test_other_courts_and_other_departments_do_not_see_the_lot(client: Client, factory: Factory,
                                                                    session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    client.cookies.clear()
    await _court_clerk(factory, session, client, "浙0105")
    assert (await client.get(f"/staff/lots/{lot_no}")).status_code == 404
    assert lot_no not in (await client.get("/staff/lots")).text
    tax = await factory.user("staff", "tax")
    client.cookies.clear()
    await login(client, tax.email)
    assert (await client.get("/staff/lots")).status_code == 403


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


async def test_a_photo_on_a_lot_gets_a_thumbnail_and_raises_its_version_and_a_fake_one_is_refused(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    lot = await session.scalar(select(Lot).where(Lot.lot_no == lot_no))
    assert lot is not None
    lot_id, before = lot.id, lot.version
    form = {"subject_type": "lot", "subject_id": str(lot_id), "kind": "lot_photo", "visibility": "public",
            "department": "court", "next": f"/staff/lots/{lot_no}", "_csrf_token": csrf(client)}
    sent = await client.post("/documents", data=form, files={"file": ("front.png", _png(), "image/png")},
                             follow_redirects=False)
    assert sent.status_code == 303, sent.text
    page = await client.get(f"/staff/lots/{lot_no}")
    assert "front.png" in page.text and "/thumbnail" in page.text
    session.expire_all()
    fresh = await session.get(Lot, lot_id, populate_existing=True)
    assert fresh is not None and fresh.version > before
    fake = await client.post("/documents", data=form, files={"file": ("back.jpg", b"not an image at all", "image/jpeg")},
                             headers={"Accept": "application/json"}, follow_redirects=False)
    assert 400 <= fake.status_code < 500
    assert "back.jpg" not in (await client.get(f"/staff/lots/{lot_no}")).text


async def test_the_list_shows_the_courts_lots_with_who_is_yet_to_answer_and_filters_by_status(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    reviewed = await _new_lot(client)
    draft = await _new_lot(client, title="另一处商铺")
    page = await client.get(f"/staff/lots/{reviewed}")
    await _post(client, f"/staff/lots/{reviewed}/act/request_review", version=_version(page.text))
    listing = await client.get("/staff/lots")
    assert reviewed in listing.text and draft in listing.text and "7 个部门待答复" in listing.text
    only = await client.get("/staff/lots?status=draft", headers={"HX-Request": "true"})
    assert only.status_code == 200 and "<html" not in only.text
    assert draft in only.text and reviewed not in only.text
    nonsense = await client.get("/staff/lots?status=everything")
    assert nonsense.status_code == 200 and reviewed in nonsense.text


async def test_the_administrator_assigns_a_clerk_to_a_court_and_the_clerk_then_sees_its_lots(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    clerk = await factory.user("staff", "court")
    await login(client, clerk.email)
    refused = await client.get("/staff/lots")
    assert refused.status_code == 403 and "管理员" in refused.text
    admin = await factory.user("admin")
    client.cookies.clear()
    await login(client, admin.email)
    page = await client.get("/admin/courts")
    assert page.status_code == 200 and clerk.display_name in page.text
    bad = await _post(client, "/admin/courts", user=str(clerk.id), court_code="浙9999")
    assert bad.status_code == 409
    done = await _post(client, "/admin/courts", user=str(clerk.id), court_code="浙0105")
    assert done.status_code == 303
    client.cookies.clear()
    await login(client, clerk.email)
    mine = await client.get("/staff/lots")
    assert mine.status_code == 200 and "杭州市拱墅区人民法院" in mine.text
    client.cookies.clear()
    await login(client, clerk.email)
    assert (await client.get("/admin/courts")).status_code == 403


async def test_unsold_relists_from_the_confirmation_page_and_a_stale_button_is_told(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client)
    page = await client.get(f"/staff/lots/{lot_no}")
    old_version = _version(page.text)
    await _post(client, f"/staff/lots/{lot_no}/act/publish", version=old_version)
    stale = await _post(client, f"/staff/lots/{lot_no}/act/publish", version=old_version)
    assert stale.status_code == 409 and 'href="/staff/lots"' in stale.text
    page = await client.get(f"/staff/lots/{lot_no}")
    await _post(client, f"/staff/lots/{lot_no}/act/start_bidding", version=_version(page.text))
    confirm = await client.get(f"/staff/lots/{lot_no}/confirm/unsold")
    assert 'name="relist" value="yes" checked' in confirm.text
    resp = await _post(client, f"/staff/lots/{lot_no}/confirm/unsold", version=_version(confirm.text), relist="yes",
                       confirm="yes")
    assert resp.status_code == 303
    following = resp.headers["location"].split("/staff/lots/", 1)[1].split("?", 1)[0]
    assert following != lot_no
    page = await client.get(f"/staff/lots/{following}")
    assert "二拍" in page.text and f'href="/staff/lots/{lot_no}"' in page.text and "联审中" in page.text


async def test_when_a_round_ends_unanswered_items_close_and_the_next_round_asks_again(
        client: Client, factory: Factory, session: AsyncSession) -> None:
    await _court_clerk(factory, session, client)
    lot_no = await _new_lot(client, asset_kind="vehicle", area_m2="0", bidding_starts_at=_days_ahead(28),
                            bidding_ends_at=_days_ahead(29))
    page = await client.get(f"/staff/lots/{lot_no}")
    await _post(client, f"/staff/lots/{lot_no}/act/request_review", version=_version(page.text))
    for action in ("publish", "start_bidding"):
        page = await client.get(f"/staff/lots/{lot_no}")
        assert (await _post(client, f"/staff/lots/{lot_no}/act/{action}",
                            version=_version(page.text))).status_code == 303
    confirm = await client.get(f"/staff/lots/{lot_no}/confirm/unsold")
    resp = await _post(client, f"/staff/lots/{lot_no}/confirm/unsold", version=_version(confirm.text), relist="yes",
                       confirm="yes")
    following = resp.headers["location"].split("/staff/lots/", 1)[1].split("?", 1)[0]
    items = (await session.scalars(select(WorkItem).where(WorkItem.kind == "pre_review")
                                   .order_by(WorkItem.id))).all()
    by_lot: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        by_lot.setdefault(item.data["lot_no"], []).append((item.department, item.state))
    assert sorted(by_lot[lot_no]) == [("court", "done"), ("tax", "done"), ("vehicles", "done")]
    assert sorted(by_lot[following]) == [("court", "new"), ("tax", "new"), ("vehicles", "new")]
    page = await client.get(f"/staff/lots/{following}")
    confirm = await client.get(f"/staff/lots/{following}/confirm/withdraw")
    await _post(client, f"/staff/lots/{following}/confirm/withdraw", version=_version(confirm.text),
                reason="已和解", confirm="yes")
    session.expire_all()
    states = {i.state for i in (await session.scalars(select(WorkItem).where(WorkItem.kind == "pre_review")
                                                      .execution_options(populate_existing=True))).all()}
    assert states == {"done"}
