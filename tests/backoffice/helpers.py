"""Small helpers for the queue's tests: sign in as someone, send a form, read a version."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from backoffice.models import ItemMessage, Notification, WorkItem, parse_reference
from storage.audit import AuditEntry
from tests.conftest import TEST_TOKEN, csrf, login

Client = AsyncTestClient[Litestar]
BEARER = {"Authorization": f"Bearer {TEST_TOKEN}"}


async def sign_in(client: Client, user: User) -> None:
    client.cookies.clear()
    await login(client, user.email)


async def post(client: Client, url: str, data: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf(client)}, follow_redirects=False, **kw)


def form_value(html: str, action: str, name: str) -> str:
    """The value of hidden input ``name`` in the form posting to a URL ending with ``action``."""
    form = html.split(f'{action}"', 1)[1].split("</form>", 1)[0]
    match = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert match, f"no {name} in the {action} form"
    return match.group(1)


async def fresh(session: AsyncSession, ref_or_id: str | int) -> WorkItem:
    ident = parse_reference(ref_or_id) if isinstance(ref_or_id, str) else ref_or_id
    item = await session.scalar(select(WorkItem).where(WorkItem.id == ident)
                                .execution_options(populate_existing=True))
    assert item is not None
    return item


async def audit_actions(session: AsyncSession, item_id: int) -> list[str]:
    rows = await session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "work_item",
                                                                 AuditEntry.subject_id == item_id)
                                 .order_by(AuditEntry.id))
    return list(rows.all())


async def outbox_events(session: AsyncSession, item_id: int) -> list[str]:
    rows = await session.scalars(select(Notification.event).where(Notification.item_id == item_id)
                                 .order_by(Notification.id))
    return list(rows.all())


async def messages(session: AsyncSession, item_id: int) -> list[ItemMessage]:
    rows = await session.scalars(select(ItemMessage).where(ItemMessage.item_id == item_id).order_by(ItemMessage.id))
    return list(rows.all())


async def step_item(session: AsyncSession, step_id: int) -> WorkItem | None:
    return await session.scalar(select(WorkItem).where(WorkItem.source_type == "transfer_step",
                                                       WorkItem.source_id == step_id)
                                .execution_options(populate_existing=True))


def ref_from(location: str) -> str:
    match = re.search(r"(WI-\d+)", location)
    assert match, location
    return match.group(1)
