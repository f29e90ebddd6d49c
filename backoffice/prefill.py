"""What the portal already knows about a signed-in citizen, offered in their forms.

The queue does not read other domains' tables: the composition root connects a function that
lists the person's own transfers (tracking number, title zh, title en), offered as a choice for
a form's tracking-number field instead of a box to type into.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from backoffice import forms

OwnTransfers = Callable[[AsyncSession, int], Awaitable[list[tuple[str, str, str]]]]
_own_transfers: OwnTransfers | None = None

# Form fields filled from the account when the form opens (the person may change them).
NAME_FIELDS = ("contact_name", "account_holder_name")


def set_own_transfers(lister: OwnTransfers | None) -> None:
    global _own_transfers
    _own_transfers = lister


async def own_transfers(session: AsyncSession, user_id: int) -> list[tuple[str, str, str]]:
    return [] if _own_transfers is None else await _own_transfers(session, user_id)


async def for_person(session: AsyncSession, kind: str, user_id: int, lang: str, *,
                     manual: bool = False) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """(choices per field, values to start with) for ``kind``'s form opened by this person."""
    spec = forms.form_spec(kind, identified=True)
    if spec is None:
        return {}, {}
    names = {f.name for f in spec.fields}
    choices: dict[str, list[tuple[str, str]]] = {}
    if "tracking_number" in names and not manual:
        own = await own_transfers(session, user_id)
        if own:
            choices["tracking_number"] = [(no, f"{no} · {zh if lang == 'zh' else en}") for no, zh, en in own]
    start: dict[str, Any] = {}
    user = (await session.execute(select(User.display_name, User.phone).where(User.id == user_id))).first()
    if user is not None:
        if user.phone and "contact_phone" in names:
            start["contact_phone"] = user.phone
        for name in NAME_FIELDS:
            if name in names and user.display_name:
                start[name] = user.display_name
    if "tracking_number" in choices:
        start["tracking_number"] = choices["tracking_number"][0][0]
    return choices, start
