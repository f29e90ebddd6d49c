"""Turning a submitted form into a queue item, exactly once per Idempotency-Key.

The key is settled by the database, not by looking first: the item and a row
``(scope, key, body_hash)`` go in together, and a unique constraint on (scope, key) makes
the second of two concurrent duplicates fail at insert time. The loser rolls back (its
item disappears with it) and answers with the winner's item, or with a conflict when the
same key came with a different body.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import forms, service
from backoffice.errors import NOT_FOUND, QueueError
from backoffice.models import SubmissionKey, WorkItem, parse_reference
from backoffice.registry import Verified
from backoffice.service import Actor

MAX_KEY = 200


class KeyReused(QueueError):
    """The same Idempotency-Key came back with a different body."""

    status = 409


KEY_REUSED = KeyReused("这个幂等键已用于另一份不同的提交。",
                       "This Idempotency-Key was already used for a different submission.")


def body_hash(kind: str, data: Any, channel: str, language: str, transcript: Any, citizen_id: int | None) -> str:
    """A stable digest of what was asked (key order and whitespace do not matter)."""
    canonical = msgspec.json.encode({"kind": kind, "data": data, "channel": channel, "language": language,
                                     "transcript": transcript, "citizen": citizen_id}, order="sorted")
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Submitted:
    item: WorkItem
    created: bool


async def existing(session: AsyncSession, scope: str, key: str, digest: str) -> Submitted | None:
    row = await session.scalar(select(SubmissionKey).where(SubmissionKey.scope == scope, SubmissionKey.key == key))
    if row is None:
        return None
    if row.body_hash != digest:
        raise KEY_REUSED
    item = await service.load(session, row.item_id)
    if item is None:  # pragma: no cover - items are never deleted
        raise NOT_FOUND
    return Submitted(item, created=False)


async def submit(
    session: AsyncSession,
    valid: forms.Validated,
    *,
    actor: Actor,
    citizen_id: int | None,
    channel: str,
    language: str,
    transcript: list[dict[str, str]] | None = None,
    verified: list[Verified] | None = None,
    idempotency: tuple[str, str, str] | None = None,
) -> Submitted:
    """Create the item for a validated form (or, for a dispute, reopen the disputed item).

    ``idempotency`` is (scope, key, body_hash). This commits on success and rolls back on a
    duplicate, so call it as the only write of its transaction.
    """
    if idempotency is not None:
        scope, key, digest = idempotency
        found = await existing(session, scope, key, digest)
        if found is not None:
            return found
    data = {k: v for k, v in valid.data.items() if k != "verification_code"}  # never stored
    for match in verified or ():  # objects the form names, as their sources spell them
        data.update(match.data)
        citizen_id = citizen_id if citizen_id is not None else match.owner_id
    if valid.kind == "dispute":
        target = parse_reference(data["reference"])
        if target is None or citizen_id is None:
            raise NOT_FOUND
        item = await service.dispute(session, target, Actor(citizen_id, actor.label, "citizen"), data["reason"])
    else:
        department = forms.department_for(valid.kind, data)
        assert department is not None
        item = await service.open_item(
            session, kind=valid.kind, department=department, actor=actor, data=data, citizen_id=citizen_id,
            subject=forms.subject_line(valid.kind, data), channel=channel, language=language,
            transcript=transcript,
        )
    if idempotency is not None:
        scope, key, digest = idempotency
        session.add(SubmissionKey(scope=scope, key=key, body_hash=digest, item_id=item.id))
        try:
            await session.flush()
        except IntegrityError:
            # A concurrent duplicate won the key: forget our item, answer with theirs.
            await session.rollback()
            found = await existing(session, scope, key, digest)
            if found is None:  # pragma: no cover - the winner rolled back after we lost: ask again
                raise KeyReused("请重试。", "Please retry.") from None
            return found
    await session.commit()
    return Submitted(item, created=True)
