"""Public pages that belong to no single domain: home, guide, taxes, language, health."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import text

from portal.auth import safe_next
from portal.i18n import LANG_COOKIE, LANGS
from storage.context import AppContext
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


@get("/healthz", name="healthz", summary="State of the database, the document store and the bot")
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    ctx: AppContext = request.app.state.ctx
    result: dict[str, Any] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        result["database"] = {"ok": True, "dialect": ctx.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        result["database"] = {"ok": False, "error": type(exc).__name__}
    store = ctx.document_store
    if store is None:
        result["documents"] = {"ok": True, "backend": "not configured"}
    else:
        try:
            result["documents"] = {"ok": bool(await store.health()), "backend": type(store).__name__}
        except Exception as exc:  # noqa: BLE001
            result["documents"] = {"ok": False, "error": type(exc).__name__}
    try:
        client: httpx.AsyncClient = ctx.http  # the app's pooled client (opened at start-up)
        resp = await client.get(f"{ctx.settings.bot.rasa_url}/", timeout=1.5)
        result["bot"] = {"ok": resp.status_code == 200, "url": ctx.settings.bot.rasa_url}
    except httpx.HTTPError:
        result["bot"] = {"ok": False, "url": ctx.settings.bot.rasa_url, "error": "unreachable"}
    # The bot is optional for serving pages: the database and the document store decide health.
    result["ok"] = result["database"]["ok"] and result["documents"]["ok"]
    return Response(result, status_code=200 if result["ok"] else 503)


handlers = [home, guide, taxes, account_help, switch_language, healthz]
