"""The kinds of work the queue handles, loaded from data (backoffice/data/kinds.toml).

Who owns each kind, its service level and priority are data an administrator can change;
they are validated once, at start-up, so a typo stops the portal instead of a request.

A domain that owns kinds (the forms it receives, the items it opens) keeps them in its own
file of the same format and the composition root registers it (:func:`register_kinds`): the
queue's file names no domain's kind.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path

import msgspec

from accounts.departments import Department
from storage.workdays import WorkCalendar, default_calendar

KINDS_FILE = Path(__file__).parent / "data" / "kinds.toml"
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # no daylight saving: a fixed offset is exact
END_OF_DAY = dt.time(18, 0)
ROUTING = ("by_field", "by_topic", "by_item", "by_source")
CHANNELS = ("web", "chat")


class KindsError(ValueError):
    pass


class Kind(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    title_zh: str
    title_en: str
    department: str
    sla_working_days: int
    priority: int
    channels: list[str]
    forwardable: bool = False
    disputable: bool = False
    department_field: str | None = None
    topic_keywords: dict[str, list[str]] = {}
    summary_zh: str = ""
    summary_en: str = ""
    for_roles: list[str] = []

    def fits(self, role: str | None) -> bool:
        """Offered first to this role (a form for anyone fits everyone)."""
        return not self.for_roles or role in self.for_roles

    @property
    def submittable(self) -> bool:
        return bool(self.channels)

    @property
    def fixed_department(self) -> str | None:
        return None if self.department in ROUTING else self.department


class KindsFile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    dispute_window_days: int
    dispute_priority: int
    kinds: dict[str, Kind]


def _validate(data: KindsFile) -> None:
    if not 0 < data.dispute_window_days <= 365:
        raise KindsError("dispute_window_days must be 1..365")
    for name, kind in data.kinds.items():
        if kind.department not in ROUTING:
            try:
                Department(kind.department)
            except ValueError:
                raise KindsError(f"kinds.{name}.department: unknown department {kind.department!r}") from None
        if kind.department == "by_field" and not kind.department_field:
            raise KindsError(f"kinds.{name}: department = 'by_field' needs department_field")
        if not -1 <= kind.sla_working_days <= 90:
            raise KindsError(f"kinds.{name}.sla_working_days must be -1..90")
        if not -10 <= kind.priority <= 10:
            raise KindsError(f"kinds.{name}.priority must be -10..10")
        for channel in kind.channels:
            if channel not in CHANNELS:
                raise KindsError(f"kinds.{name}.channels: unknown channel {channel!r}")
        for dept in kind.topic_keywords:
            try:
                Department(dept)
            except ValueError:
                raise KindsError(f"kinds.{name}.topic_keywords: unknown department {dept!r}") from None


def load_kinds(path: Path = KINDS_FILE) -> KindsFile:
    try:
        data = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), KindsFile)
    except msgspec.ValidationError as exc:
        raise KindsError(f"{path.name}: {exc}") from None
    _validate(data)
    return data


class DomainKinds(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    kinds: dict[str, Kind]


_registered: dict[Path, dict[str, Kind]] = {}


def load_domain_kinds(path: Path) -> dict[str, Kind]:
    """A domain's kinds file (only ``[kinds.*]`` tables), validated like the queue's own."""
    try:
        data = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), DomainKinds)
    except msgspec.ValidationError as exc:
        raise KindsError(f"{path.name}: {exc}") from None
    _validate(KindsFile(dispute_window_days=1, dispute_priority=0, kinds=data.kinds))
    return data.kinds


def register_kinds(path: Path) -> None:
    """Add a domain's kinds to the catalogue (idempotent per file; a name taken twice stops the portal)."""
    kinds = load_domain_kinds(path)
    taken = set(load_kinds().kinds) | {k for p, ks in _registered.items() if p != path for k in ks}
    if clash := taken & set(kinds):
        raise KindsError(f"{path}: kinds already defined: {sorted(clash)}")
    _registered[path] = kinds
    catalogue.cache_clear()


@lru_cache(maxsize=1)
def catalogue() -> KindsFile:
    """The queue's kinds, after the registered domains' kinds (in the order they were registered)."""
    own = load_kinds()
    registered = {name: k for kinds in _registered.values() for name, k in kinds.items()}
    return msgspec.structs.replace(own, kinds={**registered, **own.kinds})


def kind(name: str) -> Kind | None:
    return catalogue().kinds.get(name)


def kind_title(name: str, lang: str) -> str:
    k = kind(name)
    if k is None:
        return name
    return k.title_zh if lang == "zh" else k.title_en


def due_at(created: dt.datetime, working_days: int, calendar: WorkCalendar | None = None) -> dt.datetime:
    """End of the working day ``working_days`` after ``created`` (China time), in UTC."""
    calendar = calendar or default_calendar()
    local_day = created.astimezone(CHINA).date()
    day = calendar.add_working_days(local_day, max(working_days, 0))
    return dt.datetime.combine(day, END_OF_DAY, CHINA).astimezone(dt.UTC)


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, CHINA).astimezone(dt.UTC)


def route_by_topic(k: Kind, text: str) -> str | None:
    """The department whose keywords the text mentions first, if any."""
    lowered = text.lower()
    for dept, words in k.topic_keywords.items():
        if any(w.lower() in lowered for w in words):
            return dept
    return None
