"""Public pages that belong to no single domain: home, guide, taxes, language."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from portal.auth import safe_next
from portal.i18n import LANG_COOKIE, LANGS
from title_transfer.tax import rate_sets
from title_transfer.workflow import workflows


@get("/", name="home", include_in_schema=False)
async def home() -> Template:
    return Template("home.html")


@get("/guide", name="guide", include_in_schema=False)
async def guide() -> Template:
    return Template("guide.html", context={"workflows": workflows()})


@get("/taxes", name="taxes", include_in_schema=False)
async def taxes() -> Template:
    return Template("taxes.html", context={"rates": rate_sets()[-1]})


@get("/account/help", name="account.help", include_in_schema=False)
async def account_help() -> Template:
    """How to get an account and what to do about a forgotten password (both at the counter)."""
    return Template("account_help.html")


@get("/lang/{code:str}", name="lang", include_in_schema=False)
async def switch_language(code: FromPath[str], next: FromQuery[str] = "/") -> Response[Any]:  # noqa: A002
    target = safe_next(next)
    if code not in LANGS:
        return Redirect(target, status_code=303)
    return Redirect(target, status_code=303,
                    cookies=[Cookie(key=LANG_COOKIE, value=code, max_age=31536000, samesite="lax", httponly=True)])


handlers = [home, guide, taxes, account_help, switch_language]  # /healthz and /readyz: portal/health.py
