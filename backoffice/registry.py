"""How other domains plug into the queue without the queue knowing them.

The composition root (portal) registers, per kind:

* ``on_complete(kind, handler)``: called inside the transaction that completes an item of
  that kind (after the item is marked done, so an event the handler causes that tries to
  close the same item finds it closed and does nothing). Raise
  :class:`~backoffice.errors.HandlerRefused` to refuse; the whole transaction rolls back.
* ``on_claim(kind, handler)``: called inside the claiming transaction (e.g. start the step).
* ``set_transfer_verifier(fn)``: checks a tracking number + verification code (or that a
  signed-in citizen is the buyer) for forms that name a transfer.
* ``set_transfer_metrics(fn)``: the sale → certificate medians for the dashboards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal

if TYPE_CHECKING:
    from backoffice.models import WorkItem

CompletionHandler = Callable[[AsyncSession, "WorkItem", Principal, "str | None"], Awaitable[None]]
ClaimHandler = Callable[[AsyncSession, "WorkItem", Principal], Awaitable[None]]


@dataclass(frozen=True)
class TransferMatch:
    """A transfer the submitter proved they may act on (never the code itself)."""

    tracking_no: str
    buyer_id: int
    title: str = ""


@dataclass(frozen=True)
class TransferCheck:
    tracking_no: str
    code: str | None
    citizen_id: int | None
    client_key: str


TransferVerifier = Callable[[Any, TransferCheck], Awaitable["TransferMatch | None"]]


@dataclass(frozen=True)
class StepMedian:
    key: str
    name_zh: str
    name_en: str
    median_days: float | None
    count: int


@dataclass(frozen=True)
class TransferMetrics:
    sale_to_certificate_days: float | None
    certificates: int
    per_step: list[StepMedian] = field(default_factory=list)
    baseline_days: float = 20.0  # before the reform (shared/domain.md): 20 days → 2


MetricsProvider = Callable[[AsyncSession], Awaitable[TransferMetrics]]


class Registry:
    def __init__(self) -> None:
        self.completion: dict[str, CompletionHandler] = {}
        self.claim: dict[str, ClaimHandler] = {}
        self.transfer_verifier: TransferVerifier | None = None
        self.transfer_metrics: MetricsProvider | None = None

    def on_complete(self, kind: str, handler: CompletionHandler) -> None:
        self.completion[kind] = handler

    def on_claim(self, kind: str, handler: ClaimHandler) -> None:
        self.claim[kind] = handler

    def set_transfer_verifier(self, verifier: TransferVerifier) -> None:
        self.transfer_verifier = verifier

    def set_transfer_metrics(self, provider: MetricsProvider) -> None:
        self.transfer_metrics = provider


registry = Registry()
on_complete = registry.on_complete
on_claim = registry.on_claim

__all__ = ["registry", "on_complete", "on_claim", "TransferMatch", "TransferCheck", "TransferMetrics",
           "StepMedian", "Registry"]
