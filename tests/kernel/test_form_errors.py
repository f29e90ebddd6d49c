"""A form's field errors are a domain error like any other: the kernel's one exception handler
answers the API with a 422 listing every field, and a page with the route's own error view (the
form again, as typed, each message beside its field) or, without one, the error page — never a
500, and no handler catches them to render."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Request, Response, get
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from kernel.errors import BilingualError, FieldError, FormInvalid, error_view, field_errors_of, page_status
from portal.app import create_app
from portal.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INVALID = FormInvalid([FieldError("contact_phone", "请填写11位手机号码。", "Give an 11-digit mobile number."),
                       FieldError("topic", "请填写事项。", "Please fill in: topic.")])


@get("/probe/form", include_in_schema=False)
async def plain_form() -> str:
    raise INVALID


@get("/api/probe/form", include_in_schema=False)
async def api_form() -> str:
    raise INVALID


async def _form_again(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    errors = ";".join(f"{e.field}={e.message_en}" for e in field_errors_of(exc))
    return Response(f"typed={request.query_params.get('topic')} errors={errors}", status_code=page_status(exc),
                    media_type="text/plain")


@get("/probe/form-view", include_in_schema=False, opt=error_view(_form_again))
async def form_with_view(topic: FromQuery[str] = "") -> str:
    raise INVALID


@pytest.fixture
async def probe(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, extra_routes=[plain_form, api_form, form_with_view])
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


async def test_the_api_gets_a_422_with_every_field_in_the_request_language(probe: AsyncTestClient[Litestar]) -> None:
    resp = await probe.get("/api/probe/form", headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status_code"] == 422 and body["code"] == "form_invalid"
    assert body["detail"] == "Give an 11-digit mobile number."
    assert [e["field"] for e in body["errors"]] == ["contact_phone", "topic"]
    assert body["errors"][1] == {"field": "topic", "message_zh": "请填写事项。", "message_en": "Please fill in: topic."}


async def test_a_page_with_an_error_view_is_rendered_by_it_with_the_field_errors(
    probe: AsyncTestClient[Litestar],
) -> None:
    resp = await probe.get("/probe/form-view?topic=keep-me", headers={"Accept": "text/html"})
    assert resp.status_code == 400
    assert resp.text == ("typed=keep-me errors=contact_phone=Give an 11-digit mobile number.;"
                         "topic=Please fill in: topic.")


async def test_a_page_without_a_view_gets_the_error_page_not_a_500(probe: AsyncTestClient[Litestar]) -> None:
    zh = await probe.get("/probe/form", headers={"Accept": "text/html"})
    assert zh.status_code == 400 and "请填写11位手机号码。" in zh.text
    fragment = await probe.get("/probe/form", headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and "请填写11位手机号码。" in fragment.text


HANDLERS = ("backoffice", "portal", "cases", "title_transfer", "auction_listings", "documents", "accounts", "kernel")


def test_no_handler_catches_a_form_error_to_render_it() -> None:
    """Field errors reach the kernel's handler; only the form use case gathers them (not a handler)."""
    found = []
    for package in HANDLERS:
        for path in (ROOT / package).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == "backoffice/submissions.py":
                continue  # the use case joins the schema's and the envelope's errors into one FormInvalid
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"except\b.*FormInvalid", line):
                    found.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert not found, "handlers catch form errors to render them:\n" + "\n".join(found)
