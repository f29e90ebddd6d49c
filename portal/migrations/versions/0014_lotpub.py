"""lotpub: who follows which lot; indexes for the public lot search

Revision ID: 0014_lotpub
Revises: 0012_texts_in_language
Create Date: 2026-11-30 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0014_lotpub"
down_revision = "0012_texts_in_language"
branch_labels = None
depends_on = None

OPEN = "status IN ('announced', 'bidding')"  # what the search lists by default


def upgrade() -> None:
    op.create_table(
        "lot_follow",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("user_account.id", name="fk_lot_follow_user_id_user_account", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("lot_id", sa.BigInteger(), sa.ForeignKey("lot.id", name="fk_lot_follow_lot_id_lot", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lot_follow"),
        sa.UniqueConstraint("user_id", "lot_id", name="uq_lot_follow_user_lot"),
    )
    op.create_index("ix_lot_follow_lot_id", "lot_follow", ["lot_id"])
    op.create_index("ix_lot_kind_status_starts", "lot", ["asset_kind", "status", "bidding_starts_at"])
    op.create_index("ix_lot_status_price", "lot", ["status", "starting_price"])
    op.create_index("ix_lot_city_kind_status_price", "lot", ["city", "asset_kind", "status", "starting_price"])
    op.create_index("ix_lot_open_starts", "lot", ["bidding_starts_at", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_lot_open_city_kind_price", "lot", ["city", "asset_kind", "starting_price", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_lot_open_city_kind_price", table_name="lot")
    op.drop_index("ix_lot_open_starts", table_name="lot")
    op.drop_index("ix_lot_city_kind_status_price", table_name="lot")
    op.drop_index("ix_lot_status_price", table_name="lot")
    op.drop_index("ix_lot_kind_status_starts", table_name="lot")
    op.drop_index("ix_lot_follow_lot_id", table_name="lot_follow")
    op.drop_table("lot_follow")
