"""The Jinja environment: one loader over every package's templates, gettext, helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from accounts.departments import department_name
from portal import i18n
from storage.documents.models import kind_choices, kind_label

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [
    ROOT / "portal" / "templates",
    ROOT / "title_transfer" / "templates",
    ROOT / "backoffice" / "templates",
    ROOT / "auction_listings" / "templates",
    ROOT / "cases" / "templates",
]

STATE_LABELS = {
    "waiting": ("等待前置步骤", "Waiting"),
    "ready": ("可办理", "Ready"),
    "in_progress": ("办理中", "In progress"),
    "done": ("已完成", "Done"),
    "blocked": ("受阻", "Blocked"),
    "not_applicable": ("不适用", "Not applicable"),
}


def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    return f"¥{amount:,.2f}"


def date(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    if i18n.current_lang.get() == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%d %b %Y")


def pick(zh: Any, en: Any) -> Any:
    return zh if i18n.current_lang.get() == "zh" else en


def field(obj: Any, base: str) -> Any:
    """obj.<base>_zh or obj.<base>_en (or dict keys) for the current language."""
    suffix = "_zh" if i18n.current_lang.get() == "zh" else "_en"
    if isinstance(obj, dict):
        return obj.get(base + suffix)
    return getattr(obj, base + suffix)


def doc_label(kind: str) -> str:
    return kind_label(kind, i18n.current_lang.get())


def doc_choices(kinds: list[str]) -> list[tuple[str, str, int]]:
    return kind_choices(kinds, i18n.current_lang.get())


def pct(rate: Any) -> str:
    value = Decimal(str(rate)) * 100
    return f"{value.normalize():f}%"


def dept_name(dept: str) -> str:
    return department_name(dept, i18n.current_lang.get())


def state_label(state: str) -> str:
    zh, en = STATE_LABELS.get(state, (state, state))
    return pick(zh, en)


def build_environment(extra_dirs: list[Path] | None = None) -> Environment:
    for lang in i18n.LANGS:
        i18n.translations(lang)  # a missing or stale compiled catalogue fails here, at start-up
    dirs = [d for d in [*TEMPLATE_DIRS, *(extra_dirs or [])] if d.exists()]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=lambda: i18n.current_lang.get(),
        pick=pick,
        field=field,
        state_label=state_label,
        pct=pct,
        doc_label=doc_label,
        doc_choices=doc_choices,
        kind_choices=kind_choices,
        department_name=dept_name,
    )
    from portal.chat import linkify

    env.globals["linkify"] = linkify
    env.filters.update(money=money, date=date)
    return env
