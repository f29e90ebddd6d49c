"""The lean read path behind the tracking page, its live fragment and the API.

One SELECT (transfer ⋈ steps) on a pooled connection, no ORM session and
no transaction at all (autocommit: no BEGIN/ROLLBACK round trips around the one SELECT);
the statement is built once and SQLAlchemy caches its compiled form (and asyncpg the
prepared statement). The tax estimate (a few KB of JSON) comes on the first row only, not
repeated on every step's row, where decoding it dominated the cost of the read.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.departments import DEPARTMENT_NAMES, Department
from title_transfer.models import Transfer, TransferStep
from title_transfer.schemas import Progress, StepView, TransferView
from title_transfer.texts import versions
from title_transfer.workflow import SATISFIED, AssetKind, StepState, workflows

_T = Transfer.__table__
_S = TransferStep.__table__

_STMT = (
    select(
        _T.c.id, _T.c.tracking_no, _T.c.code_digest, _T.c.code_version, _T.c.buyer_id, _T.c.asset_kind, _T.c.title,
        _T.c.started_on, _T.c.completed_on,
        case((func.row_number().over(order_by=_S.c.position) == 1, _T.c.tax_estimate)).label("tax_estimate"),
        _T.c.version,
        _T.c.price, _T.c.address, _T.c.title_en, _T.c.address_en, _T.c.court,
        _S.c.key, _S.c.department, _S.c.state, _S.c.due_on, _S.c.blocked_reason, _S.c.completed_at,
        _S.c.note, _S.c.revision, _S.c.details, _S.c.texts, _S.c.id.label("step_id"),
    )
    .select_from(_T.join(_S, _S.c.transfer_id == _T.c.id))
    .where(_T.c.tracking_no == bindparam("tracking_no"))
    .order_by(_S.c.position)
)


class TransferRecord:
    """A loaded transfer: the view plus what access checks need (never sent to clients)."""

    __slots__ = ("view", "code_digest", "buyer_id", "transfer_id", "code_version")

    def __init__(self, view: TransferView, code_digest: str, buyer_id: int, transfer_id: int,
                 code_version: int = 1) -> None:
        self.view = view
        self.code_digest = code_digest
        self.buyer_id = buyer_id
        self.transfer_id = transfer_id
        self.code_version = code_version


_readers: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def _reader(engine: AsyncEngine) -> AsyncEngine:
    """The engine in autocommit mode (same pool): a lone SELECT needs no transaction."""
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return reader


async def fetch_transfer(engine: AsyncEngine, tracking_no: str, today: dt.date | None = None) -> TransferRecord | None:
    async with _reader(engine).connect() as conn:
        rows = (await conn.execute(_STMT, {"tracking_no": tracking_no})).all()
    if not rows:
        return None
    return build_record(rows, today or dt.date.today())


def build_record(rows: Sequence[Any], today: dt.date) -> TransferRecord:
    first = rows[0]
    template = workflows()[AssetKind(first.asset_kind)]
    states = {r.key: StepState(r.state) for r in rows}
    steps: list[StepView] = []
    for r in rows:
        tmpl = template.step(r.key)
        zh, en = DEPARTMENT_NAMES[Department(r.department)]
        pending = [d for d in tmpl.depends_on if states[d] not in SATISFIED]
        completed_at = r.completed_at
        if completed_at is not None and completed_at.tzinfo is None:
            completed_at = completed_at.replace(tzinfo=dt.UTC)
        steps.append(
            StepView(
                id=r.step_id, key=r.key, name_zh=tmpl.name_zh, name_en=tmpl.name_en, action_zh=tmpl.action_zh,
                action_en=tmpl.action_en, department=r.department, department_name_zh=zh, department_name_en=en,
                state=r.state, due_date=r.due_on, waiting_on=pending if r.state == StepState.waiting else [],
                blocked_reason=r.blocked_reason, completed_at=completed_at, note=r.note,
                overdue=r.state not in SATISFIED and r.due_on < today, revision=r.revision,
                utility=tmpl.utility, details=r.details, documents=list(tmpl.documents),
                **versions(r.texts, "blocked_reason", r.blocked_reason), **versions(r.texts, "note", r.note),
            )
        )
    done = sum(1 for s in steps if s.state in SATISFIED)
    next_steps = [s.key for s in steps if s.state in (StepState.ready, StepState.in_progress, StepState.blocked)]
    view = TransferView(
        tracking_no=first.tracking_no, asset_kind=first.asset_kind, title=first.title, started_on=first.started_on,
        completed_on=first.completed_on, progress=Progress(done=done, total=len(steps)), steps=steps,
        next_steps=next_steps, tax_estimate=first.tax_estimate, version=first.version,
        url=f"/track/{first.tracking_no}",
        price=Decimal(first.price) if first.price is not None else None, address=first.address,
        title_en=first.title_en, address_en=first.address_en, court=first.court,
    )
    return TransferRecord(view, first.code_digest, first.buyer_id, first.id, first.code_version)
