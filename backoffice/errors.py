"""Errors of the queue: members of the one bilingual error family (status code, code, zh, en)."""

from __future__ import annotations

from storage.errors import BilingualError
from storage.errors import Throttled as Throttled  # re-exported for the queue's callers


class QueueError(BilingualError):
    status_code = 409
    code = "queue_error"


class ItemNotFound(QueueError):
    status_code = 404
    code = "item_not_found"


class NotYourDepartment(QueueError):
    status_code = 403
    code = "not_your_department"


class WrongState(QueueError):
    """The action does not fit the item's state (already done, waiting for the citizen, …)."""

    status_code = 409
    code = "wrong_state"


class HeldByOther(QueueError):
    status_code = 409
    code = "held_by_other"


class StaleItem(QueueError):
    """The item changed since the form was opened (or the form was sent twice)."""

    status_code = 409
    code = "stale_item"


class InvalidAction(QueueError):
    status_code = 400
    code = "invalid_action"


class HandlerRefused(QueueError):
    """The domain that owns the item's source refused the completion (e.g. the step cannot finish yet)."""

    status_code = 409
    code = "handler_refused"




NOT_FOUND = ItemNotFound("没有找到这条受理记录。", "No such item.")
