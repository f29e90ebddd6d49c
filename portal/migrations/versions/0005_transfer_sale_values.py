"""the transfer keeps the sale's price and the lot's address it shows

The title transfer receives a confirmed sale as a value and no longer reads the listings'
tables; the tracking page's price and address are stored on the transfer (copied here for
transfers opened before).

Revision ID: 0005_transfer_sale_values
Revises: 0004_tracking_counter
Create Date: 2026-11-30 02:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_transfer_sale_values"
down_revision = "0004_tracking_counter"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.add_column(sa.Column("price", sa.Numeric(precision=16, scale=2), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=300), nullable=True))
    op.execute(
        "UPDATE transfer SET "
        "price = (SELECT sale.price FROM sale WHERE sale.id = transfer.sale_id), "
        "address = (SELECT lot.address FROM sale JOIN lot ON lot.id = sale.lot_id WHERE sale.id = transfer.sale_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.drop_column("address")
        batch.drop_column("price")
