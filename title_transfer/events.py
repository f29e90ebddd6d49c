"""What the title transfer tells other domains (through ``storage.events.hub``)."""

from __future__ import annotations

import datetime as dt

from storage.events import Event
from title_transfer.workflow import AssetKind, StepState


class StepChanged(Event, frozen=True, kw_only=True):
    """A step's state changed (or a step became ready when its transfer was opened).

    ``asset_kind`` names the workflow, which is what gives the step's name: both workflows
    have a ``delivery`` step, and they are not the same step.
    """

    transfer_id: int
    tracking_no: str
    buyer_id: int
    asset_kind: AssetKind
    step_id: int
    step_key: str
    department: str
    before: StepState | None
    state: StepState
    due_on: dt.date
