"""The one family of errors every domain shares: a refusal the person can act on, with its
HTTP status, a machine-readable code and a message in both languages.

It lives here, at the bottom of the import graph, so that storage's own errors (documents)
can derive from it; domains import it through ``kernel.errors``. The web kernel's one
exception handler renders any of them as JSON, an htmx fragment or a page.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BilingualError(Exception):
    """A refusal the person can act on: the message says what to fix, in zh and en.

    Subclasses set ``status_code`` (the HTTP status it maps to) and ``code`` (stable, for
    programs); ``details`` carries values a client may want (sizes, limits, fields).
    """

    status_code: ClassVar[int] = 409
    code: ClassVar[str] = "refused"

    def __init__(self, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang.lower().startswith("zh") else self.message_en

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (e.g. Retry-After)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en,
                "details": self.details}


class Throttled(BilingualError):
    """Too many failed attempts: try again after ``retry_after`` seconds."""

    status_code = 429
    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, retry_after // 60)
        super().__init__(f"尝试次数过多,请 {minutes} 分钟后再试。",
                         f"Too many tries. Please wait {minutes} minutes.", retry_after=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
