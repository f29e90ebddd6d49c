"""What the cases domain tells others (through ``storage.events.hub``)."""

from __future__ import annotations

import datetime as dt

from storage.events import Event


class NodeAdded(Event, frozen=True, kw_only=True):
    """A new progress node arrived for a case (not sent again when the same node is re-sent)."""

    case_id: int
    case_number: str
    node_key: str
    name_zh: str
    name_en: str
    occurred_at: dt.datetime
