"""What the cases domain tells others (through ``storage.events.hub``)."""

from __future__ import annotations

import datetime as dt

from storage.events import Event

# What a follower of a case is told (zh, en; one SMS), registered with the queue's outbox by the
# composition root. {ref}: the case number; {node}: the new node's name in the reader's language.
NOTICES: dict[str, tuple[str, str]] = {
    "case.node": ("您关注的案件 {ref} 有新进展:{node}。请登录查看。", "Your case {ref} has a new step: {node}. Sign in to see it."),
}


class NodeAdded(Event, frozen=True, kw_only=True):
    """A new progress node arrived for a case (not sent again when the same node is re-sent)."""

    case_id: int
    case_number: str
    node_key: str
    name_zh: str
    name_en: str
    occurred_at: dt.datetime
