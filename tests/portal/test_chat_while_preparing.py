"""While `make run` still prepares the assistant (or Rasa is down), the chat page says so up
front and offers the leave-a-message form, instead of greeting as if someone would answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.settings import Settings
from tests.conftest import _env
from tests.support.fake_rasa import FakeRasa

NOTICE_ZH = "智能客服正在准备中或暂时无法使用"
NOTICE_EN = "The assistant is being prepared or is unavailable right now"
GREETING_ZH = "您好!请问有什么可以帮您?"


@pytest.fixture
def rasa_up() -> Iterator[FakeRasa]:
    fake = FakeRasa(lambda _body: [])  # these tests only need the page's "is it up" probe answered
    yield fake
    fake.close()


async def test_chat_page_says_the_assistant_is_not_there_yet_in_both_languages(database_url: str) -> None:
    app = create_app(Settings.from_env(_env(database_url, RASA_URL="http://127.0.0.1:9")))  # nothing listens
    async with AsyncTestClient(app=app) as client:
        page = (await client.get("/chat")).text
        assert NOTICE_ZH in page and 'href="/chat/message"' in page
        assert GREETING_ZH not in page
        await client.get("/lang/en")
        page = (await client.get("/chat")).text
        assert NOTICE_EN in page and "Leave a message for staff" in page
        assert "Hello! How can I help?" not in page


async def test_chat_page_greets_when_the_assistant_answers(database_url: str, rasa_up: FakeRasa) -> None:
    app = create_app(Settings.from_env(_env(database_url, RASA_URL=rasa_up.url)))
    async with AsyncTestClient(app=app) as client:
        page = (await client.get("/chat")).text
    assert GREETING_ZH in page
    assert NOTICE_ZH not in page


async def test_chat_page_shows_the_message_form_itself_while_the_assistant_is_down(database_url: str) -> None:
    app = create_app(Settings.from_env(_env(database_url, RASA_URL="http://127.0.0.1:9")))  # nothing listens
    async with AsyncTestClient(app=app) as client:
        page = (await client.get("/chat")).text
        # the form is on the page (no click needed), posting where the message page posts
        assert 'action="/chat/message"' in page and 'name="contact_phone"' in page and 'name="_key"' in page
        assert 'id="chat-input"' not in page  # no chat box that nobody would answer
        await client.get("/lang/en")
        page = (await client.get("/chat")).text
        assert 'action="/chat/message"' in page and "Contact phone" in page


async def test_chat_page_has_no_message_form_when_the_assistant_answers(database_url: str, rasa_up: FakeRasa) -> None:
    app = create_app(Settings.from_env(_env(database_url, RASA_URL=rasa_up.url)))
    async with AsyncTestClient(app=app) as client:
        page = (await client.get("/chat")).text
    assert 'action="/chat/message"' not in page and 'id="chat-input"' in page
