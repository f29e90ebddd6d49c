"""sessions: a per-user session version (bumped by a trigger) and a per-transfer code version

``user_account.session_version`` rises whenever is_active, role, department or
password_hash change (a trigger, so SQL run by hand counts too); sessions issued under an
older version no longer hold. ``transfer.code_version`` rises when a verification code is
reissued; tracking grants issued under an older version no longer open the transfer.

Revision ID: 0007_sessions
Revises: 0006_throttle_counter
Create Date: 2026-11-30 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_sessions'
down_revision = '0006_throttle_counter'
branch_labels = None
depends_on = None

WATCHED = ("is_active", "role", "department", "password_hash")


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default=sa.text('1'), nullable=False))
    with op.batch_alter_table('transfer') as batch:
        batch.add_column(sa.Column('code_version', sa.Integer(), server_default=sa.text('1'), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in WATCHED)
        op.execute(
            "CREATE FUNCTION user_account_session_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF {changed} THEN NEW.session_version := GREATEST(NEW.session_version, OLD.session_version) + 1; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER user_account_session_version BEFORE UPDATE ON user_account "
            "FOR EACH ROW EXECUTE FUNCTION user_account_session_version()"
        )
    else:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in WATCHED)
        op.execute(
            f"CREATE TRIGGER user_account_session_version AFTER UPDATE OF {', '.join(WATCHED)} ON user_account "
            f"FOR EACH ROW WHEN {changed} BEGIN "
            "UPDATE user_account SET session_version = max(NEW.session_version, OLD.session_version) + 1 WHERE id = NEW.id; END"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS user_account_session_version" +
               (" ON user_account" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS user_account_session_version()")
    with op.batch_alter_table('transfer') as batch:
        batch.drop_column('code_version')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('session_version')
