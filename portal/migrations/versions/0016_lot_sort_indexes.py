"""lot_sort_indexes: one index per search sort order, so a broad search's page stops at its LIMIT

Revision ID: 0016_lot_sort_indexes
Revises: 0015_document_guest
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_lot_sort_indexes"
down_revision = "0015_document_guest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite has no NULLS LAST in an index, and its DESC already puts NULLs last: the same order.
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index("ix_lot_starts", "lot", ["bidding_starts_at", "id"])
    op.create_index("ix_lot_starts_desc", "lot", [sa.literal_column(f"bidding_starts_at DESC{nulls_last}"),
                                                  sa.literal_column("id DESC")])
    op.create_index("ix_lot_price", "lot", ["starting_price", "id"])
    op.create_index("ix_lot_kind_price", "lot", ["asset_kind", "starting_price", "id"])
    op.create_index("ix_lot_newest", "lot", [sa.literal_column(f"published_at DESC{nulls_last}"),
                                             sa.literal_column("id DESC")])


def downgrade() -> None:
    op.drop_index("ix_lot_newest", table_name="lot")
    op.drop_index("ix_lot_kind_price", table_name="lot")
    op.drop_index("ix_lot_price", table_name="lot")
    op.drop_index("ix_lot_starts_desc", table_name="lot")
    op.drop_index("ix_lot_starts", table_name="lot")
