"""What the portal already knows about a signed-in citizen, offered in their forms.

The queue does not read other domains' tables: the composition root registers, for a form
field that names a domain's object, a function listing the person's own objects (value,
label zh, label en), offered as a choice instead of a box to type into
(:func:`register_choices`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from backoffice import forms

OwnObjects = Callable[[AsyncSession, int], Awaitable[list[tuple[str, str, str]]]]
_choices: dict[str, OwnObjects] = {}  # form field → the person's own objects for it

# Form fields filled from the account when the form opens (the person may change them).
NAME_FIELDS = ("contact_name", "account_holder_name")


def register_choices(field: str, lister: OwnObjects | None) -> None:
    """Offer the person's own objects in ``field`` (None: stop offering them)."""
    if lister is None:
        _choices.pop(field, None)
    else:
        _choices[field] = lister


async def for_person(session: AsyncSession, kind: str, user_id: int, lang: str, *,
                     manual: bool = False) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """(choices per field, values to start with) for ``kind``'s form opened by this person."""
    spec = forms.form_spec(kind, identified=True)
    if spec is None:
        return {}, {}
    names = {f.name for f in spec.fields}
    choices: dict[str, list[tuple[str, str]]] = {}
    for name, lister in _choices.items():
        if name in names and not manual:
            own = await lister(session, user_id)
            if own:
                choices[name] = [(no, f"{no} · {zh if lang == 'zh' else en}") for no, zh, en in own]
    start: dict[str, Any] = {}
    user = (await session.execute(select(User.display_name, User.phone).where(User.id == user_id))).first()
    if user is not None:
        if user.phone and "contact_phone" in names:
            start["contact_phone"] = user.phone
        for name in NAME_FIELDS:
            if name in names and user.display_name:
                start[name] = user.display_name
    for name, offered in choices.items():
        start[name] = offered[0][0]
    return choices, start
