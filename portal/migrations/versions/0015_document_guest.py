"""document_guest: uploads by a case's party without an account (their quota key)

Revision ID: 0015_document_guest
Revises: 0014_lotpub
Create Date: 2026-12-06 05:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_document_guest"
down_revision = "0014_lotpub"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("guest_key", sa.String(length=120), nullable=True))
    op.create_index("ix_document_guest_key", "document", ["guest_key"])


def downgrade() -> None:
    op.drop_index("ix_document_guest_key", table_name="document")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("guest_key")
