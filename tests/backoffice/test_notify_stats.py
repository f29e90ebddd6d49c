"""Notifications out of the outbox, calendar files, dashboards and the public figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backoffice import ics, notify, service
from backoffice.models import Notification
from backoffice.service import Actor
from portal.settings import Settings, SettingsError
from tests.backoffice.helpers import Client, sign_in
from tests.conftest import Factory


async def _outbox(session: AsyncSession, item_id: int) -> list[Notification]:
    rows = await session.scalars(select(Notification).where(Notification.item_id == item_id)
                                 .order_by(Notification.id).execution_options(populate_existing=True))
    return list(rows.all())


async def _item_with_news(factory: Factory, session: AsyncSession) -> int:
    citizen = await factory.user("buyer")
    staff = factory.principal(await factory.user("staff", "court"))
    item = await service.open_item(session, kind="asset_clue", department="court", actor=Actor.citizen(citizen.id),
                                   citizen_id=citizen.id, data={"contact_phone": "13812345678"})
    await service.claim(session, item.id, staff)
    await session.commit()
    return item.id


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[notify.Outgoing] = []

    async def send(self, message: notify.Outgoing) -> None:
        await asyncio.sleep(0)
        self.sent.append(message)


async def test_the_outbox_is_drained_once_even_by_two_senders_at_once(engine: AsyncEngine, factory: Factory,
                                                                      session: AsyncSession) -> None:
    item_id = await _item_with_news(factory, session)
    recorder = Recorder()
    # Drain everything due (other tests leave rows too), from two "processes" at the same time.
    while sum(await asyncio.gather(notify.drain(engine, recorder), notify.drain(engine, recorder))):
        pass
    ids = [m.id for m in recorder.sent]
    assert len(ids) == len(set(ids))
    rows = await _outbox(session, item_id)
    assert [r.event for r in rows] == ["item.received", "item.claimed"]
    assert all(r.state == "sent" and r.sent_at is not None for r in rows)
    # Two drains run at once, so the order they hand messages over in is not fixed: match by row.
    received = next(m for m in recorder.sent if m.id == rows[0].id)
    assert received.text.startswith("您的“财产线索提供”已受理,编号 WI-") and received.phone == "13812345678"


async def test_a_failing_gateway_is_retried_later_and_4xx_is_a_failure(engine: AsyncEngine, factory: Factory,
                                                                       session: AsyncSession) -> None:
    await _item_with_news(factory, session)
    while await notify.drain(engine, Recorder()):  # clear what is due
        pass
    item_id = await _item_with_news(factory, session)
    answers = iter([400, 500])
    gateway = notify.SmsGatewaySender("http://sms.invalid/send", "t", transport=httpx.MockTransport(
        lambda request: httpx.Response(next(answers, 200))))
    assert await notify.drain(engine, gateway) == 0  # 400 and 500: nothing counts as sent
    rows = await _outbox(session, item_id)
    assert all(r.state == "pending" and r.attempts == 1 and r.last_error for r in rows)
    assert rows[0].available_at > dt.datetime.now(dt.UTC)  # backs off
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert await notify.drain(engine, gateway, now=later) >= 2
    assert all(r.state == "sent" for r in await _outbox(session, item_id))


async def test_the_log_sender_masks_the_phone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="backoffice.notify")
    await notify.LogSender().send(notify.Outgoing(1, "item.done", "zh", "WI-000001 已办结。", "13812345678", None,
                                                  "WI-000001"))
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text


def test_calendar_files_are_valid_and_folded() -> None:
    event = ics.appointment("WI-000001@test", "交付预约, 浙江; 诸暨", "第一行\n第二行" + "长" * 60,
                            dt.date(2026, 12, 1), "morning")
    text = ics.render(event, now=dt.datetime(2026, 11, 25, tzinfo=dt.UTC)).decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20261201T010000Z" in text and "DTEND:20261201T040000Z" in text  # 9:00–12:00 China time
    assert "SUMMARY:交付预约\\, 浙江\\; 诸暨" in text and "第一行\\n第二行" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    whole_day = ics.render(ics.appointment("u", "s", "d", dt.date(2026, 12, 1), None)).decode()
    assert "DTSTART;VALUE=DATE:20261201" in whole_day and "DTEND;VALUE=DATE:20261202" in whole_day


async def test_an_appointment_downloads_as_a_calendar_file(client: Client, factory: Factory, settings: Settings) -> None:
    from accounts.identity import make_citizen_token
    from tests.backoffice.helpers import BEARER

    new, buyer = await factory.transfer()
    from storage.workdays import default_calendar

    day = default_calendar().next_working_day(dt.date.today() + dt.timedelta(days=7)).isoformat()  # not a weekend
    resp = await client.post("/api/v1/submissions", json={"kind": "delivery_appointment", "data": {
        "tracking_number": new.transfer.tracking_no, "preferred_date": day, "time_slot": "afternoon",
        "contact_phone": "13812345678"}}, headers={**BEARER, "Idempotency-Key": f"ics-{new.transfer.tracking_no}",
                                                    "X-Citizen-Token": make_citizen_token(settings.secret_key,
                                                                                          buyer.id)})
    assert resp.status_code == 201, resp.text
    ref = resp.json()["reference"]
    await sign_in(client, buyer)
    page = await client.get(f"/my/submissions/{ref}")
    assert f"/my/submissions/{ref}/calendar.ics" in page.text
    cal = await client.get(f"/my/submissions/{ref}/calendar.ics")
    assert cal.status_code == 200 and cal.headers["content-type"].startswith("text/calendar")
    assert f'filename="{ref}.ics"' in cal.headers["content-disposition"]
    assert f"DTSTART:{day.replace('-', '')}T060000Z" in cal.text  # 14:00 China time
    court = await factory.user("staff", "court")
    await sign_in(client, court)
    assert (await client.get(f"/staff/items/{ref}/calendar.ics")).status_code == 200
    water = await factory.user("staff", "water")
    await sign_in(client, water)
    assert (await client.get(f"/staff/items/{ref}/calendar.ics")).status_code == 404


async def test_dashboard_and_public_page_draw_charts_without_personal_data(client: Client, factory: Factory,
                                                                            session: AsyncSession) -> None:
    staff = factory.principal(await factory.user("staff", "vehicles"))
    for _ in range(3):
        citizen = await factory.user("buyer")
        item = await service.open_item(session, kind="talk_to_person", department="vehicles",
                                       actor=Actor.citizen(citizen.id), citizen_id=citizen.id,
                                       data={"topic": "车辆", "contact_name": "欧阳*锋", "contact_phone": "13700001111"},
                                       subject="欧阳*锋的车辆问题")
        await service.claim(session, item.id, staff)
        await service.complete(session, item.id, staff, "已回电")
    await session.commit()
    await factory.transfer()

    public = await client.get("/stats")
    assert public.status_code == 200
    assert "<svg" in public.text and "转人工服务" in public.text
    assert "欧阳" not in public.text and "13700001111" not in public.text and "style=" not in public.text

    await sign_in(client, await factory.user("staff", "vehicles"))
    board = await client.get("/staff/dashboard")
    assert board.status_code == 200
    assert board.text.count("<svg") >= 3 and "style=" not in board.text and "<script>" not in board.text
    assert "车管所" in board.text and "改革前" in board.text
    english = await client.get("/staff/dashboard?lang=en")
    assert "Before the reform" in english.text and "Open items per department" in english.text
    await sign_in(client, await factory.user("buyer"))
    assert (await client.get("/staff/dashboard")).status_code == 403


def test_queue_settings_are_validated() -> None:
    base = {"DATABASE_URL": "sqlite:///x.db"}
    assert Settings.from_env({**base, "CLAIM_LEASE_SECONDS": "120"}).queue.claim_lease_seconds == 120
    for bad in ({"CLAIM_LEASE_SECONDS": "5"}, {"CLAIM_LEASE_SECONDS": "soon"}, {"NOTIFY_SENDER": "pigeon"},
                {"NOTIFY_SENDER": "sms"}, {"NOTIFY_SENDER": "email", "SMTP_HOST": "mail"}):
        with pytest.raises(SettingsError):
            Settings.from_env({**base, **bad})
