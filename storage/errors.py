"""Errors every domain shares: a refusal with a message in both languages and its HTTP
status, and "too many tries, wait this long"."""

from __future__ import annotations


class BilingualError(Exception):
    """A refusal the person can act on: the message says what to fix, in zh and en."""

    status = 409

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en


class Throttled(Exception):
    """Too many failed attempts: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
