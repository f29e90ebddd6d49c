"""Response bodies of the transfer API (and the data the tracking page renders)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec


class StepView(msgspec.Struct):
    id: int
    key: str
    name_zh: str
    name_en: str
    action_zh: str
    action_en: str
    department: str
    department_name_zh: str
    department_name_en: str
    state: str
    due_date: dt.date
    waiting_on: list[str]
    blocked_reason: str | None
    completed_at: dt.datetime | None
    note: str | None
    overdue: bool
    revision: int
    utility: str | None = None
    details: dict[str, Any] | None = None
    documents: list[str] = []
    # Free text in its language (``blocked_reason`` and ``note`` above are the text as written):
    # the language it was written in, and the version in each language where there is one.
    blocked_reason_lang: str | None = None
    blocked_reason_zh: str | None = None
    blocked_reason_en: str | None = None
    note_lang: str | None = None
    note_zh: str | None = None
    note_en: str | None = None


class Progress(msgspec.Struct):
    done: int
    total: int


class TransferView(msgspec.Struct):
    tracking_no: str
    asset_kind: str
    title: str
    started_on: dt.date
    completed_on: dt.date | None
    progress: Progress
    steps: list[StepView]
    next_steps: list[str]
    tax_estimate: dict[str, Any] | None
    version: int
    url: str
    price: Decimal | None = None
    address: str | None = None
    # English title and address where the sale had them (``title``/``address`` are Chinese).
    title_en: str | None = None
    address_en: str | None = None
    court: str | None = None


class ErrorBody(msgspec.Struct):
    detail: str
    status_code: int
