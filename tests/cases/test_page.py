"""The progress page: next step from measured medians, live refresh, follow, calendar, clues."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.models import Notification, WorkItem
from cases.ingest import add_to_case, ingest_case
from cases.schemas import CaseIn, NodeIn
from cases.stats import refresh_node_stats
from portal.settings import Settings
from tests.cases.conftest import CREDITOR_ID, OTHER_CREDITOR_ID, Client, MadeCase, case_body, open_case
from tests.conftest import Factory, csrf, login


async def _similar_cases(session: AsyncSession, settings: Settings, days: list[int]) -> None:
    """Cases whose online search was followed by a seizure after the given numbers of days."""
    for i, gap in enumerate(days):
        body = case_body(f"(2023)浙0681执{100 + i}号", nodes=4)
        start = dt.datetime(2023, 1, 1, 9, 0, tzinfo=dt.UTC)
        body["nodes"] = [{"source_id": "x1", "key": "online_search", "at": start.isoformat()},
                         {"source_id": "x2", "key": "seized", "at": (start + dt.timedelta(days=gap)).isoformat()}]
        await ingest_case(session, msgspec.convert(body, CaseIn), secret=settings.secret_key, actor_label="t")
    await refresh_node_stats(session)
    await session.commit()


async def test_next_step_is_a_range_from_other_cases(client: Client, case: MadeCase, session: AsyncSession,
                                                     settings: Settings) -> None:
    await _similar_cases(session, settings, [10, 20, 30, 40, 50])
    await open_case(client, case.number, CREDITOR_ID, case.code)
    html = (await client.get(f"/cases/{case.id}")).text
    # The case's online search was on 2024-03-28 (09:30 China time); p25 = 20 days, p75 = 40 days.
    assert "通常的下一步" in html and "查封" in html
    assert "2024年4月17日" in html and "2024年5月7日" in html
    assert "5" in html and "不是承诺" in html


async def test_too_few_cases_give_no_dates(client: Client, case: MadeCase, session: AsyncSession,
                                           settings: Settings) -> None:
    await _similar_cases(session, settings, [10, 20])
    await open_case(client, case.number, CREDITOR_ID, case.code)
    html = (await client.get(f"/cases/{case.id}?lang=en")).text
    assert "Not enough earlier cases yet" in html


async def test_a_party_by_grant_gets_the_page_a_fresh_render_would_give(client: Client, case: MadeCase,
                                                                        session: AsyncSession,
                                                                        settings: Settings) -> None:
    """Parties who opened the case with the answers (not signed in) get the page from a cache with
    their CSRF token filled in: the bytes must be those of a full render, each party's own view
    (the other party masked), whatever the token (a hostile cookie included), and a new node shows."""
    grants = {}
    for id_no in (CREDITOR_ID, OTHER_CREDITOR_ID):
        await open_case(client, case.number, id_no, case.code)
        grants[id_no] = next(f"{k}={v}" for k, v in client.cookies.items()
                             if k.startswith(f"ec_{case.id}p") and f"{k}={v}" not in grants.values())
    path = f"/cases/{case.id}"
    for id_no, token in [(CREDITOR_ID, "plain0123abc"), (OTHER_CREDITOR_ID, 'a<b>&"q\''),
                         (CREDITOR_ID, csrf(client)), (OTHER_CREDITOR_ID, "t0k")]:
        cookie = {"Cookie": f"{grants[id_no]}; csrftoken={token}"}
        first = await client.get(path, headers=cookie)
        again = await client.get(path, headers=cookie)
        # a query string takes the ordinary path (Litestar's Template response, rendered in full)
        full = await client.get(path + "?x=1", headers=cookie)
        assert first.status_code == again.status_code == full.status_code == 200
        assert first.text == again.text == full.text.replace("%3Fx%3D1", "")
        assert {k: v for k, v in first.headers.items() if k != "content-length"} == \
            {k: v for k, v in full.headers.items() if k != "content-length"}
        own, other = ("张三", "李四") if id_no == CREDITOR_ID else ("李四", "张三")
        assert own in first.text and other not in first.text and other[0] + "*" in first.text
        assert "<b>" not in first.text and first.text.count(token if token.isalnum() else "a&lt;b&gt;&amp;") == 2
    without = await client.get(path, headers={"Cookie": "csrftoken=plain0123abc"}, follow_redirects=False)
    assert without.status_code == 303 and without.headers["location"] == "/cases"
    await add_to_case(session, case.number, secret=settings.secret_key, actor_label="t", nodes=[
        NodeIn(source_id="n98", key="seized", at=dt.datetime(2024, 6, 1, 2, 0, tzinfo=dt.UTC), description="查封车辆")])
    await session.commit()
    changed = await client.get(path, headers={"Cookie": f"{grants[CREDITOR_ID]}; csrftoken=plain0123abc"})
    assert changed.status_code == 200 and "查封车辆" in changed.text


async def test_live_fragment_has_an_etag_and_changes_with_the_case(client: Client, case: MadeCase,
                                                                   session: AsyncSession, settings: Settings) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    first = await client.get(f"/cases/{case.id}/live", headers={"HX-Request": "true"})
    assert first.status_code == 200 and "<html" not in first.text and first.headers["etag"]
    same = await client.get(f"/cases/{case.id}/live", headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    await add_to_case(session, case.number, secret=settings.secret_key, actor_label="t", nodes=[
        NodeIn(source_id="n99", key="seized", at=dt.datetime(2024, 6, 1, 2, 0, tzinfo=dt.UTC), description="查封房产")])
    await session.commit()
    changed = await client.get(f"/cases/{case.id}/live", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and "查封房产" in changed.text


async def test_calendar_has_the_case_dates(client: Client, case: MadeCase) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    resp = await client.get(f"/cases/{case.id}/calendar.ics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in resp.text and "DTSTART;VALUE=DATE:20240301" in resp.text and "立案受理" in resp.text
    assert (await Client.get(client, "/cases/999999/calendar.ics")).status_code == 404


async def test_follower_is_told_of_each_new_node(client: Client, case: MadeCase, factory: Factory,
                                                 session: AsyncSession, settings: Settings) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    await open_case(client, case.number, CREDITOR_ID, case.code)  # links the account
    resp = await client.post(f"/cases/{case.id}/follow", data={"follow": "1", "_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 303
    await add_to_case(session, case.number, secret=settings.secret_key, actor_label="t", nodes=[
        NodeIn(source_id="n50", key="seized", at=dt.datetime(2024, 6, 1, 2, 0, tzinfo=dt.UTC))])
    await add_to_case(session, case.number, secret=settings.secret_key, actor_label="t", nodes=[
        NodeIn(source_id="n50", key="seized", at=dt.datetime(2024, 6, 1, 2, 0, tzinfo=dt.UTC))])  # sent twice
    await session.commit()
    rows = (await session.scalars(select(Notification).where(Notification.recipient_id == user.id))).all()
    assert len(rows) == 1 and rows[0].event == "case.node" and rows[0].payload["node_zh"] == "查封"
    from backoffice.notify import render

    assert render(rows[0]) == f"您关注的案件 {case.number} 有新进展:查封。请登录查看。"


async def test_asset_clue_from_the_page_lands_in_the_court_queue_with_a_link(client: Client, case: MadeCase,
                                                                             session: AsyncSession,
                                                                             factory: Factory) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    form = await client.get(f"/cases/{case.id}/clues/asset_clue")
    assert form.status_code == 200 and 'name="case_number"' not in form.text and 'name="verification_code"' not in form.text
    resp = await client.post(f"/cases/{case.id}/clues/asset_clue", data={
        "asset_type": "vehicle", "description": "被执行人名下一辆白色轿车,常停在小区地库。", "location": "诸暨市",
        "contact_name": "张三", "contact_phone": "13812345678", "_key": "k-1", "_csrf_token": csrf(client)},
        follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith(f"/cases/{case.id}?sent=WI-")
    item = await session.scalar(select(WorkItem).where(WorkItem.kind == "asset_clue"))
    assert item is not None and item.department == "court"
    assert item.data["case_number"] == case.number and item.data["case_id"] == case.id
    assert item.data["sender"] == "party" and item.data["party_role"] == "creditor"
    assert "verification_code" not in item.data
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    page = await client.get(f"/staff/items/{item.reference}")
    assert page.status_code == 200
    assert f'href="/staff/cases/{case.id}"' in page.text and "案件当事人(已核验)" in page.text


async def test_refusal_clue_is_checked_field_by_field(client: Client, case: MadeCase) -> None:
    await open_case(client, case.number, CREDITOR_ID, case.code)
    resp = await client.post(f"/cases/{case.id}/clues/refusal_clue", data={
        "conduct": "teleporting", "description": "", "contact_name": "张三", "contact_phone": "123",
        "_key": "k-2", "_csrf_token": csrf(client)})
    assert resp.status_code == 400
    assert "请选择" in resp.text and "11位手机号码" in resp.text and "请填写具体情况" in resp.text


async def test_clue_with_a_wrong_query_code_is_refused_whether_or_not_the_case_exists(client: Client,
                                                                                      case: MadeCase) -> None:
    clue = {"asset_type": "vehicle", "description": "一辆车", "contact_name": "张三", "contact_phone": "13812345678"}
    def headers(key: str) -> dict[str, str]:
        return {"Authorization": "Bearer test-service-token-0123456789", "Idempotency-Key": f"case-clue-{key}"}

    known = await client.post("/api/v1/submissions", json={"kind": "asset_clue", "channel": "chat", "data": {
        **clue, "case_number": case.number, "verification_code": "WRONG234"}}, headers=headers("a"))
    unknown = await client.post("/api/v1/submissions", json={"kind": "asset_clue", "channel": "chat", "data": {
        **clue, "case_number": "(2020)浙0681执5号", "verification_code": "WRONG234"}}, headers=headers("b"))
    assert known.status_code == unknown.status_code == 422
    assert known.json() == unknown.json() and "查询码" in known.text
    right = await client.post("/api/v1/submissions", json={"kind": "asset_clue", "channel": "chat", "data": {
        **clue, "case_number": case.number, "verification_code": case.code}}, headers=headers("c"))
    assert right.status_code in (200, 201), right.text
    tip = await client.post("/api/v1/submissions", json={"kind": "asset_clue", "channel": "chat", "data": {
        **clue, "case_number": "(2020)浙0681执5号"}}, headers=headers("d"))
    assert tip.status_code in (200, 201), tip.text  # anyone may tell the court


async def test_the_page_reads_the_case_in_one_statement_and_shows_the_same(
        client: Client, case: MadeCase, session: AsyncSession, settings: Settings) -> None:
    """On PostgreSQL the page reads the case and everything under it in one statement (plus the
    documents list), both on asyncpg's own connection: the view it gives is the one the per-part
    statements give."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from cases.read import TRANSITIONS, Viewer, assemble, load_rows, main_node_key, transitions_of

    await _similar_cases(session, settings, [10, 20, 30, 40, 50])
    await open_case(client, case.number, CREDITOR_ID, case.code)
    seen: list[str] = []  # through SQLAlchemy
    sent: list[str] = []  # to asyncpg, whoever sent them
    logged: list[object] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    def log_driver(dbapi_connection: object, *args: object) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger") and driver not in logged:
            driver.add_query_logger(log_query)
            logged.append(driver)

    def log_query(record: object) -> None:
        sent.append(str(getattr(record, "query", "")))

    event.listen(Engine, "before_cursor_execute", count)
    event.listen(Pool, "checkout", log_driver)
    try:
        page = await client.get(f"/cases/{case.id}")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        event.remove(Pool, "checkout", log_driver)
        for driver in logged:
            driver.remove_query_logger(log_query)  # type: ignore[attr-defined]
    assert page.status_code == 200 and "通常的下一步" in page.text
    postgres = session.bind.dialect.name == "postgresql"
    if postgres:
        assert not seen, seen  # not through SQLAlchemy's execution …
        assert len(sent) == 2 and "j_parties" in sent[0] and "document" in sent[1], sent  # … the case, its documents
    one = await load_rows(session, case.id)
    parts = await load_rows(session, case.id, one_statement=False)
    assert one is not None and parts is not None
    prev = main_node_key(parts.nodes)
    measured = transitions_of((await session.execute(TRANSITIONS, {"prev_key": prev})).all())
    me = next(p.id for p in parts.parties if p.name == "张三")
    for viewer in (Viewer("creditor", me), Viewer("staff")):
        expected = assemble(parts, viewer, "zh", measured)
        assert assemble(one, viewer, "zh", one.measured if one.measured is not None else measured) == expected
    assert expected.plans and expected.next and expected.next.likely_from  # the parts were there to compare
