"""Sign-in, sign-out and guards. Sessions live server-side (SQLAlchemyStore)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select

from accounts.models import Role, User
from accounts.passwords import verify_password
from accounts.sessions import session_payload
from portal.i18n import gettext as _
from storage.context import DbSession
from storage.throttle import Throttle
from title_transfer.access import grant_deletions


class LoginForm(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = "/"


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]


class AuthController(Controller):
    path = "/"

    @get("/login", name="login")
    async def login_page(self, request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template:  # noqa: A002
        return Template("login.html", context={"next": safe_next(next), "error": None, "email": ""})

    @post("/login", name="login.submit", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect | Template:
        throttle: Throttle = request.app.state.throttle
        email = data.email.strip().lower()[:254]
        ip = request.client.host if request.client else "unknown"
        keys = [f"login:ip:{ip}", f"login:user:{email}"]
        wait = await throttle.retry_after(keys)
        if wait:
            return Template(
                "login.html",
                context={"next": safe_next(data.next), "email": email,
                         "error": _("Too many failed sign-ins. Try again in %(minutes)s minutes.")
                         % {"minutes": max(1, wait // 60)}},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        user = await db_session.scalar(select(User).where(User.email == email)) if email else None
        ok = verify_password(user.password_hash if user else None, data.password[:1000])
        if not user or not ok or not user.is_active:
            await throttle.fail(keys)
            return Template(
                "login.html",
                context={"next": safe_next(data.next), "email": email,
                         "error": _("E-mail or password is not right.")},
                status_code=400,
            )
        request.clear_session()  # a fresh session id: the old entry (and any planted id) is dropped
        request.set_session(session_payload(user))
        target = safe_next(data.next)
        if target == "/":
            target = "/staff" if user.role in (Role.staff, Role.admin) else "/track"
        return Redirect(target, status_code=303)

    @post("/logout", name="logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()  # the entry is deleted and the browser told to drop the cookie
        # Tracking grants go too: on a shared device the next person must not inherit them.
        return Redirect("/", status_code=303,
                        cookies=grant_deletions(request.cookies, secure=request.app.state.settings.secure_cookies))
