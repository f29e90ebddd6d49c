"""back-office queue: work items, their threads, submission keys, notification outbox

History of items and messages goes to the existing audit_log (append-only on PostgreSQL
since 0001); no second audit table.

Revision ID: 0002_backoffice
Revises: 0001
Create Date: 2026-11-25 09:19:01.863609
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_backoffice'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('work_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('citizen_id', sa.BigInteger(), nullable=True),
    sa.Column('source_type', sa.String(length=40), nullable=True),
    sa.Column('source_id', sa.BigInteger(), nullable=True),
    sa.Column('due_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.BigInteger(), nullable=True),
    sa.Column('claimed_by_label', sa.String(length=120), nullable=True),
    sa.Column('lease_expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('first_claimed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('closed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('reopened_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('correction_fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['user_account.id'], name=op.f('fk_work_item_citizen_id_user_account')),
    sa.ForeignKeyConstraint(['claimed_by'], ['user_account.id'], name=op.f('fk_work_item_claimed_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_item')),
    sa.UniqueConstraint('source_type', 'source_id', name='uq_work_item_source')
    )
    op.create_index('ix_work_item_citizen', 'work_item', ['citizen_id', 'id'], unique=False)
    op.create_index('ix_work_item_department_state', 'work_item', ['department', 'state'], unique=False)
    op.create_index('ix_work_item_kind_closed', 'work_item', ['kind', 'closed_at'], unique=False)
    op.create_index('ix_work_item_queue', 'work_item', ['department', sa.literal_column('priority DESC'), 'due_at', 'id'], unique=False, postgresql_where=sa.text("state IN ('new', 'reopened', 'claimed')"), sqlite_where=sa.text("state IN ('new', 'reopened', 'claimed')"))
    op.create_table('notification_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('recipient_kind', sa.String(length=12), nullable=False),
    sa.Column('recipient_id', sa.BigInteger(), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('available_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sent_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['work_item.id'], name=op.f('fk_notification_outbox_item_id_work_item'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox'))
    )
    op.create_index('ix_notification_outbox_due', 'notification_outbox', ['state', 'available_at'], unique=False)
    op.create_table('submission_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['work_item.id'], name=op.f('fk_submission_key_item_id_work_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_key')),
    sa.UniqueConstraint('scope', 'key', name='uq_submission_key_scope_key')
    )
    op.create_table('work_item_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('author_kind', sa.String(length=10), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('author_label', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('visible_to_citizen', sa.Boolean(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['work_item.id'], name=op.f('fk_work_item_message_item_id_work_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_item_message'))
    )
    op.create_index('ix_work_item_message_item', 'work_item_message', ['item_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_work_item_message_item', table_name='work_item_message')
    op.drop_table('work_item_message')
    op.drop_table('submission_key')
    op.drop_index('ix_notification_outbox_due', table_name='notification_outbox')
    op.drop_table('notification_outbox')
    op.drop_index('ix_work_item_queue', table_name='work_item', postgresql_where=sa.text("state IN ('new', 'reopened', 'claimed')"), sqlite_where=sa.text("state IN ('new', 'reopened', 'claimed')"))
    op.drop_index('ix_work_item_kind_closed', table_name='work_item')
    op.drop_index('ix_work_item_department_state', table_name='work_item')
    op.drop_index('ix_work_item_citizen', table_name='work_item')
    op.drop_table('work_item')
