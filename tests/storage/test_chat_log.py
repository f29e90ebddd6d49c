"""storage.chat_log on each backend: what is appended is read back in order, whole, with its
buttons; a long turn is cut at MAX_TEXT; conversations stay apart; forget and purge delete."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.chat_log import MAX_TEXT, TURN_TTL, ChatLog


class _Turn(msgspec.Struct):
    who: str
    text: str
    buttons: list[dict[str, str]] = []


async def test_appended_turns_come_back_in_order_with_their_buttons(engine: AsyncEngine) -> None:
    log = ChatLog(engine)
    await log.append("c1", [_Turn("user", "你好"), _Turn("bot", "您好！", [{"title": "查进度", "payload": "/ask"}])])
    await log.append("c2", [_Turn("user", "other conversation")])
    await log.append("c1", [_Turn("user", "x" * (MAX_TEXT + 50)), _Turn("system", "it's \"quoted\"; DROP TABLE x")])
    await log.append("c1", [])  # nothing to add: no statement, no error

    turns = await log.recent("c1", 10)
    assert [(t.who, t.text[:12]) for t in turns] == [
        ("user", "你好"), ("bot", "您好！"), ("user", "x" * 12), ("system", "it's \"quoted")]
    assert turns[1].buttons == [{"title": "查进度", "payload": "/ask"}] and turns[0].buttons == []
    assert len(turns[2].text) == MAX_TEXT and turns[3].text == "it's \"quoted\"; DROP TABLE x"
    assert [t.text for t in await log.recent("c1", 2)] == [turns[2].text, turns[3].text]  # the last two
    assert [t.text for t in await log.recent("c2", 10)] == ["other conversation"]


async def test_forget_and_purge_delete(engine: AsyncEngine) -> None:
    log = ChatLog(engine)
    await log.append("gone", [_Turn("user", "a")])
    await log.append("kept", [_Turn("user", "b")])
    await log.forget("gone")
    assert await log.recent("gone", 10) == []
    later = dt.datetime.now(dt.UTC) + TURN_TTL + dt.timedelta(minutes=1)
    assert await log.recent("kept", 10, now=later) == []  # too old to show
    assert await log.purge(now=later) == 1
    assert await log.recent("kept", 10) == []
