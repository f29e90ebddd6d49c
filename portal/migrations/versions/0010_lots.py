"""lots: kinds, rounds, dates, prices and the status lifecycle; joint pre-review requests and
findings (versions); which court a court clerk works at; who recorded a sale and when

Revision ID: 0010_lots
Revises: 0009_payouts
Create Date: 2026-11-30 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_lots"
down_revision = "0009_payouts"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _audit_columns(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("lot") as batch:
        batch.add_column(sa.Column("court_code", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("city", sa.String(length=40), server_default="", nullable=False))
        batch.add_column(sa.Column("district", sa.String(length=40), server_default="", nullable=False))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("round", sa.String(length=20), server_default="first", nullable=False))
        batch.add_column(sa.Column("deposit", sa.Numeric(precision=16, scale=2), nullable=True))
        batch.add_column(sa.Column("increment", sa.Numeric(precision=16, scale=2), nullable=True))
        batch.add_column(sa.Column("announced_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("bidding_starts_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("bidding_ends_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("platform", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("previous_lot_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("status_before_suspension", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("published_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch.create_foreign_key("fk_lot_previous_lot_id_lot", "lot", ["previous_lot_id"], ["id"])
        batch.create_unique_constraint("uq_lot_previous_lot_id", ["previous_lot_id"])
        batch.create_index("ix_lot_status_bidding", ["status", "bidding_starts_at"])
        batch.create_index("ix_lot_court_code", ["court_code", "id"])
        batch.create_index("ix_lot_city_district", ["city", "district"])

    with op.batch_alter_table("sale") as batch:
        batch.add_column(sa.Column("sold_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("recorded_by_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("tracking_no", sa.String(length=16), nullable=True))
        batch.create_foreign_key("fk_sale_recorded_by_id_user_account", "user_account", ["recorded_by_id"], ["id"])

    op.create_table(
        "lot_review_request",
        *_audit_columns("lot_review_request"),
        sa.Column("lot_id", sa.BigInteger(), sa.ForeignKey("lot.id", name="fk_lot_review_request_lot_id_lot"),
                  nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("requested_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(),
                  sa.ForeignKey("user_account.id", name="fk_lot_review_request_requested_by_id_user_account"),
                  nullable=True),
        sa.Column("answered_at", DateTimeUTC(timezone=True), nullable=True),
        sa.UniqueConstraint("lot_id", "department", name="uq_lot_review_request"),
    )
    op.create_index("ix_lot_review_request_lot_id", "lot_review_request", ["lot_id"])

    op.create_table(
        "lot_finding",
        *_audit_columns("lot_finding"),
        sa.Column("lot_id", sa.BigInteger(), sa.ForeignKey("lot.id", name="fk_lot_finding_lot_id_lot"),
                  nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("signed_by_id", sa.BigInteger(),
                  sa.ForeignKey("user_account.id", name="fk_lot_finding_signed_by_id_user_account"), nullable=True),
        sa.Column("signed_by_name", sa.String(length=120), nullable=False),
        sa.Column("signed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("after_publication", sa.Boolean(), nullable=False),
        sa.Column("changed", JSON, nullable=True),
        sa.UniqueConstraint("lot_id", "department", "version", name="uq_lot_finding_version"),
    )
    op.create_index("ix_lot_finding_lot_id", "lot_finding", ["lot_id"])

    op.create_table(
        "lot_court_staff",
        *_audit_columns("lot_court_staff"),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("user_account.id", name="fk_lot_court_staff_user_id_user_account"), nullable=False),
        sa.Column("court_code", sa.String(length=12), nullable=False),
        sa.UniqueConstraint("user_id", name="uq_lot_court_staff_user_id"),
    )


def downgrade() -> None:
    op.drop_table("lot_court_staff")
    op.drop_index("ix_lot_finding_lot_id", table_name="lot_finding")
    op.drop_table("lot_finding")
    op.drop_index("ix_lot_review_request_lot_id", table_name="lot_review_request")
    op.drop_table("lot_review_request")
    with op.batch_alter_table("sale") as batch:
        batch.drop_constraint("fk_sale_recorded_by_id_user_account", type_="foreignkey")
        batch.drop_column("tracking_no")
        batch.drop_column("recorded_by_id")
        batch.drop_column("sold_at")
    with op.batch_alter_table("lot") as batch:
        batch.drop_index("ix_lot_city_district")
        batch.drop_index("ix_lot_court_code")
        batch.drop_index("ix_lot_status_bidding")
        batch.drop_constraint("uq_lot_previous_lot_id", type_="unique")
        batch.drop_constraint("fk_lot_previous_lot_id_lot", type_="foreignkey")
        for column in ("version", "closed_at", "published_at", "status_reason", "status_before_suspension",
                       "previous_lot_id", "platform", "bidding_ends_at", "bidding_starts_at", "announced_on",
                       "increment", "deposit", "round", "description", "district", "city", "court_code"):
            batch.drop_column(column)
