"""How other domains plug into the queue without the queue knowing them.

The composition root (portal) registers, per source type, a :class:`SourceAdapter`: what
the queue shows of an item that follows another domain's object (its subject line, a few
labelled facts, a link for staff and one for the citizen), how to verify that a submitter
may act on the object a form names (a form field holding the object's reference, with an
optional secret such as a verification code), and the figures it adds to the dashboards.
The queue calls adapters; it never names a source type itself.

A domain with a page of its own for staff (the transfer steps, the court's cases) adds it to
the queue page's menu with :meth:`Registry.add_staff_page`.

Per item kind, it also registers:

* ``on_complete(kind, handler)``: called inside the transaction that completes an item of
  that kind (after the item is marked done, so an event the handler causes that tries to
  close the same item finds it closed and does nothing). Raise
  :class:`~backoffice.errors.HandlerRefused` to refuse; the whole transaction rolls back.
* ``on_claim(kind, handler)``: called inside the claiming transaction (e.g. start the work).

One job, one item: an adapter may say that a form naming one of its objects asks for work
an item already follows (:meth:`SourceAdapter.joins`, e.g. a citizen's utility handover
request and the source's own step for the same utility). The form then *joins* that item — its fields
and a "request" message are added, the citizen is told its reference — instead of opening
a second item in the same department; :meth:`SourceAdapter.joined` lets the source note it.
"""

from __future__ import annotations

import dataclasses
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
class Link:
    """A link from an item to its source's own page, with an optional line beside it."""

    url: str
    text_zh: str
    text_en: str
    note_zh: str = ""
    note_en: str = ""


@dataclass(frozen=True)
class StaffPage:
    """Another domain's own page for staff (a list of its objects), linked from the queue page's menu."""

    url: str
    label: str  # a message id of the UI's catalogue (marked with N_ where the domain declares it)
    department: str | None = None  # only for that department's staff (and administrators)

    def shown_to(self, who: Principal) -> bool:
        return self.department is None or who.works_for(self.department)


@dataclass(frozen=True)
class Fact:
    """One labelled line of what an item is about (shown instead of form data)."""

    label_zh: str
    label_en: str
    value_zh: str
    value_en: str


@dataclass(frozen=True)
class Claim:
    """What a form names and what the submitter brings to show they may act on it."""

    reference: str  # the value of the adapter's ``reference_field``
    code: str | None  # the value of its ``code_field``, if one was given
    citizen_id: int | None  # the signed-in (or named) citizen, if any
    client_key: str  # who is asking, for throttling wrong codes


@dataclass(frozen=True)
class Verified:
    """The object the submitter proved they may act on (never the code itself)."""

    reference: str  # its canonical reference, stored in the item's data
    owner_id: int | None  # the citizen it belongs to: the item's citizen when none is signed in (None: nobody's)
    title: str = ""
    field: str = ""  # the form field it was named in (set by the queue)
    source_type: str = ""  # the adapter that verified it (set by the queue)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # what the source wants kept with the item (never a code)

    @property
    def data(self) -> dict[str, Any]:
        return {**self.extra, self.field: self.reference} if self.field else dict(self.extra)


@dataclass(frozen=True)
class Figure:
    """One bar: a median (or other figure) and how many cases it is drawn from.

    ``count`` None marks a fixed reference value (a baseline), always shown; otherwise the
    figure is hidden when drawn from fewer cases than the page's minimum sample.
    """

    label_zh: str
    label_en: str
    value: float | None
    count: int | None
    tone: str = ""


@dataclass(frozen=True)
class MetricsSection:
    """A heading, an optional hint, one chart of figures in days, and an optional count line."""

    heading_zh: str
    heading_en: str
    chart_title_zh: str
    chart_title_en: str
    figures: list[Figure]
    hint_zh: str = ""
    hint_en: str = ""
    counted_zh: str = ""
    counted_en: str = ""
    counted: int | None = None


class SourceAdapter:
    """What a source type tells the queue. Override what applies; the defaults show nothing.

    ``reference_field`` names the form field that holds a reference to this source's
    objects (forms with that field are verified through :meth:`verify` before they become
    items); ``code_field`` the field with the secret that proves possession, if any.
    """

    source_type: str = ""
    reference_field: str | None = None
    code_field: str | None = None

    def subject(self, item: WorkItem, lang: str) -> str | None:
        """The item's one-line label in ``lang`` (None: the stored subject)."""
        return None

    def facts(self, item: WorkItem) -> list[Fact]:
        return []

    def staff_link(self, item: WorkItem) -> Link | None:
        return None

    def citizen_link(self, item: WorkItem) -> Link | None:
        return None

    def form_link(self, item: WorkItem, *, staff: bool) -> Link | None:
        """For a form item (no source of its own) that names one of this source's objects in its
        ``reference_field``: the link to that object's page (None: no link)."""
        return None

    def form_facts(self, item: WorkItem) -> list[Fact]:
        """For such a form item: labelled lines about the object it names (shown beside the form data)."""
        return []

    async def verify(self, ctx: Any, claim: Claim) -> Verified | None:
        """The object if the submitter may act on it, else None. May raise Throttled."""
        return None

    def refusal(self, claim: Claim) -> tuple[str, str]:
        """The field error (zh, en) when :meth:`verify` said no."""
        return "无法核实您与该事项的关系。", "We could not verify that you may act on this."

    async def metrics(self, session: AsyncSession) -> list[MetricsSection]:
        return []

    async def joins(self, session: AsyncSession, kind: str, data: dict[str, Any],
                    verified: Verified) -> WorkItem | None:
        """The item already doing what a new form of ``kind`` asks (the form joins it); None: a new item.

        May open the followed item now (e.g. for a step still waiting on another), so that
        the request and the work it asks for are one item from the start.
        """
        return None

    async def joined(self, session: AsyncSession, item: WorkItem, kind: str) -> None:
        """A form of ``kind`` joined ``item`` (same transaction): the source may note the request."""
        return None


@dataclass
class Registry:
    completion: dict[str, CompletionHandler] = field(default_factory=dict)
    claim: dict[str, ClaimHandler] = field(default_factory=dict)
    adapters: dict[str, SourceAdapter] = field(default_factory=dict)
    pages: dict[str, StaffPage] = field(default_factory=dict)

    def on_complete(self, kind: str, handler: CompletionHandler) -> None:
        self.completion[kind] = handler

    def on_claim(self, kind: str, handler: ClaimHandler) -> None:
        self.claim[kind] = handler

    def register(self, adapter: SourceAdapter) -> None:
        if not adapter.source_type:
            raise ValueError("an adapter needs a source_type")
        self.adapters[adapter.source_type] = adapter

    def add_staff_page(self, page: StaffPage) -> None:
        """Link a domain's staff page from the queue's menu (idempotent by URL, in the order added)."""
        self.pages[page.url] = page

    def staff_pages(self, who: Principal) -> list[StaffPage]:
        return [page for page in self.pages.values() if page.shown_to(who)]

    def unregister(self, source_type: str) -> None:
        self.adapters.pop(source_type, None)

    def adapter(self, source_type: str | None) -> SourceAdapter | None:
        return self.adapters.get(source_type) if source_type else None

    def named_in(self, data: dict[str, Any] | None) -> list[SourceAdapter]:
        """The adapters whose objects a form item's stored data names."""
        return self.verifiers_for(data or {})

    def verifiers_for(self, data: dict[str, Any]) -> list[SourceAdapter]:
        """The adapters whose reference field the form's data fills."""
        return [a for a in self.adapters.values() if a.reference_field and data.get(a.reference_field)]

    async def metrics(self, session: AsyncSession) -> list[MetricsSection]:
        sections: list[MetricsSection] = []
        for adapter in self.adapters.values():
            sections.extend(await adapter.metrics(session))
        return sections


registry = Registry()
on_complete = registry.on_complete
on_claim = registry.on_claim

__all__ = ["registry", "on_complete", "on_claim", "Registry", "SourceAdapter", "Link", "Fact", "Claim", "Verified",
           "Figure", "MetricsSection", "StaffPage"]
