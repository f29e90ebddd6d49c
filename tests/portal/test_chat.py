"""The chat page proxies to Rasa's REST webhook; here Rasa is a small real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.clients import client_from_token
from portal.app import create_app
from portal.chat import HISTORY_TURNS
from portal.settings import Settings
from storage.chat_log import TURN_TTL, ChatLog, ChatTurn
from storage.db import utcnow
from storage.kv import KeyValueItem
from tests.conftest import TEST_SECRET, Factory, _env, csrf, login
from tests.support.fake_rasa import FakeRasa
from title_transfer.access import citizen_from_token


def _reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"text": "契税按1%估算,详见 /taxes 。<b>bold</b>", "recipient_id": body["sender"]},
        {"text": "还需要什么?", "buttons": [{"title": "查询进度", "payload": "/ask_transfer_status"}]},
    ]


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa(_reply)
    yield fake
    fake.close()


@pytest.fixture
def chat_app(database_url: str, rasa: FakeRasa) -> Litestar:
    return create_app(Settings.from_env(_env(database_url, RASA_URL=rasa.url)))


async def _send(client: AsyncTestClient[Litestar], text: str, **headers: str):  # type: ignore[no-untyped-def]
    if not client.cookies.get("csrftoken"):
        await client.get("/chat")
    return await client.post("/chat", data={"message": text, "_csrf_token": csrf(client)}, headers=headers,
                             follow_redirects=False)


async def test_message_goes_to_rasa_with_a_server_side_sender_and_reply_is_shown(chat_app: Litestar,
                                                                                 rasa: FakeRasa) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        resp = await _send(client, "契税多少?")
        assert resp.status_code == 303
        page = (await client.get("/chat")).text
        assert "契税多少?" in page and '<a href="/taxes">/taxes</a>' in page
        assert "&lt;b&gt;bold&lt;/b&gt;" in page  # the bot's text is escaped
        assert 'name="message" value="/ask_transfer_status"' in page  # quick-reply button as a plain form
        await _send(client, "再问一次")
    assert len(rasa.received) == 2
    first, second = rasa.received
    assert first["sender"] == second["sender"] and len(first["sender"]) == 32
    assert first["metadata"]["lang"] == "zh" and "identity" not in first["metadata"]  # nobody signed in
    # the browser's client key, signed, for the API's per-client limits (X-Chat-Client)
    assert client_from_token(TEST_SECRET, first["metadata"]["client"]) == "ip:testclient"


async def test_htmx_gets_just_the_new_turns(chat_app: Litestar) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        resp = await _send(client, "hello", **{"HX-Request": "true"})
        assert resp.status_code == 200 and "<html" not in resp.text and "hello" in resp.text
        # the media type is named, not guessed from the template's file name: still HTML in UTF-8
        assert resp.headers["content-type"] == "text/html; charset=utf-8"
        assert (await client.get("/chat")).headers["content-type"] == "text/html; charset=utf-8"


async def test_signed_in_person_is_named_by_a_signed_identity(chat_app: Litestar, rasa: FakeRasa,
                                                              factory: Factory, settings: Settings) -> None:
    user = await factory.user("buyer")
    async with AsyncTestClient(app=chat_app) as client:
        await login(client, user.email)
        await _send(client, "我的过户进度", **{"Accept-Language": "en"})
    meta = rasa.received[-1]["metadata"]
    assert citizen_from_token(settings.secret_key, meta["identity"]) == user.id


async def test_empty_and_oversized_messages_get_a_clear_answer_and_reach_nobody(chat_app: Litestar,
                                                                                 rasa: FakeRasa) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        empty = await _send(client, "   ", **{"HX-Request": "true"})
        assert "请输入" in empty.text
        long = await _send(client, "长" * 5000, **{"HX-Request": "true"})
        assert "5000" in long.text and "1000" in long.text
    assert rasa.received == []


async def test_rasa_down_offers_a_message_form(database_url: str) -> None:
    app = create_app(Settings.from_env(_env(database_url, RASA_URL="http://127.0.0.1:9")))
    async with AsyncTestClient(app=app) as client:
        resp = await _send(client, "有人吗", **{"HX-Request": "true"})
        assert "暂时无法使用" in resp.text and "/chat/message" in resp.text


async def test_emoji_and_mixed_language_pass_through(chat_app: Litestar, rasa: FakeRasa) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        await _send(client, "deed tax 契税 😀?")
    assert rasa.received[-1]["message"] == "deed tax 契税 😀?"


async def test_chat_can_be_embedded_as_a_panel(chat_app: Litestar) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        panel = await client.get("/chat?embed=1")
        full = await client.get("/chat")
    assert panel.status_code == 200 and 'class="embedded"' in panel.text and 'class="top"' not in panel.text
    assert 'class="top"' in full.text
    assert "frame-ancestors 'self'" in panel.headers["content-security-policy"]


async def test_anyone_can_leave_a_message_that_lands_in_the_court_queue(chat_app: Litestar, factory: Factory) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        await _send(client, "有人吗")  # the chat so far goes with the message
        form = await client.get("/chat/message")
        assert form.status_code == 200 and 'name="contact_phone"' in form.text
        key = form.text.split('name="_key" value="', 1)[1].split('"', 1)[0]
        data = {"topic": "过户问题 <script>x</script>", "contact_name": "王五", "contact_phone": "13900001111",
                "message": "请回电", "_key": key, "_csrf_token": csrf(client)}
        bad = await client.post("/chat/message", data={**data, "contact_phone": "12345"})
        assert bad.status_code == 400 and "contact_phone" in bad.text
        sent = await client.post("/chat/message", data=data, follow_redirects=False)
        assert sent.status_code == 303
        again = await client.post("/chat/message", data=data, follow_redirects=False)  # double click
        assert again.headers["location"] == sent.headers["location"]
        ref = sent.headers["location"].rsplit("/", 1)[1]
        assert ref.startswith("WI-") and ref in (await client.get(sent.headers["location"])).text
    court = await factory.user("staff", "court")
    async with AsyncTestClient(app=chat_app) as staff:
        await login(staff, court.email)
        page = (await staff.get(f"/staff/items/{ref}")).text
    assert "13900001111" in page and "有人吗" in page  # the transcript came along
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


# --- the turns: appended by sender, read only by the page ------------------------------------------------------------

async def _turn_rows(engine: AsyncEngine, sender: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ChatTurn).where(
            ChatTurn.conversation == sender)) or 0)


async def _session_value(engine: AsyncEngine, client: AsyncTestClient[Litestar]) -> bytes:
    async with engine.connect() as conn:
        value = await conn.scalar(select(KeyValueItem.value).where(
            KeyValueItem.key == client.cookies.get("portal_session"), KeyValueItem.namespace.like("%sessions")))
    assert value is not None
    return bytes(value)


def _session_cookie_set(resp: object) -> bool:
    return any(h.startswith("portal_session=") for h in resp.headers.get_list("set-cookie"))  # type: ignore[attr-defined]


async def test_a_message_appends_its_turns_without_rewriting_the_session(chat_app: Litestar, rasa: FakeRasa,
                                                                      engine: AsyncEngine) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        first = await _send(client, "第一条", **{"HX-Request": "true"})
        assert _session_cookie_set(first)  # the conversation's sender: stored once
        stored = await _session_value(engine, client)
        second = await _send(client, "第二条", **{"HX-Request": "true"})
        assert second.status_code == 200 and "第二条" in second.text
        assert not _session_cookie_set(second)
        assert await _session_value(engine, client) == stored  # neither rewritten nor holding the turns
        assert "第二条".encode() not in stored and "第一条".encode() not in stored
        page = (await client.get("/chat")).text  # a reload shows the conversation, in order
        assert page.index("第一条") < page.index("第二条") and page.count("还需要什么") == 2
    assert await _turn_rows(engine, rasa.received[-1]["sender"]) == 6  # (message, two replies) twice


async def test_the_page_shows_the_last_turns_only(chat_app: Litestar) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        for i in range(15):  # 45 turns
            await _send(client, f"消息{i:02d}", **{"HX-Request": "true"})
        page = (await client.get("/chat")).text
    assert page.count('<li class="turn turn-') == HISTORY_TURNS
    assert "消息14" in page and "消息01" not in page


async def test_clearing_starts_a_new_conversation_and_deletes_the_old_turns(chat_app: Litestar, rasa: FakeRasa,
                                                                           engine: AsyncEngine) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        await _send(client, "旧的问题")
        old = rasa.received[-1]["sender"]
        resp = await client.post("/chat/clear", data={"_csrf_token": csrf(client)}, follow_redirects=False)
        assert resp.status_code == 303
        assert "旧的问题" not in (await client.get("/chat")).text
        await _send(client, "新的问题")
    assert rasa.received[-1]["sender"] != old
    assert await _turn_rows(engine, old) == 0


async def test_nobody_sees_another_browsers_conversation(chat_app: Litestar) -> None:
    async with AsyncTestClient(app=chat_app) as client:  # two browsers: two cookie jars, one after the other
        await _send(client, "爱丽丝的电话13900001111")
        alice = dict(client.cookies)
        client.cookies.clear()
        await _send(client, "鲍勃的问题")
        assert "13900001111" not in (await client.get("/chat")).text
        client.cookies.clear()
        client.cookies.update(alice)
        page = (await client.get("/chat")).text
        assert "13900001111" in page and "鲍勃" not in page


async def test_signing_in_and_out_starts_a_new_conversation_and_deletes_the_old(
        chat_app: Litestar, rasa: FakeRasa, engine: AsyncEngine, factory: Factory) -> None:
    user = await factory.user("buyer")
    async with AsyncTestClient(app=chat_app) as client:
        await _send(client, "登录前的问题")
        anonymous = rasa.received[-1]["sender"]
        await login(client, user.email)
        assert "登录前的问题" not in (await client.get("/chat")).text
        assert await _turn_rows(engine, anonymous) == 0
        await _send(client, "登录后的问题")
        signed_in = rasa.received[-1]["sender"]
        assert signed_in != anonymous and "登录后的问题" in (await client.get("/chat")).text
        await client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
        assert "登录后的问题" not in (await client.get("/chat")).text
    assert await _turn_rows(engine, signed_in) == 0


async def test_a_session_from_before_the_chat_log_keeps_its_turns(chat_app: Litestar, engine: AsyncEngine) -> None:
    async with AsyncTestClient(app=chat_app) as client:
        await _send(client, "hello")
        sid = client.cookies.get("portal_session")
        legacy = (b'{"chat_sender":"0123456789abcdef0123456789abcdef","chat_history":'
                  b'[{"who":"user","text":"earlier question","buttons":[]},{"who":"bot","text":"earlier answer"}]}')
        async with engine.begin() as conn:
            await conn.execute(update(KeyValueItem).where(KeyValueItem.key == sid).values(value=legacy))
        page = (await client.get("/chat")).text
        assert page.index("earlier question") < page.index("earlier answer")
        assert b"chat_history" not in await _session_value(engine, client)  # moved out, once
        assert "earlier answer" in (await client.get("/chat")).text
    assert await _turn_rows(engine, "0123456789abcdef0123456789abcdef") == 2


async def test_turns_are_kept_for_a_session_lifetime(engine: AsyncEngine) -> None:
    log = ChatLog(engine)
    await log.append("c" * 32, [ChatTurnLike("user", "hi"), ChatTurnLike("bot", "hello", [{"title": "t", "payload": "/p"}])])
    turns = await log.recent("c" * 32, 10)
    assert [(t.who, t.text, t.buttons) for t in turns] == [("user", "hi", []), ("bot", "hello", [{"title": "t", "payload": "/p"}])]
    later = utcnow() + TURN_TTL + TURN_TTL / 100
    assert await log.recent("c" * 32, 10, now=later) == []  # past its time: not shown, even before the purge
    assert await log.purge(utcnow()) == 0
    assert await log.purge(later) >= 2
    assert await _turn_rows(engine, "c" * 32) == 0


class ChatTurnLike:
    def __init__(self, who: str, text: str, buttons: list[dict[str, str]] | None = None) -> None:
        self.who, self.text, self.buttons = who, text, buttons or []
