"""What the queue's pages share: labels for templates, references, calendar files.

Who is asking comes from the kernel (guards, ``request.user``); errors go to its one handler."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect, Response

from accounts.departments import DEPARTMENT_NAMES, Department
from backoffice import forms, ics, kinds
from backoffice.models import ItemState, WorkItem, parse_reference
from backoffice.registry import registry
from kernel.deps import request_lang
from kernel.i18n import _

STATE_LABELS: dict[str, tuple[str, str]] = {
    ItemState.new: ("待受理", "New"),
    ItemState.claimed: ("办理中", "Being handled"),
    ItemState.waiting_citizen: ("待补正", "Waiting for the citizen"),
    ItemState.done: ("已办结", "Done"),
    ItemState.rejected: ("不予办理", "Declined"),
    ItemState.reopened: ("异议重办", "Reopened"),
}
CITIZEN_STATE_LABELS = {**STATE_LABELS, ItemState.waiting_citizen: ("待您补正", "Waiting for you"),
                        ItemState.new: ("已受理", "Received")}
BADGES = {ItemState.new: "badge-ready", ItemState.claimed: "badge-in_progress", ItemState.reopened: "badge-blocked",
          ItemState.waiting_citizen: "badge-waiting", ItemState.done: "badge-done", ItemState.rejected: "badge-blocked"}


def lang(request: Request[Any, Any, Any]) -> str:
    return request_lang(request)


def item_id(ref: str) -> int:
    parsed = parse_reference(ref)
    if parsed is None:
        raise HTTPException(status_code=404, detail="no such item")
    return parsed


def new_form_key() -> str:
    """A one-time key in each form: the same form sent twice is recognised, not doubled."""
    return secrets.token_urlsafe(18)


def version_of(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1


class View:
    """Labels and formatting for templates, in the request's language."""

    def __init__(self, lang_: str, now: dt.datetime | None = None) -> None:
        self.lang = lang_
        self.now = now or dt.datetime.now(dt.UTC)

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[0] if self.lang == "zh" else pair[1]

    def state(self, state: str, *, citizen: bool = False) -> str:
        labels = CITIZEN_STATE_LABELS if citizen else STATE_LABELS
        return self.pick(labels.get(state, (state, state)))  # type: ignore[call-overload]

    def badge(self, state: str) -> str:
        return BADGES.get(state, "")  # type: ignore[call-overload]

    def kind(self, kind: str) -> str:
        return kinds.kind_title(kind, self.lang)

    def dept(self, dept: str | None) -> str:
        if not dept:
            return "—"
        try:
            return self.pick(DEPARTMENT_NAMES[Department(dept)])
        except ValueError:
            return dept

    def label(self, kind: str, name: str) -> str:
        pair = forms.correctable(kind).get(name)
        return self.pick(pair) if pair else name

    def value(self, kind: str, name: str, value: Any) -> str:
        return forms.choice_label(kind, name, str(value), self.lang) if value not in (None, "") else "—"

    def when(self, value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(kinds.CHINA)
        return local.strftime("%Y-%m-%d %H:%M")

    def overdue(self, item: WorkItem) -> bool:
        return item.overdue(self.now)

    def lease_live(self, item: WorkItem) -> bool:
        return item.lease_live(self.now)

    def subject(self, item: WorkItem) -> str:
        adapter = registry.adapter(item.source_type)
        label = adapter.subject(item, self.lang) if adapter is not None else None
        return label or item.subject

    def facts(self, item: WorkItem) -> list[tuple[str, str]]:
        """(label, value) lines the item's source gives about it; empty for a form."""
        adapter = registry.adapter(item.source_type)
        if adapter is None:  # a form: what the sources it names say about their objects
            found = [f for a in registry.named_in(item.data) for f in a.form_facts(item)]
        else:
            found = adapter.facts(item)
        return [(self.pick((f.label_zh, f.label_en)), self.pick((f.value_zh, f.value_en))) for f in found]

    def link(self, item: WorkItem, *, staff: bool) -> dict[str, str] | None:
        """The link to the item's source's own page (url, text, note), for staff or for the citizen."""
        adapter = registry.adapter(item.source_type)
        if adapter is None:  # a form naming another domain's object: that object's page, if its source links it
            found = next((link for a in registry.named_in(item.data)
                          if (link := a.form_link(item, staff=staff)) is not None), None)
        else:
            found = adapter.staff_link(item) if staff else adapter.citizen_link(item)
        if found is None:
            return None
        return {"url": found.url, "text": self.pick((found.text_zh, found.text_en)),
                "note": self.pick((found.note_zh, found.note_en))}

    def departments(self) -> list[tuple[str, str]]:
        return [(d.value, self.pick(names)) for d, names in DEPARTMENT_NAMES.items()]

    def field_errors(self, errors: list[forms.FieldError]) -> dict[str, str]:
        return {e.field: (e.message_zh if self.lang == "zh" else e.message_en) for e in errors}


def see_other(url: str) -> Redirect:
    return Redirect(url, status_code=303)


def calendar_event(item: WorkItem, v: View) -> ics.CalendarEvent | None:
    data = item.data or {}
    uid = f"{item.reference}@yijianshi-portal"
    date_value = data.get("preferred_date")
    if date_value:
        day = dt.date.fromisoformat(str(date_value))
        summary = f"{v.kind(item.kind)} {item.reference}"
        description = f"{v.subject(item)} · {v.dept(item.department)}"
        return ics.appointment(uid, summary, description, day, data.get("time_slot"))
    if item.is_open:
        summary = _("%(reference)s due") % {"reference": item.reference}
        return ics.due_date(uid, summary, f"{v.kind(item.kind)} · {v.subject(item)}", item.due_at)
    return None


def calendar_response(item: WorkItem, v: View) -> Response[bytes]:
    event = calendar_event(item, v)
    if event is None:
        raise NotFoundException(detail="nothing to put in a calendar")
    return Response(ics.render(event), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{item.reference}.ics"'})


__all__ = ["calendar_event", "calendar_response", "View", "lang", "item_id", "see_other", "new_form_key",
           "version_of"]
