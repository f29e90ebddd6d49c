"""Sessions: ids the server never issued are never adopted, ids rotate at sign-in and
sign-out, unknown cookies write nothing, and a session is re-checked against the user.
"""

from __future__ import annotations

import datetime as dt
import secrets

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from accounts.models import User
from accounts.passwords import hash_password
from storage.kv import KeyValueItem
from tests.conftest import Factory, csrf, login

Client = AsyncTestClient[Litestar]
KEY = "portal_session"


async def _session_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(
            select(func.count()).select_from(KeyValueItem).where(KeyValueItem.namespace.like("%sessions"))) or 0)


async def _stored(engine: AsyncEngine, session_id: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(select(KeyValueItem.id).where(
            KeyValueItem.namespace.like("%sessions"), KeyValueItem.key == session_id))
    return found is not None


def _set_cookie(resp: object, name: str = KEY) -> str | None:
    for header in resp.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        if header.startswith(f"{name}="):
            return header
    return None


async def test_a_planted_session_id_never_reads_the_victims_pages(app: Litestar, client: Client, factory: Factory,
                                                                  engine: AsyncEngine) -> None:
    victim = await factory.user("creditor")
    planted = "attacker-chosen-id-1"
    client.cookies.set(KEY, planted, domain="testserver.local")
    await login(client, victim.email)
    issued = client.cookies.get(KEY)
    assert issued and issued != planted
    assert not await _stored(engine, planted)
    assert (await client.get("/my/submissions")).status_code == 200  # the victim is signed in

    client.cookies.clear()  # the attacker's browser, holding the cookie it planted
    client.cookies.set(KEY, planted, domain="testserver.local")
    resp = await client.get("/my/submissions", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


async def test_the_id_changes_at_sign_in_and_the_old_one_is_gone(app: Litestar, client: Client, factory: Factory,
                                                                engine: AsyncEngine) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    first = client.cookies.get(KEY)
    assert first and await _stored(engine, first)
    await login(client, user.email)
    second = client.cookies.get(KEY)
    assert second and second != first
    assert not await _stored(engine, first)
    client.cookies.clear()
    client.cookies.set(KEY, first, domain="testserver.local")
    assert (await client.get("/my/submissions", follow_redirects=False)).status_code == 303


async def test_sign_out_deletes_the_session_and_the_cookie(client: Client, factory: Factory,
                                                           engine: AsyncEngine) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    sid = client.cookies.get(KEY)
    assert sid
    out = await client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    header = _set_cookie(out)
    assert header is not None and "max-age=0" in header.lower()
    assert not await _stored(engine, sid)
    client.cookies.delete(KEY)  # what the browser does with Max-Age=0
    before = await _session_rows(engine)
    for _ in range(3):
        page = await client.get("/track")
        assert _set_cookie(page) is None
    assert await _session_rows(engine) == before


async def test_the_old_null_cookie_is_removed_not_turned_into_sessions(client: Client, engine: AsyncEngine) -> None:
    before = await _session_rows(engine)
    client.cookies.set(KEY, "null", domain="testserver.local")
    page = await client.get("/track")
    header = _set_cookie(page)
    assert header is not None and "max-age=0" in header.lower()
    assert await _session_rows(engine) == before


async def test_fifty_unknown_cookies_write_no_row(client: Client, engine: AsyncEngine) -> None:
    before = await _session_rows(engine)
    for _ in range(50):
        client.cookies.clear()
        client.cookies.set(KEY, secrets.token_hex(32), domain="testserver.local")
        resp = await client.get("/track")
        assert resp.status_code == 200
        header = _set_cookie(resp)
        assert header is None or "max-age=0" in header.lower()  # never echoed back as a live id
    assert await _session_rows(engine) == before


async def test_page_views_of_a_signed_in_person_write_nothing(client: Client, factory: Factory,
                                                              engine: AsyncEngine) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    sid = client.cookies.get(KEY)
    async with engine.connect() as conn:
        stamp = await conn.scalar(select(KeyValueItem.expires_at).where(KeyValueItem.key == sid))
    assert stamp is not None
    for _ in range(3):
        resp = await client.get("/my/submissions")
        assert resp.status_code == 200 and _set_cookie(resp) is None
    async with engine.connect() as conn:
        assert await conn.scalar(select(KeyValueItem.expires_at).where(KeyValueItem.key == sid)) == stamp


async def test_expired_sessions_and_throttle_keys_are_purged(app: Litestar, engine: AsyncEngine) -> None:
    from portal.housekeeping import purge_expired

    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    tag = secrets.token_hex(6)
    async with async_sessionmaker(engine)() as s:
        for ns in ("LITESTAR_sessions", "LITESTAR_throttle"):
            s.add(KeyValueItem(key=f"old-{tag}", namespace=ns, value=b"1", expires_at=past))
            s.add(KeyValueItem(key=f"new-{tag}", namespace=ns, value=b"1", expires_at=future))
        await s.commit()
    removed = await purge_expired(engine)
    assert removed >= 2
    async with engine.connect() as conn:
        keys = set((await conn.scalars(select(KeyValueItem.key).where(KeyValueItem.key.like(f"%-{tag}")))).all())
    assert keys == {f"new-{tag}"}


# --- re-checking a session against the user ----------------------------------------------------------------------

async def test_a_deactivated_user_loses_access_on_the_next_request(app: Litestar, client: Client, factory: Factory,
                                                                   engine: AsyncEngine) -> None:
    staff = await factory.user("staff", "tax")
    await login(client, staff.email)
    assert (await client.get("/staff", follow_redirects=False)).status_code == 200
    # Another replica (or an operator with SQL) deactivates the account.
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == staff.id).values(is_active=False))
    app.state.session_checker.expire_cache()  # the few seconds of caching have passed
    resp = await client.get("/staff", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


async def test_a_role_change_ends_the_staff_session(app: Litestar, client: Client, factory: Factory,
                                                    engine: AsyncEngine) -> None:
    staff = await factory.user("staff", "tax")
    await login(client, staff.email)
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == staff.id).values(role="buyer", department=None))
    app.state.session_checker.expire_cache()
    resp = await client.get("/staff", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


async def test_a_password_change_ends_other_sessions(app: Litestar, client: Client, factory: Factory,
                                                     engine: AsyncEngine) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == user.id).values(password_hash=hash_password("another one 2026")))
    app.state.session_checker.expire_cache()
    assert (await client.get("/my/submissions", follow_redirects=False)).status_code == 303


async def test_the_check_is_cached_briefly_then_repeated(app: Litestar, client: Client, factory: Factory,
                                                         engine: AsyncEngine) -> None:
    user = await factory.user("creditor")
    await login(client, user.email)
    checker = app.state.session_checker
    now = [1000.0]
    checker.clock = lambda: now[0]
    checker.expire_cache()
    assert (await client.get("/my/submissions")).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == user.id).values(is_active=False))
    now[0] += checker.ttl / 2  # still within the cache: this replica has not looked again
    assert (await client.get("/my/submissions", follow_redirects=False)).status_code == 200
    now[0] += checker.ttl  # the cache has run out: the database decides
    assert (await client.get("/my/submissions", follow_redirects=False)).status_code == 303


async def test_an_administrator_ends_a_users_sessions(app: Litestar, client: Client, factory: Factory) -> None:
    user = await factory.user("creditor")
    admin = await factory.user("admin")
    await login(client, user.email)
    assert (await client.get("/my/submissions")).status_code == 200
    users_browser = dict(client.cookies)
    client.cookies.clear()  # now the administrator's browser
    await login(client, admin.email)
    page = await client.get("/admin/users", params={"q": user.email})
    assert page.status_code == 200 and user.email in page.text
    done = await client.post(f"/admin/users/{user.id}/end-sessions", data={"_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert done.status_code == 303
    assert (await client.get("/admin/users")).status_code == 200  # the admin's own session lives on
    client.cookies.clear()  # back to the user's browser
    for name, value in users_browser.items():
        client.cookies.set(name, value, domain="testserver.local")
    assert (await client.get("/my/submissions", follow_redirects=False)).status_code == 303


async def test_only_administrators_end_sessions(client: Client, factory: Factory) -> None:
    user = await factory.user("creditor")
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    assert (await client.get("/admin/users", follow_redirects=False)).status_code == 403
    resp = await client.post(f"/admin/users/{user.id}/end-sessions", data={"_csrf_token": csrf(client)},
                             follow_redirects=False)
    assert resp.status_code == 403
    no_csrf = await client.post(f"/admin/users/{user.id}/end-sessions", follow_redirects=False)
    assert no_csrf.status_code == 403


async def test_session_version_rises_with_deactivation_role_and_password(engine: AsyncEngine,
                                                                          factory: Factory) -> None:
    user = await factory.user("staff", "water")

    async def version() -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT session_version FROM user_account WHERE id = :i"),
                                         {"i": user.id}))

    start = await version()
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == user.id).values(display_name="renamed"))
    assert await version() == start  # a change that grants nothing ends nothing
    for values in ({"is_active": False}, {"role": "admin"}, {"department": "gas"}, {"password_hash": "x"}):
        async with engine.begin() as conn:
            await conn.execute(update(User).where(User.id == user.id).values(**values))
        now = await version()
        assert now > start, values
        start = now


def test_a_sessions_cookie_header_is_rendered_once_and_stays_what_litestar_renders() -> None:
    from portal.sessions import PortalSessionConfig

    config = PortalSessionConfig(store="sessions", secure=True, httponly=True, samesite="lax", max_age=3600,
                                 key=KEY)
    backend = config._backend_class(config=config)  # noqa: SLF001
    sid = secrets.token_hex(32)
    first = backend._cookie(sid)  # noqa: SLF001
    assert first == backend._render_cookie(sid)  # noqa: SLF001
    assert backend._cookie(sid) is first  # noqa: SLF001 - the cached header
    assert f"{KEY}={sid}" in first and "Max-Age=3600" in first and "Secure" in first and "expires" not in first.lower()
    gone = backend._cookie("", max_age=0, expires=0)  # noqa: SLF001 - not cached: it carries the current date
    assert "Max-Age=0" in gone and "expires=" in gone.lower()
