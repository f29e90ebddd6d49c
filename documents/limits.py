"""Upload limits, read from ``documents/data/document_limits.toml`` and validated once.

Every number about documents (sizes per kind, the citizen quota, thumbnail size, link
lifetime) lives in that file, so an administrator changes data, not code.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounts.departments import Department
from documents.kinds import DocumentKind, FileType

__all__ = ["DEFAULT_LIMITS_PATH", "DocumentLimits", "KindRule", "LimitsError", "get_limits", "load_limits"]

MIB = 1024 * 1024
DEFAULT_LIMITS_PATH = Path(__file__).resolve().parent / "data" / "document_limits.toml"


class LimitsError(ValueError):
    """The limits file is wrong; the message names the entry and what is expected."""


@dataclass(frozen=True)
class KindRule:
    kind: DocumentKind
    zh: str
    en: str
    max_bytes: int
    types: tuple[FileType, ...]
    # The departments whose staff may issue this kind; None: any department.
    issued_by: frozenset[str] | None = None

    def issuable_by(self, department: str | None) -> bool:
        return self.issued_by is None or department in self.issued_by


@dataclass(frozen=True)
class DocumentLimits:
    kinds: Mapping[DocumentKind, KindRule]
    citizen_quota_bytes: int
    max_name_chars: int
    thumbnail_max_px: int
    thumbnail_quality: int
    max_image_pixels: int
    presign_seconds: int
    public_cache_seconds: int

    def rule(self, kind: DocumentKind) -> KindRule:
        return self.kinds[kind]

    @property
    def largest_upload_bytes(self) -> int:
        return max(rule.max_bytes for rule in self.kinds.values())


def _positive_int(table: Mapping[str, Any], key: str, where: str, *, lo: int = 1, hi: int = 10**12) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LimitsError(f"{where}.{key} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise LimitsError(f"{where}.{key} must be between {lo} and {hi}, got {value}")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LimitsError(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value


def parse_limits(raw: Mapping[str, Any]) -> DocumentLimits:
    general = raw.get("general")
    if not isinstance(general, Mapping):
        raise LimitsError("[general] table is missing")
    kinds_raw = raw.get("kinds")
    if not isinstance(kinds_raw, Mapping):
        raise LimitsError("[kinds.*] tables are missing")

    unknown = sorted(set(kinds_raw) - {k.value for k in DocumentKind})
    if unknown:
        raise LimitsError(f"unknown document kinds in [kinds]: {', '.join(unknown)}")
    missing = sorted(k.value for k in DocumentKind if k.value not in kinds_raw)
    if missing:
        raise LimitsError(f"[kinds] has no entry for: {', '.join(missing)}")

    kinds: dict[DocumentKind, KindRule] = {}
    for name, table in kinds_raw.items():
        where = f"kinds.{name}"
        if not isinstance(table, Mapping):
            raise LimitsError(f"[{where}] must be a table")
        types_raw = table.get("types")
        if not isinstance(types_raw, list) or not types_raw:
            raise LimitsError(f"{where}.types must be a non-empty list of pdf, jpeg, png")
        try:
            types = tuple(FileType(t) for t in types_raw)
        except ValueError:
            raise LimitsError(f"{where}.types may only contain pdf, jpeg, png, got {types_raw!r}") from None
        issued_raw = table.get("issued_by")
        issued_by: frozenset[str] | None = None
        if issued_raw is not None:
            known = {d.value for d in Department}
            if not isinstance(issued_raw, list) or not issued_raw or not set(issued_raw) <= known:
                raise LimitsError(f"{where}.issued_by must be a non-empty list of {', '.join(sorted(known))}")
            issued_by = frozenset(issued_raw)
        kind = DocumentKind(name)
        kinds[kind] = KindRule(
            kind=kind,
            zh=_text(table, "zh", where),
            en=_text(table, "en", where),
            max_bytes=_positive_int(table, "max_mb", where, hi=1024) * MIB,
            types=types,
            issued_by=issued_by,
        )

    return DocumentLimits(
        kinds=kinds,
        citizen_quota_bytes=_positive_int(general, "citizen_quota_mb", "general", hi=1024 * 1024) * MIB,
        max_name_chars=_positive_int(general, "max_name_chars", "general", lo=16, hi=200),
        thumbnail_max_px=_positive_int(general, "thumbnail_max_px", "general", lo=32, hi=2048),
        thumbnail_quality=_positive_int(general, "thumbnail_quality", "general", lo=30, hi=95),
        max_image_pixels=_positive_int(general, "max_image_pixels", "general", lo=1_000_000, hi=500_000_000),
        presign_seconds=_positive_int(general, "presign_seconds", "general", lo=1, hi=7 * 24 * 3600),
        public_cache_seconds=_positive_int(general, "public_cache_seconds", "general", lo=0, hi=365 * 86400),
    )


def load_limits(path: Path | None = None) -> DocumentLimits:
    path = path or DEFAULT_LIMITS_PATH
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise LimitsError(f"document limits file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LimitsError(f"{path} is not valid TOML: {exc}") from None
    return parse_limits(raw)


@functools.cache
def get_limits() -> DocumentLimits:
    """The limits in force (loaded once per process)."""
    return load_limits()
