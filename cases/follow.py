"""Following a case: a signed-in party is told of each new node (through the portal's outbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from cases.models import CaseFollow
from storage.audit import record_audit


async def is_following(session: Any, case_id: int, user_id: int) -> bool:
    return bool(await session.scalar(select(CaseFollow.active).where(CaseFollow.case_id == case_id,
                                                                     CaseFollow.user_id == user_id)))


async def set_following(session: AsyncSession, case_id: int, principal: Principal, follow: bool, lang: str) -> None:
    """Start or stop following (idempotent). Does not commit."""
    row = await session.scalar(select(CaseFollow).where(CaseFollow.case_id == case_id,
                                                        CaseFollow.user_id == principal.user_id))
    if row is None:
        if not follow:
            return
        row = CaseFollow(case_id=case_id, user_id=principal.user_id, language=lang, active=True)
        session.add(row)
    elif row.active == follow and row.language == lang:
        return
    else:
        row.active = follow
        row.language = lang
    await session.flush()
    record_audit(session, actor_id=principal.user_id, actor_label=principal.label, subject_type="enforcement_case",
                 subject_id=case_id, action="case.follow" if follow else "case.unfollow")


async def followers(session: AsyncSession, case_id: int) -> list[tuple[int, str]]:
    """(user id, language) of everyone following the case."""
    rows = (await session.execute(select(CaseFollow.user_id, CaseFollow.language)
                                  .where(CaseFollow.case_id == case_id, CaseFollow.active.is_(True)))).all()
    return [(r[0], r[1]) for r in rows]
