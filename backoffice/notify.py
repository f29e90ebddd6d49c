"""Notifications: an outbox written in the same transaction as the change, and a sender
that drains it.

A change that should tell the citizen adds a row here; if the change rolls back, so does
the row, and nothing is said about something that did not happen. The drainer takes
rows with a short lease (a conditional UPDATE, so two portal processes never send the
same row), sends them through a :class:`Sender`, and marks them sent, or retries later
with back-off. A crash between sending and marking means the row is sent again after the
lease: at-least-once, which is the right side to err on for "your request was answered".

Senders: :class:`LogSender` (the default: writes to the log), :class:`SmsGatewaySender`
(an HTTP SMS gateway) and :class:`SmtpSender` (e-mail), all behind one interface.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import smtplib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from typing import Any, Protocol

import httpx
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from accounts.models import User
from backoffice.kinds import kind_title
from backoffice.models import Notification, OutboxState, reference, table
from storage.db import utcnow
from storage.periodic import Periodic

log = logging.getLogger("backoffice.notify")

SEND_LEASE = dt.timedelta(seconds=120)
MAX_ATTEMPTS = 6

# What each event says. Short enough for one SMS; the details are behind the link. The queue's own
# events; other domains add theirs (:func:`register_texts`).
TEXTS: dict[str, tuple[str, str]] = {
    "item.received": ("您的“{kind}”已受理,编号 {ref}。", "We have received your {kind}: {ref}."),
    "item.claimed": ("{ref}(“{kind}”)已有工作人员在办理。", "{ref} ({kind}) is being handled."),
    "item.reply": ("{ref} 有新的回复,请登录查看。", "There is a new reply on {ref}; sign in to read it."),
    "item.correction_requested": ("{ref} 需要您补正材料,请登录查看并回复。",
                                  "{ref} needs something from you: sign in to see what and answer."),
    "item.done": ("{ref}(“{kind}”)已办结。", "{ref} ({kind}) is done."),
    "item.rejected": ("{ref} 未予办理,请登录查看原因。", "{ref} was declined; sign in to see why."),
    "item.forwarded": ("{ref} 已转交{department}办理。", "{ref} has been passed to the {department}."),
    "item.reopened": ("{ref} 已根据您的异议重新办理。", "{ref} has been reopened on your dispute."),
}


def placeholders(text: str) -> set[str]:
    """The {fields} a notice's text fills in."""
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def check_texts(texts: Mapping[str, tuple[str, str]]) -> None:
    """Both languages of a notice fill in the same fields, each a plain name: a field only one of
    them names, or one misspelt in one of them, would leave a blank in what that reader gets."""
    for event, (zh, en) in texts.items():
        fields = placeholders(zh)
        if fields != placeholders(en):
            raise ValueError(f"notification event {event!r}: the zh text fills {sorted(fields)}, "
                             f"the en text {sorted(placeholders(en))}")
        if not all(field.isidentifier() for field in fields):
            raise ValueError(f"notification event {event!r}: a field that is not a plain name in {zh!r}")


check_texts(TEXTS)


def register_texts(texts: Mapping[str, tuple[str, str]]) -> None:
    """Add another domain's notices (zh, en), e.g. a case's new node for the people who follow
    the case: the composition root registers them in every process, the sender included, so the
    queue's outbox carries them without naming them. The same event twice must say the same;
    both languages must fill the same fields (:func:`check_texts`)."""
    check_texts(texts)
    for event, pair in texts.items():
        if TEXTS.get(event, pair) != pair:
            raise ValueError(f"notification event {event!r} is registered with another text")
        TEXTS[event] = pair


DIGEST_EVENT = "staff.digest"  # a staff member's daily digest (backoffice.digest)

OUTBOX_COLUMNS = ("item_id", "event", "recipient_kind", "recipient_id", "department", "phone", "language", "payload",
                  "state", "attempts", "available_at", "created_at", "sent_at", "last_error")


@lru_cache(maxsize=1)
def outbox_insert() -> Any:
    t = table(Notification)
    return insert(t).values({c: bindparam(c, type_=t.c[c].type) for c in OUTBOX_COLUMNS})


def outbox_row(item: Any, event: str, now: dt.datetime, **payload: Any) -> dict[str, Any] | None:
    """The outbox row telling the item's citizen about ``event`` (None: nobody to tell).

    ``item`` is a WorkItem or anything with its id, kind, citizen_id, language and data.
    """
    if event not in TEXTS:
        raise ValueError(f"unknown notification event {event!r}")
    phone = (item.data or {}).get("contact_phone") or None
    if item.citizen_id is None and phone is None:
        return None
    return {"item_id": item.id, "event": event, "recipient_kind": "citizen", "recipient_id": item.citizen_id,
            "department": None, "phone": phone, "language": item.language or "zh",
            "payload": {"kind": item.kind, **payload}, "state": OutboxState.pending.value, "attempts": 0,
            "available_at": now, "created_at": now, "sent_at": None, "last_error": None}


async def enqueue(session: AsyncSession, item: Any, event: str, **payload: Any) -> bool:
    """Tell the item's citizen about ``event`` once the caller's transaction commits (False: no one to tell)."""
    row = outbox_row(item, event, utcnow(), **payload)
    if row is None:
        return False
    await session.execute(outbox_insert(), row)
    return True


async def enqueue_for_user(session: AsyncSession, user_id: int, event: str, language: str, **payload: Any) -> None:
    """Tell an account holder about ``event`` (not about a queue item: a case's new node, a lot they
    follow) once the caller's transaction commits.

    ``payload`` fills the event's text: ``reference`` (shown as {ref}), ``department`` (a department
    code, shown by name) and the event's own fields, given in both languages as ``x_zh``/``x_en``
    for {x}.
    """
    if event not in TEXTS:
        raise ValueError(f"unknown notification event {event!r}")
    now = utcnow()
    await session.execute(outbox_insert(), {
        "item_id": None, "event": event, "recipient_kind": "citizen", "recipient_id": user_id, "department": None,
        "phone": None, "language": language if language in ("zh", "en") else "zh", "payload": payload,
        "state": OutboxState.pending.value, "attempts": 0, "available_at": now, "created_at": now, "sent_at": None,
        "last_error": None})


@dataclass(frozen=True)
class Outgoing:
    id: int
    event: str
    language: str
    text: str
    phone: str | None
    email: str | None
    reference: str
    subject: str = ""  # e-mail only; empty: the start of the text


class SendError(Exception):
    """The channel refused or failed; the row is retried later, or kept as failed when ``permanent``."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Sender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> None: ...


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else "-"


class LogSender:
    name = "log"

    async def send(self, message: Outgoing) -> None:
        log.info("notify #%s %s %s to phone=%s: %s", message.id, message.event, message.reference,
                 mask_phone(message.phone), message.text)


class SmsGatewaySender:
    """POST {"to", "text"} to an SMS gateway; anything but a 2xx is a failure (and retried)."""

    name = "sms"

    def __init__(self, url: str, token: str, *, timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None):
        self.url = url
        self.token = token
        self.timeout = timeout
        self.transport = transport

    async def send(self, message: Outgoing) -> None:
        if not message.phone:
            log.info("notify #%s: no phone number, logged only: %s", message.id, message.text)
            return
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                resp = await client.post(self.url, json={"to": message.phone, "text": message.text},
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Idempotency-Key": f"outbox-{message.id}"})
        except httpx.HTTPError as exc:
            raise SendError(f"gateway unreachable: {type(exc).__name__}") from None
        if not 200 <= resp.status_code < 300:
            raise SendError(f"gateway answered {resp.status_code}")


def message_id(outbox_id: int, sender: str) -> str:
    """The e-mail's Message-ID, fixed by the outbox row: a re-send after a lost answer carries the
    same id, so the receiving side (or a mailbox that de-duplicates) sees one message, not two."""
    domain = sender.rpartition("@")[2] or "portal.invalid"
    return f"<outbox-{outbox_id}@{domain}>"


class SmtpSender:
    """E-mail through an SMTP relay, one connection per message.

    A 4xx answer, a refused or dropped connection or a timeout is temporary: the row is tried
    again later. A 5xx answer is the server's final word on this message (unknown mailbox,
    relay denied): the row is kept as ``failed`` with the answer in ``last_error``, and
    ``python -m portal outbox --retry-failed`` puts such rows back once the cause is fixed.
    Nothing is deleted either way.
    """

    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def build(self, message: Outgoing) -> EmailMessage:
        assert message.email
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.email
        mail["Subject"] = message.subject or message.text.splitlines()[0][:60]
        mail["Message-ID"] = message_id(message.id, self.sender)
        mail["X-Outbox-Id"] = str(message.id)
        mail.set_content(message.text)
        return mail

    async def send(self, message: Outgoing) -> None:
        if not message.email:
            log.info("notify #%s: no e-mail address, logged only: %s", message.id, message.text)
            return
        mail = self.build(message)

        def deliver() -> None:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)

        try:
            await asyncio.to_thread(deliver)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _msg in exc.recipients.values()})
            raise SendError(f"smtp: recipient refused {codes}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"smtp: {exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"smtp: {type(exc).__name__}") from None


def _text(raw: bytes | str) -> str:
    return (raw.decode(errors="replace") if isinstance(raw, bytes) else raw)[:200]


def render(row: Notification) -> str:
    from accounts.departments import department_name

    if row.event == DIGEST_EVENT:
        from backoffice.digest import render_digest

        return render_digest(row.payload or {})
    zh, en = TEXTS[row.event]
    lang = row.language if row.language in ("zh", "en") else "zh"
    payload = row.payload or {}
    dept = payload.get("department")
    # A field given in both languages (``node_zh``/``node_en``) fills {node} in the reader's.
    own = {key[:-3]: str(value) for key, value in payload.items() if key.endswith(f"_{lang}")}
    return (zh if lang == "zh" else en).format_map(_Blank(
        row.event, row.id,
        own,
        ref=payload.get("reference") or (reference(row.item_id) if row.item_id else ""),
        kind=kind_title(str(payload.get("kind", "")), lang),
        department=department_name(dept, lang) if dept else "",
    ))


class _Blank(dict[str, Any]):
    """Format arguments where a field the payload lacks reads as nothing (never a KeyError: the
    citizen still gets the rest of the notice), logged so that the gap is seen and mended."""

    def __init__(self, event: str, row_id: Any, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.event, self.row_id = event, row_id

    def __missing__(self, key: str) -> str:
        log.warning("notification %s (%s): nothing to fill in {%s}; sent with it blank", self.row_id, self.event, key)
        return ""


async def _claim_batch(engine: AsyncEngine, batch: int, now: dt.datetime,
                       lease: dt.timedelta = SEND_LEASE) -> list[Notification]:
    t = table(Notification)
    due = (t.c.state.in_([OutboxState.pending.value, OutboxState.sending.value]), t.c.available_at <= now)
    pick = select(t.c.id).where(*due).order_by(t.c.id).limit(batch)
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(t).where(t.c.id.in_(pick.scalar_subquery()), *due)
        .values(state=OutboxState.sending.value, available_at=now + lease, attempts=t.c.attempts + 1)
        .returning(*t.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(stmt)).all()
    return [Notification(**row._mapping) for row in rows]


async def drain(engine: AsyncEngine, sender: Sender, *, batch: int = 50, now: dt.datetime | None = None,
                lease: dt.timedelta = SEND_LEASE) -> int:
    """Send what is due; returns how many were sent. Rows claimed by a sender that dies are sent
    again once ``lease`` has passed (it must exceed the time a batch takes to send)."""
    now = now or utcnow()
    rows = await _claim_batch(engine, batch, now, lease)
    if not rows:
        return 0
    ids = {r.recipient_id for r in rows if r.recipient_id is not None}
    contacts: dict[int, tuple[str | None, str | None]] = {}
    if ids:
        async with engine.connect() as conn:
            for uid, phone, address in (await conn.execute(
                    select(User.id, User.phone, User.email).where(User.id.in_(ids)))).all():
                contacts[uid] = (phone, address)
    sent = 0
    t = table(Notification)
    for row in rows:
        user_phone, email = contacts.get(row.recipient_id or -1, (None, None))
        message = Outgoing(id=row.id, event=row.event, language=row.language, text=render(row),
                           phone=row.phone or user_phone, email=email,
                           reference=reference(row.item_id) if row.item_id else str((row.payload or {}).get("reference", "")),
                           subject=str((row.payload or {}).get("subject", "")))
        try:
            await sender.send(message)
        except SendError as exc:
            failed = exc.permanent or row.attempts >= MAX_ATTEMPTS
            retry_at = utcnow() + dt.timedelta(seconds=30 * 2 ** min(row.attempts, 10))
            async with engine.begin() as conn:
                await conn.execute(update(t).where(t.c.id == row.id, t.c.state == OutboxState.sending.value).values(
                    state=(OutboxState.failed if failed else OutboxState.pending).value,
                    available_at=retry_at, last_error=str(exc)[:300]))
            log.warning("notify #%s failed (attempt %s): %s", row.id, row.attempts, exc)
            continue
        async with engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == row.id, t.c.state == OutboxState.sending.value).values(
                state=OutboxState.sent.value, sent_at=utcnow(), last_error=None))
        sent += 1
    return sent


async def retry_failed(engine: AsyncEngine) -> int:
    """Put rows kept as ``failed`` back in the queue (after the cause was fixed); returns how many."""
    t = table(Notification)
    async with engine.begin() as conn:
        result = await conn.execute(update(t).where(t.c.state == OutboxState.failed.value).values(
            state=OutboxState.pending.value, attempts=0, available_at=utcnow()))
    return int(result.rowcount or 0)


async def outbox_counts(engine: AsyncEngine) -> dict[str, int]:
    """How many outbox rows are in each state."""
    from sqlalchemy import func

    t = table(Notification)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.c.state, func.count()).group_by(t.c.state))).all()
    return {str(state): int(n) for state, n in rows}


class Drainer(Periodic):
    """Drains the outbox every ``interval`` seconds in the background of a portal process."""

    def __init__(self, engine: AsyncEngine, sender: Sender, interval: float, *, batch: int = 50,
                 lease: dt.timedelta = SEND_LEASE) -> None:
        super().__init__("outbox-drainer", interval, self._round)
        self.engine = engine
        self.sender = sender
        self.batch = batch
        self.lease = lease

    async def _round(self) -> None:
        while await drain(self.engine, self.sender, batch=self.batch, lease=self.lease) > 0:
            pass
