"""The web kernel: guards decide who may call a route, and one exception handler answers a
domain error as JSON, an htmx fragment or a page, in the request's language, after rolling
the request's database session back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, Request, Response, get
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.identity import make_citizen_token
from accounts.models import User
from kernel.auth import Auth
from kernel.errors import BilingualError, db_session_of, error_view
from kernel.guards import requires_caller, requires_service, requires_signed_in, requires_staff
from portal.app import create_app
from portal.settings import Settings
from storage.context import DbSession
from tests.conftest import TEST_TOKEN, Factory, login, unique


class Refused(BilingualError):
    status_code = 409
    code = "probe_refused"


REFUSAL = Refused("这次不行,请稍后再试。", "Not this time; please try again later.")


@get("/probe/refuse", include_in_schema=False)
async def refuse() -> str:
    raise REFUSAL


@get("/api/probe/refuse", include_in_schema=False)
async def refuse_api() -> str:
    raise REFUSAL


async def _count_view(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    # Runs after the kernel's rollback, on the request's own session.
    email = request.query_params["email"]
    seen = await db_session_of(request).scalar(select(func.count()).select_from(User).where(User.email == email))
    return Response(f"{exc.message_en} seen={seen}", status_code=exc.status_code, media_type="text/plain")


@get("/probe/write-then-refuse", include_in_schema=False, opt=error_view(_count_view))
async def write_then_refuse(db_session: DbSession, email: FromQuery[str]) -> str:
    db_session.add(User(email=email, display_name="probe", password_hash="x", role="buyer"))
    await db_session.flush()
    raise REFUSAL


async def _form_again(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    # A route's own page with its error, as the payout uploads' view renders it: no Retry-After.
    return Response(f"the form again: {exc.message_en}", status_code=exc.status_code, media_type="text/plain")


@get("/probe/database-lost", include_in_schema=False, opt=error_view(_form_again))
async def database_lost() -> str:
    # What storage.db.driver_errors raises when the server ended the connection under a statement.
    raise InterfaceError("(asyncpg)", None, ConnectionResetError("connection reset"), connection_invalidated=True)


@get("/probe/signed-in", guards=[requires_signed_in], include_in_schema=False)
async def signed_in(request: Request[Any, Any, Any]) -> str:
    return f"hello {request.user.user_id}"


@get("/probe/staff", guards=[requires_staff()], include_in_schema=False)
async def any_staff() -> str:
    return "staff"


@get("/probe/court", guards=[requires_staff("court")], include_in_schema=False)
async def court_staff() -> str:
    return "court"


@get("/api/probe/service", guards=[requires_service], include_in_schema=False)
async def service_only(request: Request[Any, Auth, Any]) -> dict[str, Any]:
    return {"citizen_id": request.auth.citizen_id, "client_key": request.auth.client_key}


@get("/api/probe/caller", guards=[requires_caller], include_in_schema=False)
async def any_caller(request: Request[Any, Auth, Any]) -> dict[str, Any]:
    return {"via": request.auth.via, "citizen_id": request.auth.citizen_id}


PROBES = [refuse, refuse_api, write_then_refuse, database_lost, signed_in, any_staff, court_staff, service_only, any_caller]


@pytest.fixture
async def probe(settings: Settings, engine: AsyncEngine) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings, extra_routes=PROBES), base_url="http://testserver.local") as c:
        yield c


# --- guards -------------------------------------------------------------------------------------


async def test_signed_in_guard_sends_a_browser_to_sign_in_and_lets_a_person_through(
    probe: AsyncTestClient[Litestar], factory: Factory
) -> None:
    anonymous = await probe.get("/probe/signed-in", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/probe/signed-in"
    buyer = await factory.user("buyer")
    await login(probe, buyer.email)
    assert (await probe.get("/probe/signed-in")).text == f"hello {buyer.id}"


async def test_staff_guard_refuses_citizens_and_other_departments(
    probe: AsyncTestClient[Litestar], factory: Factory
) -> None:
    await login(probe, (await factory.user("buyer")).email)
    assert (await probe.get("/probe/staff")).status_code == 403
    probe.cookies.clear()
    await login(probe, (await factory.user("staff", "water")).email)
    assert (await probe.get("/probe/staff")).text == "staff"
    assert (await probe.get("/probe/court")).status_code == 403
    probe.cookies.clear()
    await login(probe, (await factory.user("staff", "court")).email)
    assert (await probe.get("/probe/court")).text == "court"


async def test_service_guard_wants_the_token_and_a_valid_citizen_token(
    probe: AsyncTestClient[Litestar], settings: Settings
) -> None:
    assert (await probe.get("/api/probe/service")).status_code == 401
    assert (await probe.get("/api/probe/service", headers={"Authorization": "Bearer wrong"})).status_code == 401
    bearer = {"Authorization": f"Bearer {TEST_TOKEN}", "X-Chat-Sender": "s-1"}
    ok = await probe.get("/api/probe/service", headers=bearer)
    assert ok.json() == {"citizen_id": None, "client_key": "chat:s-1"}
    forged = await probe.get("/api/probe/service", headers={**bearer, "X-Citizen-Token": "forged"})
    assert forged.status_code == 403
    named = await probe.get("/api/probe/service",
                            headers={**bearer, "X-Citizen-Token": make_citizen_token(settings.secret_key, 42)})
    assert named.json()["citizen_id"] == 42


async def test_a_wrong_service_token_never_falls_back_to_the_browser_session(
    probe: AsyncTestClient[Litestar], factory: Factory
) -> None:
    buyer = await factory.user("buyer")
    await login(probe, buyer.email)
    assert (await probe.get("/api/probe/caller")).json() == {"via": "session", "citizen_id": buyer.id}
    assert (await probe.get("/api/probe/caller", headers={"Authorization": "Bearer wrong"})).status_code == 401


# --- the one exception handler ------------------------------------------------------------------


async def test_domain_error_is_json_under_the_api(probe: AsyncTestClient[Litestar]) -> None:
    resp = await probe.get("/api/probe/refuse", headers={"Accept-Language": "en"})
    assert resp.status_code == 409 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["code"] == "probe_refused" and body["detail"] == "Not this time; please try again later."
    assert body["message_zh"] == "这次不行,请稍后再试。" and body["status_code"] == 409


async def test_domain_error_is_a_fragment_for_htmx(probe: AsyncTestClient[Litestar]) -> None:
    resp = await probe.get("/probe/refuse", headers={"HX-Request": "true"})
    assert resp.status_code == 409
    assert resp.text.strip() == '<p class="error" role="alert">这次不行,请稍后再试。</p>'


async def test_domain_error_is_the_full_page_in_the_request_language(probe: AsyncTestClient[Litestar]) -> None:
    zh = await probe.get("/probe/refuse", headers={"Accept": "text/html"})
    assert zh.status_code == 409 and "<!doctype html>" in zh.text.lower() and "这次不行" in zh.text
    en = await probe.get("/probe/refuse?lang=en", headers={"Accept": "text/html"})
    assert "Not this time; please try again later." in en.text and "这次不行" not in en.text


async def test_the_session_is_rolled_back_before_the_error_is_rendered(
    probe: AsyncTestClient[Litestar], engine: AsyncEngine
) -> None:
    email = f"{unique('rollback')}@test.local"
    resp = await probe.get("/probe/write-then-refuse", params={"email": email}, headers={"Accept": "text/html"})
    # The error view, on the same session, no longer sees the flushed row…
    assert resp.status_code == 409 and resp.text == "Not this time; please try again later. seen=0"
    # …and nothing was committed.
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(User).where(User.email == email)) == 0


async def test_a_lost_database_is_the_503_page_with_retry_after_not_the_routes_form(
    probe: AsyncTestClient[Litestar]
) -> None:
    """The route's error view re-renders its form for a domain error; an unavailable database is
    not one: the form would read that database again and would drop Retry-After."""
    resp = await probe.get("/probe/database-lost", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert resp.status_code == 503 and resp.headers.get("Retry-After") == "5"
    assert "the form again" not in resp.text and "try again" in resp.text
