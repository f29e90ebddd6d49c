"""Errors of the queue, each with a message in both languages and the HTTP status it maps to."""

from __future__ import annotations

from storage.errors import BilingualError
from storage.errors import Throttled as Throttled  # re-exported for the queue's callers


class QueueError(BilingualError):
    status = 409


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




NOT_FOUND = ItemNotFound("没有找到这条受理记录。", "No such item.")
