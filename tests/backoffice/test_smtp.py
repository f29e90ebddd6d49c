"""E-mail for real: the outbox's SMTP sender against an SMTP server process (aiosmtpd) that
accepts, refuses, is busy, or hangs up; and staff's daily digest through the same path.

What must hold in every case: no message is lost (a row is sent, pending for a retry or
kept as failed with the server's answer), and none is delivered as two different messages
(a re-send carries the same Message-ID, fixed by the outbox row).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backoffice import notify, service
from backoffice.digest import enqueue_digests, render_digest
from backoffice.models import Notification, WorkItem
from backoffice.service import Actor
from tests.conftest import Factory
from tests.support.processes import Process, free_port
from tests.support.smtp_server import read_mailbox

SENDER = "portal@court.example"


class Smtp:
    def __init__(self, tmp: Path, mode: str, drops: int = 1) -> None:
        self.port = free_port()
        self.mailbox = tmp / f"mail-{mode}-{self.port}.jsonl"
        self.process = Process(f"smtp-{mode}", [sys.executable, "-m", "tests.support.smtp_server", "--port",
                                                str(self.port), "--mailbox", str(self.mailbox), "--mode", mode,
                                                "--drop", str(drops)], log_path=tmp / f"smtp-{mode}.log")

    def sender(self) -> notify.SmtpSender:
        return notify.SmtpSender("127.0.0.1", self.port, SENDER, timeout=5)

    def received(self) -> list[dict[str, str]]:
        return read_mailbox(self.mailbox)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Callable[..., Smtp]]:
    started: list[Smtp] = []

    def start(mode: str, drops: int = 1) -> Smtp:
        server = Smtp(tmp_path, mode, drops)
        server.process.start()
        server.process.wait_port(server.port, timeout=20)
        started.append(server)
        return server

    yield start
    for server in started:
        server.process.stop()


async def _rows(session: AsyncSession, item_id: int) -> list[Notification]:
    rows = await session.scalars(select(Notification).where(Notification.item_id == item_id)
                                 .order_by(Notification.id).execution_options(populate_existing=True))
    return list(rows.all())


async def _item_with_two_messages(factory: Factory, session: AsyncSession, engine: AsyncEngine) -> tuple[int, str]:
    """An item whose citizen (with an e-mail address) is owed "received" and "claimed"; nothing else due."""
    while await notify.drain(engine, notify.LogSender(), now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)):
        pass
    citizen = await factory.user("buyer")
    staff = factory.principal(await factory.user("staff", "court"))
    item = await service.open_item(session, kind="asset_clue", department="court", actor=Actor.citizen(citizen.id),
                                   citizen_id=citizen.id, data={})
    await service.claim(session, item.id, staff)
    await session.commit()
    return item.id, citizen.email


LATER = dt.timedelta(days=1)  # past any back-off


async def test_an_accepting_server_gets_each_message_once_with_the_outbox_id(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    item_id, address = await _item_with_two_messages(factory, session, engine)
    server = smtp("accept")
    assert await notify.drain(engine, server.sender()) == 2
    rows = await _rows(session, item_id)
    assert [r.state for r in rows] == ["sent", "sent"]
    mail = server.received()
    assert [m["message_id"] for m in mail] == [f"<outbox-{r.id}@court.example>" for r in rows]
    assert all(m["to"] == [address] and m["from"] == SENDER for m in mail)
    assert mail[0]["text"].startswith("您的“财产线索提供”已受理,编号 WI-")
    assert await notify.drain(engine, server.sender(), now=dt.datetime.now(dt.UTC) + LATER) == 0  # nothing twice
    assert len(server.received()) == 2


async def test_a_refusing_server_keeps_the_messages_as_failed_until_retried(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    item_id, _ = await _item_with_two_messages(factory, session, engine)
    refusing = smtp("refuse")
    assert await notify.drain(engine, refusing.sender()) == 0
    rows = await _rows(session, item_id)
    assert [r.state for r in rows] == ["failed", "failed"]  # 5xx: final for now, but kept with the answer
    assert all("550" in (r.last_error or "") for r in rows)
    assert refusing.received() == []
    # Not retried on their own (a 5xx would only be refused again) ...
    assert await notify.drain(engine, refusing.sender(), now=dt.datetime.now(dt.UTC) + LATER) == 0
    # ... until the cause is fixed and someone puts them back.
    assert await notify.retry_failed(engine) == 2
    accepting = smtp("accept")
    assert await notify.drain(engine, accepting.sender()) == 2
    assert [r.state for r in await _rows(session, item_id)] == ["sent", "sent"]
    assert len({m["message_id"] for m in accepting.received()}) == 2 == len(accepting.received())


async def test_a_busy_server_4xx_is_retried_after_a_back_off(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    item_id, _ = await _item_with_two_messages(factory, session, engine)
    busy = smtp("busy")
    assert await notify.drain(engine, busy.sender()) == 0
    rows = await _rows(session, item_id)
    assert all(r.state == "pending" and r.attempts == 1 and "451" in (r.last_error or "") for r in rows)
    assert all(r.available_at > dt.datetime.now(dt.UTC) for r in rows)
    accepting = smtp("accept")
    assert await notify.drain(engine, accepting.sender()) == 0  # not before the back-off ends
    assert await notify.drain(engine, accepting.sender(), now=dt.datetime.now(dt.UTC) + LATER) == 2
    assert len(accepting.received()) == 2


async def test_a_server_that_hangs_up_at_once_or_is_gone_loses_nothing(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    item_id, _ = await _item_with_two_messages(factory, session, engine)
    dropping = smtp("drop-on-connect")
    assert await notify.drain(engine, dropping.sender()) == 0
    rows = await _rows(session, item_id)
    assert all(r.state == "pending" and r.last_error == "smtp: SMTPServerDisconnected" for r in rows)
    nobody = notify.SmtpSender("127.0.0.1", free_port(), SENDER, timeout=2)  # nothing listens there
    assert await notify.drain(engine, nobody, now=dt.datetime.now(dt.UTC) + LATER) == 0
    assert all(r.state == "pending" and r.attempts == 2 and r.last_error == "smtp: ConnectionRefusedError"
               for r in await _rows(session, item_id))
    accepting = smtp("accept")
    assert await notify.drain(engine, accepting.sender(), now=dt.datetime.now(dt.UTC) + 2 * LATER) == 2
    assert len(accepting.received()) == 2


async def test_a_hang_up_after_the_message_is_resent_with_the_same_message_id(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    item_id, _ = await _item_with_two_messages(factory, session, engine)
    server = smtp("drop-after-data", drops=1)  # the first message arrives, its "250" never does
    assert await notify.drain(engine, server.sender()) == 1
    rows = await _rows(session, item_id)
    assert [r.state for r in rows] == ["pending", "sent"]
    assert await notify.drain(engine, server.sender(), now=dt.datetime.now(dt.UTC) + LATER) == 1
    rows = await _rows(session, item_id)
    assert [r.state for r in rows] == ["sent", "sent"]
    mail = server.received()
    ids = [m["message_id"] for m in mail]
    # Three deliveries of two messages: the retried one twice under one id, which a mailbox that
    # de-duplicates by Message-ID (as the drill's recipients do) shows once.
    assert len(mail) == 3 and ids.count(f"<outbox-{rows[0].id}@court.example>") == 2
    assert sorted(set(ids)) == sorted(f"<outbox-{r.id}@court.example>" for r in rows)


async def test_staff_get_one_daily_digest_of_new_and_overdue_items_of_their_department(
        engine: AsyncEngine, factory: Factory, session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    court = await factory.user("staff", "court")
    other_court = await factory.user("staff", "court")
    tax = await factory.user("staff", "tax")  # nothing in the tax bureau: no digest
    citizen = await factory.user("buyer")
    fresh = await service.open_item(session, kind="asset_clue", department="court", actor=Actor.citizen(citizen.id),
                                    citizen_id=citizen.id, data={})
    late = await service.open_item(session, kind="asset_clue", department="court", actor=Actor.citizen(citizen.id),
                                   citizen_id=citizen.id, data={})
    await session.commit()
    late_row = await session.get(WorkItem, late.id)
    assert late_row is not None
    late_row.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    late_row.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=5)
    await session.commit()

    assert await enqueue_digests(engine) == 2
    assert await enqueue_digests(engine) == 0  # once a day, however often the job runs
    digests = list((await session.scalars(select(Notification).where(Notification.event == notify.DIGEST_EVENT)
                                          .order_by(Notification.id))).all())
    assert [d.recipient_id for d in digests] == [court.id, other_court.id] and tax.id not in {
        d.recipient_id for d in digests}
    payload = digests[0].payload
    assert payload["new_count"] == 1 and payload["new"][0]["ref"] == f"WI-{fresh.id:06d}"
    assert payload["overdue_count"] == 1 and payload["overdue"][0]["ref"] == f"WI-{late.id:06d}"

    server = smtp("accept")
    while await notify.drain(engine, server.sender()):
        pass
    mail = [m for m in server.received() if m["to"] in ([court.email], [other_court.email])]
    assert len(mail) == 2
    assert mail[0]["subject"].endswith(":新事项 1,已逾期 1")
    assert f"WI-{late.id:06d}" in mail[0]["text"] and "Overdue: 1" in mail[0]["text"]
    # The next day's run writes the next day's digest.
    assert await enqueue_digests(engine, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == 2


def test_the_digest_names_how_many_more_there_are_beyond_those_listed() -> None:
    line = {"ref": "WI-000001", "subject": "线索", "due": "2026-12-01 17:00"}
    text = render_digest({"day": "2026-12-01", "department": "court", "new": [line], "new_count": 30,
                          "overdue": [], "overdue_count": 0})
    assert "…另有 29 项" in text and "… and 29 more" in text and "WI-000001  线索" in text
    assert text.index("待办摘要") < text.index("daily summary")  # Chinese first


def _process_env(database_url: str, server: Smtp) -> dict[str, str]:
    from tests.conftest import _env

    return _env(database_url, NOTIFY_SENDER="email", SMTP_HOST="127.0.0.1", SMTP_PORT=str(server.port),
                SMTP_FROM=SENDER, NOTIFY_INTERVAL_SECONDS="1", DIGEST_INTERVAL_SECONDS="0")


async def test_the_sender_process_delivers_the_outbox_and_stops_on_ctrl_c(
        database_url: str, engine: AsyncEngine, factory: Factory, session: AsyncSession, tmp_path: Path,
        smtp: Callable[..., Smtp]) -> None:
    import asyncio
    import signal

    item_id, address = await _item_with_two_messages(factory, session, engine)
    server = smtp("accept")
    sender = Process("sender", [sys.executable, "-m", "portal", "send"], env=_process_env(database_url, server),
                     log_path=tmp_path / "sender.log")
    with sender:
        for _ in range(100):
            if len(server.received()) >= 2:
                break
            await asyncio.sleep(0.2)
        assert [m["to"] for m in server.received()] == [[address], [address]]
        sender.proc.send_signal(signal.SIGINT)  # type: ignore[union-attr]
        assert sender.proc.wait(timeout=15) == 0  # type: ignore[union-attr]
    assert [r.state for r in await _rows(session, item_id)] == ["sent", "sent"]


async def test_the_digest_and_outbox_commands(database_url: str, engine: AsyncEngine, factory: Factory,
                                              session: AsyncSession, smtp: Callable[..., Smtp]) -> None:
    import asyncio
    import os
    import subprocess

    staff = await factory.user("staff", "court")
    await service.open_item(session, kind="asset_clue", department="court", actor=Actor.citizen(None, "walk-in"), data={})
    await session.commit()
    env = {**os.environ, **_process_env(database_url, smtp("refuse"))}

    async def portal(*args: str) -> str:
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "portal", *args], env=env,
                                       capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    first, again = await portal("digest"), await portal("digest")
    assert "queued 1 staff digests" in first and "queued 0 staff digests" in again
    digest = (await session.scalars(select(Notification).where(Notification.event == notify.DIGEST_EVENT))).one()
    assert digest.recipient_id == staff.id
    await notify.drain(engine, notify.SmtpSender("127.0.0.1", int(env["SMTP_PORT"]), SENDER, timeout=5))
    counts = await portal("outbox", "--retry-failed")
    assert "put 1 failed notifications back" in counts and "pending 1" in counts
