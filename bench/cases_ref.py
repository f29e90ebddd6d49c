"""The reference the case progress page is compared with: a bare Litestar app (no middleware,
no plugins, no auth) serving ``GET /cases/{id}`` with plain asyncpg and its own minimal reads:
the one statement that returns the case with everything under it as JSON
(cases.read.CASE_SQL, asyncpg prepares and caches it) and the documents list (two round
trips, as the portal), then the portal's own pure assembly (cases.read.assemble), template
(cases/page.html) and Jinja environment.

The viewer is taken from the grant cookie's name without checking its signature (the
reference does no auth: that is part of what the portal's figure pays for).

Run by bench.cases as ``uvicorn --factory bench.cases_ref:asyncpg_app`` with BENCH_DSN.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine as Engine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from sqlalchemy import select

from cases.access import CASE_GRANT
from cases.documents import CaseDocument
from cases.read import CASE_SQL_POSITIONAL, Viewer, assemble, mainline_keys, rows_from_json
from portal.templating import build_environment
from storage.db import DriverStatement

POLL_SECONDS = 20
MAINLINE = mainline_keys()


def _documents_sql() -> DriverStatement:
    from sqlalchemy import bindparam

    from documents.models import Document

    return DriverStatement(select(Document.id, Document.original_name, Document.kind, Document.size).where(
        Document.subject_type == "case", Document.subject_id == bindparam("case_id"),
        Document.visibility != "department").order_by(Document.id))  # = owner or public


_DOCS = _documents_sql()


class AttrRecord(asyncpg.Record):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def asyncpg_app() -> Litestar:
    pools: list[asyncpg.Pool] = []
    size = int(os.environ.get("DATABASE_POOL_SIZE") or "10")

    async def start(app: Litestar) -> None:
        pools.append(await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=size, max_size=size,
                                               record_class=AttrRecord))

    async def stop(app: Litestar) -> None:
        for pool in pools:
            await pool.close()

    @get("/cases/{case_id:int}")
    async def page(request: Request[Any, Any, Any], case_id: int) -> Template:
        prefix = CASE_GRANT.cookie_name(f"{case_id}p")
        party_id = next((int(k[len(prefix):]) for k in request.cookies if k.startswith(prefix)), None)
        values = {"case_id": case_id}
        async with pools[0].acquire() as conn:
            row = await conn.fetchrow(CASE_SQL_POSITIONAL, case_id, MAINLINE)
            if row is None or party_id is None:
                raise NotFoundException()
            rows = rows_from_json(row)
            party = next((p for p in rows.parties if p.id == party_id), None)
            if party is None:
                raise NotFoundException()
            docs = [CaseDocument(d["id"], d["original_name"], d["kind"], str(d["size"]))
                    for d in await conn.fetch(_DOCS.sql, *_DOCS.args(values))]
        view = assemble(rows, Viewer(party.role, party.id), "zh", rows.measured or {})
        return Template("cases/page.html", context={
            "c": view, "poll_seconds": POLL_SECONDS, "staff": False, "sent": "", "following": False,
            "documents": docs, "signed_in": False, "proof": ""})

    return Litestar(route_handlers=[page], template_config=TemplateConfig(
        instance=Engine.from_environment(build_environment())), on_startup=[start], on_shutdown=[stop], debug=False)
