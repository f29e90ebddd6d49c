"""Connects the lots to the queue, the title transfer and the documents (the composition root's job).

* A pre-review request (``ReviewRequested``) opens a ``pre_review`` item in the department's
  queue; the department's signed finding (``ReviewAnswered``) closes it. Completing the item
  from the queue before the finding is signed is refused (the item points to the form).
* :class:`LotReviewAdapter` tells the queue how to show such an item (subject, facts, the link
  to the department's pre-review form).
* A recorded sale (``SaleRecorded``) opens the buyer's title transfer in the same transaction,
  with its tracking number and verification code (the code is shown once to the clerk).
* A document attached to or removed from a lot raises the lot's version (public caches).

The SQL stays in the owning domains; this file only connects them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from auction_listings import catalogue
from auction_listings import review as reviews
from auction_listings import service as lots
from auction_listings.attachments import set_document_lister
from auction_listings.errors import ReviewRefused
from auction_listings.events import ReviewAnswered, ReviewClosed, ReviewRequested, SaleRecorded
from auction_listings.sales import note_transfer, sale_for_transfer
from auction_listings.stats import review_times
from backoffice import service as queue
from backoffice.errors import HandlerRefused
from backoffice.models import WorkItem
from backoffice.registry import Fact, Figure, Link, MetricsSection, SourceAdapter, registry
from documents import Subject, SubjectType, list_documents
from documents.models import Document
from documents.service import DOCUMENT_ATTACHED, DOCUMENT_REMOVED
from portal.sales import confirmed_sale
from storage.context import AppContext
from storage.events import hub
from title_transfer.service import create_transfer
from title_transfer.workflow import AssetKind

log = logging.getLogger("portal.lots")
SOURCE = "lot_review"
KIND = "pre_review"
Hook = Callable[[], Awaitable[None]]
KIND_WORDS = {"real_estate": ("不动产", "Real estate"), "vehicle": ("车辆", "Vehicle"), "other": ("其他财产", "Other")}


async def on_review_requested(session: AsyncSession, event: ReviewRequested) -> None:
    await queue.follow_source(
        session, source_type=SOURCE, source_id=event.request_id, kind=KIND, department=event.department, open_=True,
        subject=f"{event.lot_no} · {event.title}",
        data={"lot_no": event.lot_no, "title": event.title, "department": event.department,
              "asset_kind": event.asset_kind},
    )


async def on_review_answered(session: AsyncSession, event: ReviewAnswered) -> None:
    await queue.follow_source(
        session, source_type=SOURCE, source_id=event.request_id, kind=KIND, department=event.department, open_=False,
        note_zh=f"联审意见已签署(第 {event.version} 版)", note_en=f"finding signed (version {event.version})",
    )


async def on_review_closed(session: AsyncSession, event: ReviewClosed) -> None:
    await queue.follow_source(
        session, source_type=SOURCE, source_id=event.request_id, kind=KIND, department=event.department, open_=False,
        note_zh="该标的本轮已结束(成交、流拍或撤回),无需再答复", note_en="the lot's round ended (sold, unsold or withdrawn): "
                                                            "no finding is needed",
    )


async def complete_review_item(session: AsyncSession, item: WorkItem, actor: Principal, note: str | None) -> None:
    if item.source_id is None:
        return
    try:
        await reviews.complete_from_queue(session, item.source_id, actor)
    except ReviewRefused as exc:
        raise HandlerRefused(exc.message_zh, exc.message_en) from None


class LotReviewAdapter(SourceAdapter):
    """A department's pre-review of a lot, as the queue shows it."""

    source_type = SOURCE

    def subject(self, item: WorkItem, lang: str) -> str | None:
        data = item.data or {}
        what = "联审" if lang == "zh" else "Pre-review"
        return f"{what} · {data.get('lot_no', '')} · {data.get('title', '')}"

    def facts(self, item: WorkItem) -> list[Fact]:
        data = item.data or {}
        no, title = str(data.get("lot_no", "")), str(data.get("title", ""))
        kind_zh, kind_en = KIND_WORDS.get(str(data.get("asset_kind", "")), ("", ""))
        areas = catalogue.areas_for(str(data.get("department", "")), str(data.get("asset_kind", "")))
        return [Fact("标的编号", "Lot number", no, no), Fact("标的", "Lot", title, title),
                Fact("类型", "Kind", kind_zh, kind_en),
                Fact("需答复事项", "Areas to answer", "、".join(a.title_zh for _, a in areas),
                     ", ".join(a.title_en for _, a in areas))]

    def staff_link(self, item: WorkItem) -> Link | None:
        data = item.data or {}
        return Link(f"/staff/lots/{data.get('lot_no')}/review/{data.get('department')}",
                    "填写并签署联审意见", "Fill in and sign the finding",
                    "签署后本事项自动办结;公告后修改会作为新版本公示,并通知关注者。",
                    "Signing completes this item; a change after the announcement is published as a new "
                    "version and followers are told.")

    async def metrics(self, session: AsyncSession) -> list[MetricsSection]:
        times = await review_times(session)
        return [MetricsSection(
            heading_zh="联审:从请求到签署意见", heading_en="Joint pre-review: from request to signed finding",
            hint_zh="改革的衡量标准之一:诸暨法院发出联审943件、收到答复860件(2022年报道)。按近一年的联审请求统计。",
            hint_en="One of the reform's measures: Zhuji court sent 943 joint pre-reviews and had 860 answers "
                    "(reported 2022). Requests of the last year.",
            chart_title_zh="各部门答复用时(中位数,天)", chart_title_en="Days to answer, per department (median)",
            figures=[Figure(d.name_zh, d.name_en, d.median_days, d.count) for d in times.per_department],
            counted_zh=f"联审请求 {times.requested} 件,已答复:", counted_en=f"Requests: {times.requested}; answered:",
            counted=times.answered,
        )]


# The secret the transfer's verification codes are digested with (the app's; one module-level
# handler, so an app built twice in one process does not subscribe twice).
_wired: dict[str, str] = {}


async def on_sale_recorded(session: AsyncSession, event: SaleRecorded) -> None:
    """Open the buyer's title transfer for the sale, in the sale's transaction."""
    sale = await sale_for_transfer(session, event.sale_id)
    if sale is None:
        return
    if sale.lot.asset_kind not in {k.value for k in AssetKind}:
        log.info("lots: sale of %s (%s) has no one-stop transfer", sale.lot.lot_no, sale.lot.asset_kind)
        return
    new = await create_transfer(session, confirmed_sale(sale), secret=_wired["secret"])
    await note_transfer(session, sale.id, new.transfer.tracking_no, new.code)


async def _document_changed(session: AsyncSession, payload: dict[str, Any]) -> None:
    if payload.get("subject_type") == "lot":
        await lots.touch(session, int(payload["subject_id"]), "document")


async def _lot_documents(session: AsyncSession, lot_id: int, principal: Principal | None) -> list[Document]:
    return await list_documents(session, Subject(SubjectType.lot, lot_id), principal)


async def reconcile_reviews(ctx: AppContext) -> int:
    """Open items for unanswered pre-review requests that have none (e.g. demo data loaded without
    the portal running); close open items whose finding is signed. Returns how many changed."""
    async with AsyncSession(ctx.engine, expire_on_commit=False) as session:
        have = await queue.followed_sources(session, SOURCE)
        missing = await reviews.pending_requests(session, exclude=set(have))
        open_items = [source_id for source_id, is_open in have.items() if is_open]
        settled = await reviews.settled_requests(session, open_items)
        for event in missing:
            await on_review_requested(session, event)
        for settled_event in settled:
            if isinstance(settled_event, ReviewClosed):
                await on_review_closed(session, settled_event)
            else:
                await on_review_answered(session, settled_event)
        try:
            await session.commit()
        except IntegrityError:  # another portal process did the same at the same moment
            await session.rollback()
            return 0
    if missing or settled:
        log.info("lots: brought %d pre-review item(s) in line with their requests", len(missing) + len(settled))
    return len(missing) + len(settled)


def wire_lots(ctx: AppContext) -> Hook:
    catalogue.check()  # the courts, rules and pre-review areas: a typo stops the start, not a request
    hub.subscribe(ReviewRequested, on_review_requested)
    hub.subscribe(ReviewAnswered, on_review_answered)
    hub.subscribe(ReviewClosed, on_review_closed)
    _wired["secret"] = ctx.settings.secret_key
    hub.subscribe(SaleRecorded, on_sale_recorded)
    hub.subscribe(DOCUMENT_ATTACHED, _document_changed)
    hub.subscribe(DOCUMENT_REMOVED, _document_changed)
    registry.on_complete(KIND, complete_review_item)
    registry.register(LotReviewAdapter())
    set_document_lister(_lot_documents)

    async def reconcile() -> None:
        try:
            await reconcile_reviews(ctx)
        except Exception:  # noqa: BLE001 - the portal still serves; the next start tries again
            log.exception("lots: reconciling pre-review items failed")

    return reconcile
