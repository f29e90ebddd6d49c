"""What the public lot pages need from other domains, declared here and connected by portal/.

auction_listings imports no other domain: the tax estimate for a lot (title_transfer owns the
estimator) and a lot's public documents (the documents domain owns them) arrive through these
callables, which ``portal/app.py`` builds and hands to the controllers as the ``listing``
dependency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import msgspec
from sqlalchemy import ColumnElement


class TaxLineLike(Protocol):
    key: str
    name_zh: str
    name_en: str
    rate: Decimal | None
    amount: Decimal
    payer: str
    rule_zh: str
    rule_en: str
    exempt: bool
    assessed_only: bool


class EstimateLike(Protocol):
    @property
    def lines(self) -> Sequence[Any]: ...
    @property
    def buyer_total(self) -> Decimal: ...
    @property
    def seller_total(self) -> Decimal: ...
    @property
    def rates_effective_from(self) -> dt.date: ...
    @property
    def rates_source(self) -> str: ...
    @property
    def notice_zh(self) -> str: ...
    @property
    def notice_en(self) -> str: ...


# Takes the parameters of ``GET /api/v1/tax/estimate`` (strings) and returns the estimate;
# raises a 400 BilingualError naming the parameter when one is wrong.
TaxEstimator = Callable[[Mapping[str, str]], EstimateLike]


class Templates(Protocol):
    """The app's template engine (what ``request.app.template_engine`` is)."""

    def get_template(self, name: str) -> Any: ...


# The estimate's lines (each tax, its rule, who pays, the totals and the rates' source) rendered
# by the estimator's owner with the app's templates: the lot page shows them without a copy
# of title_transfer's template.
TaxLinesRenderer = Callable[[Templates, EstimateLike], str]


class PublicDocument(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    name: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None = None

    @property
    def is_photo(self) -> bool:
        return self.kind == "lot_photo"


@dataclass(frozen=True)
class DocumentsColumn:
    """A lot's public documents as one more column of the lot's own read (no session, no second
    round trip): ``column(lot_id, dialect)`` is a correlated scalar subquery that the documents
    domain builds, ``decode(value)`` turns its value into :class:`PublicDocument` values."""

    column: Callable[[ColumnElement[Any], str], Any]
    decode: Callable[[Any], list[PublicDocument]]


@dataclass
class ListingSeams:
    """The callables the composition root connects (a bare app gets no estimate and no documents)."""

    tax_estimator: TaxEstimator | None = None
    tax_lines: TaxLinesRenderer | None = None
    documents: DocumentsColumn | None = None
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = ["EstimateLike", "ListingSeams", "DocumentsColumn", "PublicDocument", "TaxEstimator", "TaxLineLike", "TaxLinesRenderer",
           "Templates"]
