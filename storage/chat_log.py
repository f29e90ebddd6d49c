"""The chat's turns, append-only, by conversation (the portal's server-side chat sender id).

The recent turns used to live in the server-side session: every chat message read the whole
history out of the session, converted it, appended and wrote the session back (its cookie
too), so a message cost O(history) and rewrote a row that every other request reads. Here a
message appends its new turns (one INSERT) and reads nothing; only the page, which shows the history, reads the last ``limit`` turns
(an index on conversation, id).

Only whoever holds the conversation id (the portal keeps it in the server-side session,
never in the browser) reaches its turns. Turns are kept ``TURN_TTL`` at most: the purge
deletes older ones (sessions live 12 hours from their last change; a conversation older
than that is no longer reachable anyway), and a conversation that is cleared, or whose
session is rotated (sign-in, sign-out), is deleted at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import PlainBase, utcnow

TURN_TTL = dt.timedelta(hours=12)
MAX_TEXT = 4000  # characters of one turn


class ChatTurn(PlainBase):
    __tablename__ = "chat_turn"
    __table_args__ = (Index("ix_chat_turn_conversation", "conversation", "id"),
                      Index("ix_chat_turn_at", "at"))

    conversation: Mapped[str] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(8))  # "user" | "bot" | "system"
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[str | None] = mapped_column(Text)  # JSON [{"title", "payload"}] or NULL
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _table() -> sa.Table:
    table: sa.Table = ChatTurn.__table__  # type: ignore[assignment]
    return table


class LoggedTurn(msgspec.Struct):
    who: str
    text: str
    buttons: list[dict[str, str]] = []


_BUTTONS = msgspec.json.Decoder(list[dict[str, str]])


class ChatLog:
    """Appends and reads a conversation's turns, one statement per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        # One statement per call: the portal hands its engine in autocommit on PostgreSQL (no
        # BEGIN/COMMIT round trips: portal.app.single_statement_engine); any engine works.
        self.engine = engine
        t = _table()
        self._inserts: dict[int, sa.TextClause] = {}
        self._recent = (sa.select(t.c.who, t.c.text, t.c.buttons)
                        .where(t.c.conversation == sa.bindparam("c"), t.c.at > sa.bindparam("since"))
                        .order_by(t.c.id.desc()).limit(sa.bindparam("n")))
        self._forget = sa.delete(t).where(t.c.conversation == sa.bindparam("c"))

    def _insert(self, n: int) -> sa.TextClause:
        """One INSERT … VALUES for ``n`` rows (built once per row count: a textual statement is
        compiled once, where a multi-row ``insert().values([...])`` was compiled at every call)."""
        stmt = self._inserts.get(n)
        if stmt is None:
            rows = ", ".join(f"(:c, :w{i}, :t{i}, :b{i}, :at)" for i in range(n))
            stmt = self._inserts[n] = sa.text(
                f"INSERT INTO chat_turn (conversation, who, text, buttons, at) VALUES {rows}"  # noqa: S608
            ).bindparams(sa.bindparam("at", type_=DateTime(timezone=True)))
        return stmt

    async def append(self, conversation: str, turns: Sequence[Any]) -> None:
        """Add ``turns`` (objects with ``who``, ``text`` and ``buttons``) in order."""
        if not turns:
            return
        params: dict[str, Any] = {"c": conversation, "at": utcnow()}
        for i, turn in enumerate(turns):
            params[f"w{i}"] = turn.who
            params[f"t{i}"] = turn.text[:MAX_TEXT]
            params[f"b{i}"] = msgspec.json.encode(turn.buttons).decode() if turn.buttons else None
        async with self.engine.begin() as conn:  # (on PostgreSQL: no BEGIN, autocommit)
            await conn.execute(self._insert(len(turns)), params)

    async def recent(self, conversation: str, limit: int, now: dt.datetime | None = None) -> list[LoggedTurn]:
        """The last ``limit`` turns of the conversation (younger than ``TURN_TTL``), oldest first."""
        since = (now or utcnow()) - TURN_TTL
        async with self.engine.connect() as conn:
            rows = (await conn.execute(self._recent, {"c": conversation, "since": since, "n": limit})).all()
        return [LoggedTurn(who, text, _BUTTONS.decode(buttons) if buttons else []) for who, text, buttons in reversed(rows)]

    async def forget(self, conversation: str) -> None:
        """Delete every turn of the conversation."""
        async with self.engine.begin() as conn:
            await conn.execute(self._forget, {"c": conversation})

    async def purge(self, now: dt.datetime | None = None) -> int:
        """Delete turns older than ``TURN_TTL``; returns how many went."""
        cutoff = (now or utcnow()) - TURN_TTL
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(_table()).where(_table().c.at < cutoff))
        return int(result.rowcount or 0)


__all__ = ["ChatLog", "ChatTurn", "LoggedTurn", "TURN_TTL"]
