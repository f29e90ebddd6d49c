"""The runtime database role owns nothing: it cannot drop the audit trigger or rewrite history."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.cli import grant_runtime_role
from portal.settings import Settings


async def test_the_runtime_role_reads_and_writes_rows_but_cannot_touch_the_schema(settings: Settings,
                                                                                 engine: AsyncEngine) -> None:
    if not settings.database.is_postgres:
        pytest.skip("roles are a PostgreSQL matter")
    role = f"portal_rt_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    try:
        await grant_runtime_role(settings, role)
        async with engine.connect() as conn:
            await conn.execute(text(f"SET ROLE {role}"))
            await conn.execute(text("SELECT count(*) FROM user_account"))
            await conn.execute(text("INSERT INTO audit_log (at, actor_label, subject_type, subject_id, action) "
                                    "VALUES (now(), 'test', 'test', 1, 'probe')"))
            for forbidden in ("DROP TRIGGER audit_log_no_rewrite ON audit_log",
                              "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                              "UPDATE audit_log SET action = 'x'",
                              "TRUNCATE audit_log",
                              "DROP TABLE user_account",
                              "UPDATE alembic_version SET version_num = 'x'"):
                await conn.execute(text("SAVEPOINT probe"))
                with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                    await conn.execute(text(forbidden))
                await conn.execute(text("ROLLBACK TO SAVEPOINT probe"))
            await conn.rollback()
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP OWNED BY {role}"))
            await conn.execute(text(f"DROP ROLE {role}"))
