"""The chat page proxies to Rasa's REST webhook; here Rasa is a small real HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from accounts.clients import client_from_token
from portal.app import create_app
from portal.settings import Settings
from tests.conftest import TEST_SECRET, Factory, _env, csrf, login
from title_transfer.access import citizen_from_token


class FakeRasa:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append(body)
                reply = [
                    {"text": "契税按1%估算,详见 /taxes 。<b>bold</b>", "recipient_id": body["sender"]},
                    {"text": "还需要什么?", "buttons": [{"title": "查询进度", "payload": "/ask_transfer_status"}]},
                ]
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
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
