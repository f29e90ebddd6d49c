"""The listings' data: courts (with their contacts), platforms, auction rules, pre-review areas.

Loaded from ``auction_listings/data/*.toml`` and validated once (at start-up through
:func:`check`), so a typo stops the portal instead of a request.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from accounts.departments import Department
from auction_listings.models import LotKind

DATA = Path(__file__).parent / "data"
FIELD_TYPES = ("yes_no", "choice", "money", "number", "date", "text", "note")


class CatalogueError(ValueError):
    pass


class Court(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name_zh: str
    name_en: str
    city: str
    district: str
    contact_zh: str
    contact_en: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def contact(self, lang: str) -> str:
        return self.contact_zh if lang == "zh" else self.contact_en


class Platform(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name_zh: str
    name_en: str
    hosts: list[str]

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Rules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str
    effective: dt.date
    first_round_min_of_appraisal: Decimal
    second_round_max_reduction: Decimal
    second_round_within_days: int
    deposit_min_of_start: Decimal
    deposit_max_of_start: Decimal
    announce_days_real_estate_first: int
    announce_days_real_estate_second: int
    announce_days_movable_first: int
    announce_days_movable_second: int
    announce_days_fixed_price: int
    min_bidding_hours: int
    increment_max_of_start: Decimal


class ListingFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    courts: dict[str, Court]
    platforms: dict[str, Platform]
    rules: Rules


class Field(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    type: str
    label_zh: str
    label_en: str
    optional: bool = False
    options: list[list[str]] = []

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def option_label(self, value: str, lang: str) -> str:
        for key, zh, en in self.options:
            if key == value:
                return zh if lang == "zh" else en
        return value


class Area(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title_zh: str
    title_en: str
    departments: list[str]
    kinds: list[str]
    fields: list[Field]

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


class ReviewFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    departments: dict[str, list[str]]
    areas: dict[str, Area]


def _load(name: str, kind: type[Any]) -> Any:
    with (DATA / name).open("rb") as fh:
        raw = tomllib.load(fh)
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise CatalogueError(f"{name}: {exc}") from None


@lru_cache(maxsize=1)
def listing() -> ListingFile:
    data: ListingFile = _load("listing.toml", ListingFile)
    r = data.rules
    if not (Decimal(0) < r.deposit_min_of_start <= r.deposit_max_of_start < 1):
        raise CatalogueError("listing.toml: deposit range must satisfy 0 < min <= max < 1")
    if not (Decimal(0) < r.first_round_min_of_appraisal <= 1 and Decimal(0) <= r.second_round_max_reduction < 1):
        raise CatalogueError("listing.toml: price ratios out of range")
    for code, platform in data.platforms.items():
        if not platform.hosts:
            raise CatalogueError(f"listing.toml: platform {code} lists no hosts")
    return data


@lru_cache(maxsize=1)
def review() -> ReviewFile:
    data: ReviewFile = _load("review.toml", ReviewFile)
    departments = {d.value for d in Department}
    kinds = {k.value for k in LotKind}
    for kind, asked in data.departments.items():
        if kind not in kinds or not set(asked) <= departments:
            raise CatalogueError(f"review.toml: departments.{kind} names an unknown kind or department")
    for key, area in data.areas.items():
        if not set(area.departments) <= departments or not set(area.kinds) <= kinds:
            raise CatalogueError(f"review.toml: area {key} names an unknown department or kind")
        for f in area.fields:
            if f.type not in FIELD_TYPES:
                raise CatalogueError(f"review.toml: {key}.{f.key} has unknown type {f.type}")
            if f.type == "choice" and not all(len(o) == 3 for o in f.options):
                raise CatalogueError(f"review.toml: {key}.{f.key} options must be [key, zh, en]")
    for kind, asked in data.departments.items():
        for dept in asked:
            if not areas_for(dept, kind, data):
                raise CatalogueError(f"review.toml: {dept} is asked about {kind} lots but answers no area of them")
    return data


def check() -> None:
    """Load and validate every file now (the portal calls this at start-up)."""
    listing()
    review()


def rules() -> Rules:
    return listing().rules


def courts() -> dict[str, Court]:
    return listing().courts


def court(code: str | None) -> Court | None:
    return listing().courts.get(code or "")


def platforms() -> dict[str, Platform]:
    return listing().platforms


def platform_of_url(url: str) -> str | None:
    """The platform whose host a lot's link is on (https only), or None."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        return None
    for code, platform in listing().platforms.items():
        if parts.hostname.lower() in platform.hosts:
            return code
    return None


def departments_for(kind: str) -> list[str]:
    """The departments asked to pre-review a lot of this kind, in the data's order."""
    return list(review().departments.get(kind, []))


def areas_for(department: str, kind: str, data: ReviewFile | None = None) -> list[tuple[str, Area]]:
    """The areas ``department`` answers for a lot of ``kind``."""
    data = data or review()
    return [(key, area) for key, area in data.areas.items() if department in area.departments and kind in area.kinds]


def area(key: str) -> Area | None:
    return review().areas.get(key)


__all__ = ["Court", "Platform", "Rules", "Field", "Area", "CatalogueError", "check", "rules", "courts", "court",
           "platforms", "platform_of_url", "departments_for", "areas_for", "area", "listing", "review"]
