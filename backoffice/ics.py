"""Calendar files (RFC 5545) for a due date or an appointment, so it lands in a phone's calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backoffice.kinds import CHINA

PRODID = "-//yijianshi-portal//backoffice//ZH"
SLOTS = {"morning": (dt.time(9, 0), dt.time(12, 0)), "afternoon": (dt.time(14, 0), dt.time(17, 30))}


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    summary: str
    description: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    location: str = ""


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", ""))


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets continue on the next line after a space (never splitting a character)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def _when(name: str, value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return f"{name}:{value.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{name};VALUE=DATE:{value.strftime('%Y%m%d')}"


def render(event: CalendarEvent, now: dt.datetime | None = None) -> bytes:
    now = now or dt.datetime.now(dt.UTC)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{now.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}",
        _when("DTSTART", event.start), _when("DTEND", event.end),
        f"SUMMARY:{_escape(event.summary)}", f"DESCRIPTION:{_escape(event.description)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{_escape(event.location)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    folded = [part for line in lines for part in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode("utf-8")


def appointment(uid: str, summary: str, description: str, day: dt.date, slot: str | None) -> CalendarEvent:
    """A half-day slot (China time), or the whole day when no slot was chosen."""
    if slot in SLOTS:
        start, end = SLOTS[slot]
        return CalendarEvent(uid, summary, description, dt.datetime.combine(day, start, CHINA),
                             dt.datetime.combine(day, end, CHINA))
    return CalendarEvent(uid, summary, description, day, day + dt.timedelta(days=1))


def due_date(uid: str, summary: str, description: str, due: dt.datetime) -> CalendarEvent:
    day = due.astimezone(CHINA).date()
    return CalendarEvent(uid, summary, description, day, day + dt.timedelta(days=1))
