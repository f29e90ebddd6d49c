"""Who did what, in words: the names, roles and actions staff read on an item's history and thread.

Audit rows and messages keep what was true when they were written (the actor's id and a
label); pages show a person as their name with their role or department ("张*明(买受人)",
"税务局 陈*"), the chat assistant's visitor and the system as words, never ids or codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import DEPARTMENT_NAMES, Department
from accounts.models import ROLE_NAMES, User

SPECIAL: dict[str, tuple[str, str]] = {
    "system": ("系统", "System"),
    "chat visitor": ("在线助手访客", "Chat assistant visitor"),
}
ACTIONS: dict[str, tuple[str, str]] = {
    "open": ("收到", "Received"),
    "join_request": ("市民申请并入本事项", "Citizen's request joined this item"),
    "claim": ("认领", "Claimed"),
    "extend": ("延长认领", "Claim extended"),
    "release": ("放回队列", "Released to the queue"),
    "reply": ("回复市民", "Replied to the citizen"),
    "request_correction": ("要求补正", "Asked for a correction"),
    "answer_correction": ("市民补正", "Citizen answered the correction"),
    "citizen_reply": ("市民留言", "Citizen wrote"),
    "complete": ("办结", "Completed"),
    "reject": ("不予办理", "Declined"),
    "forward": ("转交其他部门", "Forwarded to another department"),
    "dispute": ("市民提出异议", "Citizen disputed"),
    "source_update": ("随过户步骤更新", "Updated from its source"),
    "close_by_source": ("随来源办结", "Closed with its source"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def action_name(action: str, lang: str) -> str:
    pair = ACTIONS.get(action)
    if pair is not None:
        return _pick(pair, lang)
    return _pick(("其他操作", "Other change"), lang)  # never the code itself


def _label_name(label: str) -> str:
    """The name inside a stored label ("staff:6:王*" → "王*"; "citizen:5" → "")."""
    parts = label.split(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[2]
    if len(parts) == 2 and parts[1].isdigit():
        return ""
    return label


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    department: str | None


class People:
    """The people named by a page's rows, read once, and how to write each of them."""

    def __init__(self, known: dict[int, Person], lang: str) -> None:
        self.known = known
        self.lang = lang

    @classmethod
    async def load(cls, session: AsyncSession, ids: Iterable[int | None], lang: str) -> People:
        wanted = sorted({i for i in ids if i is not None})
        known: dict[int, Person] = {}
        if wanted:
            rows = await session.execute(select(User.id, User.display_name, User.role, User.department)
                                         .where(User.id.in_(wanted)))
            known = {r.id: Person(r.display_name, r.role, r.department) for r in rows.all()}
        return cls(known, lang)

    def name(self, actor_id: int | None, label: str, kind: str | None = None) -> str:
        special = SPECIAL.get(label)
        if special is not None:
            return _pick(special, self.lang)
        person = self.known.get(actor_id) if actor_id is not None else None
        if person is None:
            name = _label_name(label)
            if kind == "system" or not name:
                role = "系统" if kind == "system" else "市民"
                return name or _pick((role, "System" if kind == "system" else "Citizen"), self.lang)
            return name
        if person.role in ("staff",) and person.department:
            try:
                dept = _pick(DEPARTMENT_NAMES[Department(person.department)], self.lang)
            except ValueError:
                dept = person.department
            return f"{dept} {person.name}"
        names = ROLE_NAMES.get(person.role)
        if names is None:
            return person.name
        return f"{person.name}({names[0]})" if self.lang == "zh" else f"{person.name} ({names[1]})"

    def entry(self, row: Any) -> str:
        return self.name(row.actor_id, row.actor_label or "")


__all__ = ["People", "action_name", "ACTIONS", "ROLE_NAMES"]
