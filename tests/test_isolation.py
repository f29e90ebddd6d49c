"""Each test has a database of its own: what one test writes, no other test sees."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from tests.conftest import Factory
from title_transfer.models import Transfer


@pytest.mark.parametrize("round_", [1, 2])
async def test_every_test_starts_from_an_empty_migrated_database(round_: int, factory: Factory,
                                                                 session: AsyncSession) -> None:
    # Run twice: if the rounds shared a database, the second would find the first one's rows.
    assert await session.scalar(select(func.count()).select_from(User)) == 0
    assert await session.scalar(select(func.count()).select_from(Transfer)) == 0
    await factory.transfer()
    assert await session.scalar(select(func.count()).select_from(Transfer)) == 1
