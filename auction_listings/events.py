"""What the listings publish (storage.events.hub), for the composition root to connect.

Handlers run in the publishing transaction: what they write commits or rolls back with the
change that caused it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from storage.events import Event

# What the followers of a lot are told (zh, en; one SMS; {ref}: the lot number), registered with
# the queue's outbox by the composition root.
NOTICES: dict[str, tuple[str, str]] = {
    "lot.finding_changed": ("您关注的拍品 {ref}:{department}更新了联审意见,新旧版本见拍品页面。",
                            "Lot {ref} you follow: the {department} changed its pre-review finding; "
                            "both versions are on the lot page."),
    "lot.sold": ("您关注的拍品 {ref} 已成交。", "Lot {ref} you follow has been sold."),
    "lot.unsold": ("您关注的拍品 {ref} 本轮流拍。", "Lot {ref} you follow did not sell in this round."),
    "lot.withdrawn": ("您关注的拍品 {ref} 已撤回。", "Lot {ref} you follow has been withdrawn."),
}


class ReviewRequested(Event, frozen=True, kw_only=True):
    """A department was asked to pre-review a lot: its queue should hold an open item."""

    request_id: int
    lot_id: int
    lot_no: str
    title: str
    department: str
    asset_kind: str


class ReviewAnswered(Event, frozen=True, kw_only=True):
    """A department signed its finding for a lot (first answer or a new version): its queue
    item, if still open, is done."""

    request_id: int
    lot_id: int
    lot_no: str
    department: str
    finding_id: int
    version: int


class ReviewClosed(Event, frozen=True, kw_only=True):
    """The lot's round ended (sold, unsold, withdrawn) before this department answered: its
    queue item is closed, nothing is left to answer."""

    request_id: int
    lot_id: int
    lot_no: str
    department: str
    status: str


class FindingChanged(Event, frozen=True, kw_only=True):
    """A published lot's finding changed: a new version beside the old one. Followers are told."""

    lot_id: int
    lot_no: str
    title: str
    department: str
    version: int
    previous_version: int
    changed: list[str]  # "area.field" keys
    signed_by_name: str
    lot_version: int


class LotChanged(Event, frozen=True, kw_only=True):
    """Anything a reader of the lot could see changed (fields, status, findings, documents)."""

    lot_id: int
    lot_no: str
    version: int
    status: str
    action: str  # edit, publish, start_bidding, suspend, resume, withdraw, sold, unsold, relisted, finding


class LotResult(Event, frozen=True, kw_only=True):
    """A lot's round ended: sold (with the price), unsold (and relisted as ``next_lot_no``) or
    withdrawn. Followers are told."""

    lot_id: int
    lot_no: str
    title: str
    status: str
    price: Decimal | None = None
    next_lot_no: str | None = None
    lot_version: int


class SaleRecorded(Event, frozen=True, kw_only=True):
    """A sale was recorded (once per lot): the buyer's title transfer is to be opened now."""

    sale_id: int
    lot_id: int
    lot_no: str
    buyer_id: int
    price: Decimal
    sold_at: dt.datetime


__all__ = ["ReviewRequested", "ReviewAnswered", "ReviewClosed", "FindingChanged", "LotChanged", "LotResult", "SaleRecorded"]
