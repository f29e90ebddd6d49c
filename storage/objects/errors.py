"""Errors of the object stores.

``StorageUnavailable`` is what a person may be told (one of the bilingual family: try again
later, with the HTTP status 503); the other two are programming or consistency errors.
"""

from __future__ import annotations

from typing import ClassVar

from storage.errors import BilingualError

__all__ = ["InvalidObjectKey", "ObjectNotFound", "StorageUnavailable"]


class StorageUnavailable(BilingualError):
    """The object store cannot be reached or refused the request; nothing was saved."""

    code: ClassVar[str] = "storage_unavailable"
    status_code: ClassVar[int] = 503

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "文件存储暂时不可用，文件没有保存。请过几分钟再试一次。",
            "Document storage is unavailable right now and nothing was saved. Please try again in a few minutes.",
        )
        # For logs and operators only; never shown to citizens.
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "60"}

    def __str__(self) -> str:
        return f"{self.message_en} ({self.detail})" if self.detail else self.message_en


class ObjectNotFound(LookupError):
    """A store has no object under this key (a programming or consistency error, not a user error)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object stored under key {key!r}")
        self.key = key


class InvalidObjectKey(ValueError):
    """A key that could escape the store's folder or is not one the server generates."""
