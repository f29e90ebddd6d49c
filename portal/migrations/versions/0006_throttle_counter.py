"""throttle_counter: attempt counters that one SQL statement increments and returns

Revision ID: 0006_throttle_counter
Revises: 0005_transfer_sale_values
Create Date: 2026-11-30 01:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_throttle_counter'
down_revision = '0005_transfer_sale_values'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttle_counter',
    sa.Column('counter_key', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('counter_key', name=op.f('pk_throttle_counter'))
    )
    op.create_index(op.f('ix_throttle_counter_expires_at'), 'throttle_counter', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_throttle_counter_expires_at'), table_name='throttle_counter')
    op.drop_table('throttle_counter')
