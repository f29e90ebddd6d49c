"""Errors of the queue, each with a message in both languages and the HTTP status it maps to."""

from __future__ import annotations


class QueueError(Exception):
    status = 409

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en


class ItemNotFound(QueueError):
    status = 404


class NotYourDepartment(QueueError):
    status = 403


class WrongState(QueueError):
    """The action does not fit the item's state (already done, waiting for the citizen, …)."""

    status = 409


class HeldByOther(QueueError):
    status = 409


class StaleItem(QueueError):
    """The item changed since the form was opened (or the form was sent twice)."""

    status = 409


class InvalidAction(QueueError):
    status = 400


class HandlerRefused(QueueError):
    """The domain that owns the item's source refused the completion (e.g. the step cannot finish yet)."""

    status = 409


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


NOT_FOUND = ItemNotFound("没有找到这条受理记录。", "No such item.")
