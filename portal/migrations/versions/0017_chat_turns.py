"""chat_turns: the chat's turns append-only by conversation, out of the server-side session

Each chat message rewrote the whole session (its last 40 turns) before; now it appends its
new turns here (storage/chat_log.py) and the session keeps only the conversation id.

Revision ID: 0017_chat_turns
Revises: 0016_lot_sort_indexes
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_chat_turns"
down_revision = "0016_lot_sort_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_turn",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("who", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_turn")),
    )
    op.create_index("ix_chat_turn_conversation", "chat_turn", ["conversation", "id"])
    op.create_index("ix_chat_turn_at", "chat_turn", ["at"])


def downgrade() -> None:
    op.drop_index("ix_chat_turn_at", table_name="chat_turn")
    op.drop_index("ix_chat_turn_conversation", table_name="chat_turn")
    op.drop_table("chat_turn")
