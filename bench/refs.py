"""The two reference apps the tracking page is compared with.

Both are bare Litestar apps (no middleware, no plugins, no auth) serving
``GET /track/{tracking_no}`` with the portal's own Jinja environment
(portal.templating.build_environment), the same template (title_transfer/track.html) and the
same context shape as the portal's handler; the view is built by the portal's own
title_transfer.read.build_record.

- ``memory_app``: views prebuilt at start-up for the benchmark's sample, served from a dict
  (the framework + template ceiling).
- ``asyncpg_app``: one query per request with plain asyncpg (the portal's own SELECT,
  compiled once to SQL text; asyncpg prepares and caches it), then build_record (the
  database ceiling).

Run by bench.transfers as ``uvicorn --factory bench.refs:memory_app`` (or asyncpg_app) with
BENCH_DSN (postgresql://…) and BENCH_SAMPLE_FILE (JSON list of {"tracking_no": …}).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from portal.templating import build_environment
from storage.db import DriverStatement
from title_transfer.controllers import rendered
from title_transfer.read import _STMT as _PORTAL_STMT
from title_transfer.read import build_record
from title_transfer.schemas import TransferView

POLL_SECONDS = 20  # Settings.poll_seconds default (TRACKING_POLL_SECONDS), as the portal runs in the benchmark

# The portal's own statement (title_transfer.read._STMT), compiled once for asyncpg: the
# reference runs the very same SQL, so the difference is everything around it.
_COMPILED = DriverStatement(_PORTAL_STMT)
SQL = _COMPILED.sql


def _args(tracking_no: str) -> list[Any]:
    return _COMPILED.args({"tracking_no": tracking_no})


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=msgspec.json.decode, schema="pg_catalog")


def _context(request: Request[Any, Any, Any], view: TransferView) -> dict[str, Any]:
    # As the portal's handler builds it: the transfer's part rendered once per (transfer as read,
    # language, day) by the portal's own title_transfer.controllers.rendered, the shell per request.
    return {"t": view, "body": rendered(request, "title_transfer/_transfer_body.html", view, "zh", POLL_SECONDS)}


def _template_config() -> TemplateConfig[Any]:
    return TemplateConfig(instance=Engine.from_environment(build_environment()))


def _sample() -> list[str]:
    with open(os.environ["BENCH_SAMPLE_FILE"], encoding="utf-8") as fh:
        return [item["tracking_no"] for item in json.load(fh)]


def memory_app() -> Litestar:
    views: dict[str, TransferView] = {}

    async def load(app: Litestar) -> None:
        conn = await asyncpg.connect(os.environ["BENCH_DSN"])
        # One query per transfer with the portal's statement, so the columns always match
        # build_record (a few seconds for the sample).
        today = dt.date.today()
        try:
            await _init_connection(conn)
            for tracking_no in _sample():
                rows = await conn.fetch(SQL, *_args(tracking_no))
                if rows:
                    views[tracking_no] = build_record(rows, today).view
        finally:
            await conn.close()

    @get("/track/{tracking_no:str}")
    async def page(request: Request[Any, Any, Any], tracking_no: str) -> Template:
        view = views.get(tracking_no)
        if view is None:
            raise NotFoundException()
        return Template("title_transfer/track.html", context=_context(request, view))

    return Litestar(route_handlers=[page], template_config=_template_config(), on_startup=[load],
                    debug=False)


def asyncpg_app() -> Litestar:
    pools: list[asyncpg.Pool] = []
    pool_size = int(os.environ.get("DATABASE_POOL_SIZE") or "10")

    async def start(app: Litestar) -> None:
        # As many connections as the portal's pool (DATABASE_POOL_SIZE, default 10, no overflow).
        pools.append(await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=pool_size, max_size=pool_size,
                                               init=_init_connection))

    async def stop(app: Litestar) -> None:
        for pool in pools:
            await pool.close()

    @get("/track/{tracking_no:str}")
    async def page(request: Request[Any, Any, Any], tracking_no: str) -> Template:
        rows = await pools[0].fetch(SQL, *_args(tracking_no))
        if not rows:
            raise NotFoundException()
        return Template("title_transfer/track.html",
                        context=_context(request, build_record(rows, dt.date.today()).view))

    return Litestar(route_handlers=[page], template_config=_template_config(), on_startup=[start],
                    on_shutdown=[stop], debug=False)
