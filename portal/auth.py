"""Sign-in, sign-out and guards. Sessions live server-side (SQLAlchemyStore)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select

from accounts.clients import client_key
from accounts.models import Role, User
from accounts.passwords import check_password
from accounts.sessions import session_payload
from accounts.tokens import sign, unsign
from kernel.deps import Settings, ThrottleDep
from portal.i18n import gettext as _
from storage.context import DbSession
from title_transfer.access import TRACKING_GRANT

# Per throttle window: 5 failures (THROTTLE_FAILURES) per account from browsers that never
# signed in to it, 5 per browser that did, and 20 from one client across accounts.
CLIENT_LIMIT_FACTOR = 4
# Sign-ins checked at once in this process (each waits for a hashing thread); beyond, a
# request waits this long for a place, then is answered 503 with Retry-After.
SIGN_IN_SLOTS = 16
SIGN_IN_WAIT_SECONDS = 3.0
DEVICE_PURPOSE = "sign-in-device"
DEVICE_TTL = 60 * 60 * 24 * 180


def _email_tag(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def device_cookie_name(email: str) -> str:
    """One cookie per account this browser signed in to (the name does not show the address)."""
    return f"pd_{_email_tag(email)}"


def make_device_token(secret: str, email: str, device: str | None) -> str:
    return sign(secret, DEVICE_PURPOSE, f"{_email_tag(email)}:{device or secrets.token_hex(8)}", DEVICE_TTL)


def _device_id(secret: str, email: str, token: str | None) -> str | None:
    """The device id a genuine cookie for this account carries, else None."""
    payload = unsign(secret, DEVICE_PURPOSE, token[:300]) if token else None
    if not payload or ":" not in payload:
        return None
    tag, device = payload.split(":", 1)
    return device if tag == _email_tag(email) and device.isalnum() else None


_slots: dict[int, tuple[object, anyio.Semaphore]] = {}


def _sign_in_slots() -> anyio.Semaphore:
    loop = asyncio.get_running_loop()
    entry = _slots.get(id(loop))
    if entry is None or entry[0] is not loop:
        entry = (loop, anyio.Semaphore(SIGN_IN_SLOTS))
        _slots.clear()
        _slots[id(loop)] = entry
    return entry[1]


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
        throttle: ThrottleDep,
        settings: Settings,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect | Template:
        secret = settings.secret_key
        email = data.email.strip().lower()[:254]
        device = _device_id(secret, email, request.cookies.get(device_cookie_name(email)))
        # The holder's key: an untrusted client counts against the account (so guessing one
        # account from many addresses stays slow); a browser that signed in to this account
        # before counts against itself only, so a stranger cannot lock the owner out.
        holder = f"login:device:{device}" if device else f"login:user:{email}"
        client = f"login:client:{client_key(request)}"
        limits = {holder: throttle.limit, client: throttle.limit * CLIENT_LIMIT_FACTOR}
        slots = _sign_in_slots()
        admitted = False
        with anyio.move_on_after(SIGN_IN_WAIT_SECONDS):
            await slots.acquire()
            admitted = True
        if not admitted:
            return Template(
                "login.html",
                context={"next": safe_next(data.next), "email": email,
                         "error": _("Many people are signing in right now. Please try again in a moment.")},
                status_code=503, headers={"Retry-After": "2"},
            )
        try:
            # Counted before the password is checked (one atomic round trip, no other
            # connection held): parallel guesses cannot pass the limit.
            verdict = await throttle.hit(limits)
            if verdict.refused:
                wait = verdict.retry_after
                return Template(
                    "login.html",
                    context={"next": safe_next(data.next), "email": email,
                             "error": _("Too many failed sign-ins. Try again in %(minutes)s minutes.")
                             % {"minutes": max(1, wait // 60)}},
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
            user = await db_session.scalar(select(User).where(User.email == email)) if email else None
            if db_session.in_transaction():
                await db_session.commit()  # a read only: the connection goes back before hashing
            ok = await check_password(user.password_hash if user else None, data.password[:1000])
        finally:
            slots.release()
        if not user or not ok or not user.is_active:
            return Template(
                "login.html",
                context={"next": safe_next(data.next), "email": email,
                         "error": _("E-mail or password is not right.")},
                status_code=400,
            )
        await throttle.reset([holder])  # the owner's own typos are forgotten
        await throttle.refund([client])  # a success is not a failure
        request.clear_session()  # a fresh session id: the old entry (and any planted id) is dropped
        request.set_session(session_payload(user))
        target = safe_next(data.next)
        if target == "/":
            target = "/staff" if user.role in (Role.staff, Role.admin) else "/track"
        return Redirect(target, status_code=303, cookies=[Cookie(
            key=device_cookie_name(email), value=make_device_token(secret, email, device),
            max_age=DEVICE_TTL, path="/login", httponly=True, secure=settings.secure_cookies,
            samesite="lax")])

    @post("/logout", name="logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], settings: Settings) -> Redirect:
        request.clear_session()  # the entry is deleted and the browser told to drop the cookie
        # Tracking grants go too: on a shared device the next person must not inherit them.
        return Redirect("/", status_code=303,
                        cookies=TRACKING_GRANT.deletions(request.cookies, secure=settings.secure_cookies))
