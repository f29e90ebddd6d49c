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
from title_transfer.workflow import SATISFIED, AssetKind, StepState, StepTemplate, WorkflowTemplate, workflows

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


_NEXT = frozenset({StepState.ready, StepState.in_progress, StepState.blocked})  # the steps "next_steps" lists


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


class _StepParts:
    """What a step's view takes from its workflow template and department (the same for every transfer)."""

    __slots__ = ("tmpl", "department_zh", "department_en")

    def __init__(self, tmpl: StepTemplate, department_zh: str, department_en: str) -> None:
        self.tmpl = tmpl
        self.department_zh = department_zh
        self.department_en = department_en


_PARTS: dict[tuple[int, str, str], tuple[WorkflowTemplate, _StepParts]] = {}


def _parts(template: WorkflowTemplate, key: str, department: str) -> _StepParts:
    """The step's template and department names, looked up once per (workflow, step, department)."""
    entry = _PARTS.get((id(template), key, department))
    if entry is None or entry[0] is not template:
        zh, en = DEPARTMENT_NAMES[Department(department)]
        entry = _PARTS[(id(template), key, department)] = (template, _StepParts(template.step(key), zh, en))
    return entry[1]


_NO_TEXT = (None, None, None)


def _versions(texts: dict[str, Any] | None, name: str, original: str | None) -> tuple[str | None, ...]:
    """(lang, zh, en) of one free text, as title_transfer.texts.versions gives them."""
    if not texts and not original:
        return _NO_TEXT
    entry = versions(texts, name, original)
    return entry[f"{name}_lang"], entry[f"{name}_zh"], entry[f"{name}_en"]


def build_record(rows: Sequence[Any], today: dt.date) -> TransferRecord:
    """The view of one transfer from its rows (``_STMT``'s columns, read by position: a
    SQLAlchemy Row's attribute access raises and catches an AttributeError per field)."""
    first = rows[0]
    (transfer_id, tracking_no, code_digest, code_version, buyer_id, asset_kind, title, started_on, completed_on,
     tax_estimate, version, price, address, title_en, address_en, court) = first[:16]
    template = workflows()[AssetKind(asset_kind)]
    states = {r[16]: r[18] for r in rows}
    steps: list[StepView] = []
    done = 0
    next_steps: list[str] = []
    for r in rows:
        (key, department, state, due_on, blocked_reason, completed_at, note, revision, details, texts,
         step_id) = r[16:]
        parts = _parts(template, key, department)
        tmpl = parts.tmpl
        satisfied = state in SATISFIED
        if satisfied:
            done += 1
        elif state in _NEXT:
            next_steps.append(key)
        if completed_at is not None and completed_at.tzinfo is None:
            completed_at = completed_at.replace(tzinfo=dt.UTC)
        blocked_lang, blocked_zh, blocked_en = _versions(texts, "blocked_reason", blocked_reason)
        note_lang, note_zh, note_en = _versions(texts, "note", note)
        steps.append(
            StepView(
                id=step_id, key=key, name_zh=tmpl.name_zh, name_en=tmpl.name_en, action_zh=tmpl.action_zh,
                action_en=tmpl.action_en, department=department, department_name_zh=parts.department_zh,
                department_name_en=parts.department_en, state=state, due_date=due_on,
                waiting_on=[d for d in tmpl.depends_on if states[d] not in SATISFIED] if state == StepState.waiting else [],
                blocked_reason=blocked_reason, completed_at=completed_at, note=note,
                overdue=not satisfied and due_on < today, revision=revision,
                utility=tmpl.utility, details=details, documents=list(tmpl.documents),
                blocked_reason_lang=blocked_lang, blocked_reason_zh=blocked_zh, blocked_reason_en=blocked_en,
                note_lang=note_lang, note_zh=note_zh, note_en=note_en,
            )
        )
    view = TransferView(
        tracking_no=tracking_no, asset_kind=asset_kind, title=title, started_on=started_on,
        completed_on=completed_on, progress=Progress(done=done, total=len(steps)), steps=steps,
        next_steps=next_steps, tax_estimate=tax_estimate, version=version,
        url=f"/track/{tracking_no}",
        price=Decimal(price) if price is not None else None, address=address,
        title_en=title_en, address_en=address_en, court=court,
    )
    return TransferRecord(view, code_digest, buyer_id, transfer_id, code_version)
