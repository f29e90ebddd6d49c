"""tracking numbers safe under concurrency: a per-year counter table (SQLite)

PostgreSQL hands out tracking numbers from a sequence per year, created by the portal the
first time a year needs one (starting after the highest number already taken); this table
is what SQLite bumps atomically instead. Created on both so the schema is one.

Revision ID: 0004_tracking_counter
Revises: 0003_documents
Create Date: 2026-11-30 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_tracking_counter"
down_revision = "0003_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_tracking_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_transfer_tracking_counter")),
    )


def downgrade() -> None:
    op.drop_table("transfer_tracking_counter")
