"""Connects the public lot pages to the rest of the portal. Only connects: the SQL stays with
the domains that own the tables.

* the ``listing`` dependency: the lot cache (one per app), the tax estimator of
  title_transfer (parsing the same parameters as ``GET /api/v1/tax/estimate``) and the lot's
  public documents from the documents domain;
* ``LotChanged`` → this process's version clock learns the new version at once;
* ``FindingChanged`` and ``LotResult`` → an outbox row (backoffice.notify) for every follower,
  in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auction_listings import follows
from auction_listings.events import FindingChanged, LotChanged, LotResult
from auction_listings.public import PublicListing
from auction_listings.public_cache import LotPublicCache
from auction_listings.seams import DocumentsColumn, EstimateLike, PublicDocument, Templates
from backoffice import notify
from documents import PublicDocumentRow, SubjectType, decode_public_documents, public_documents_json
from storage.context import AppContext
from storage.events import hub
from title_transfer.tax_inputs import estimate_from_params

RESULT_EVENTS = {"sold": "lot.sold", "unsold": "lot.unsold", "withdrawn": "lot.withdrawn"}


def tax_lines(templates: Templates, estimate: EstimateLike) -> str:
    """An estimate's lines as the tax calculator shows them (title_transfer's own template)."""
    return str(templates.get_template("title_transfer/_estimate_lines.html").render(result=estimate))


def _public_documents(rows: list[PublicDocumentRow]) -> list[PublicDocument]:
    """What anyone may see of a lot's documents (photos with their thumbnails first)."""
    out = [PublicDocument(id=d.id, kind=d.kind, name=d.name, content_type=d.content_type, size=d.size,
                          url=f"/documents/{d.id}", thumbnail_url=f"/documents/{d.id}/thumbnail" if d.has_thumbnail
                          else None) for d in rows]
    return sorted(out, key=lambda d: (not d.is_photo, d.id))


# The lot's public documents as a column of the lot's own read (the documents domain's query).
LOT_DOCUMENTS = DocumentsColumn(
    column=lambda lot_id, dialect: public_documents_json(SubjectType.lot, lot_id, dialect),
    decode=lambda value: _public_documents(decode_public_documents(value)))


async def tell_followers_of_finding(session: AsyncSession, event: FindingChanged) -> None:
    for user_id, language in await follows.followers(session, event.lot_id):
        await notify.enqueue_for_user(session, user_id, "lot.finding_changed", language, reference=event.lot_no,
                                       department=event.department, version=event.version)


async def tell_followers_of_result(session: AsyncSession, event: LotResult) -> None:
    name = RESULT_EVENTS.get(event.status)
    if name is None:
        return
    for user_id, language in await follows.followers(session, event.lot_id):
        await notify.enqueue_for_user(session, user_id, name, language, reference=event.lot_no,
                                       next_lot_no=event.next_lot_no)


def wire_listing(ctx: AppContext, *, version_ttl: float = 1.0,
                 cache_entries: int = 4096) -> tuple[PublicListing, Callable[..., Awaitable[Any]]]:
    """The public listing for one app, and the shutdown hook that disconnects it."""
    cache = LotPublicCache(ctx.engine, ttl=version_ttl, max_lots=cache_entries, documents=LOT_DOCUMENTS)
    listing = PublicListing(cache=cache, tax_estimator=estimate_from_params, tax_lines=tax_lines)
    hub.subscribe(LotChanged, cache.on_changed)
    hub.subscribe(FindingChanged, tell_followers_of_finding)
    hub.subscribe(LotResult, tell_followers_of_result)

    async def disconnect(*_: Any) -> None:
        hub.unsubscribe(LotChanged, cache.on_changed)

    return listing, disconnect


__all__ = ["LOT_DOCUMENTS", "tax_lines", "tell_followers_of_finding", "tell_followers_of_result", "wire_listing"]
