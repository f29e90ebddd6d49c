"""texts in their language, and the transfer's court (whose office the tracking page names): English titles and addresses of lots and transfers; a step's free
text (blocked reason, note) with the language it was written in and any other-language version

``transfer_step.texts`` holds, per text (``blocked_reason``, ``note``), ``{"lang": <written in>,
"zh": …, "en": …}``; the ``blocked_reason`` and ``note`` columns keep the text as written.

Revision ID: 0012_texts_in_language
Revises: 0010_lots
Create Date: 2026-11-30 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012_texts_in_language'
down_revision = '0010_lots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lot') as batch:
        batch.add_column(sa.Column('title_en', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('address_en', sa.String(length=300), nullable=True))
    with op.batch_alter_table('transfer') as batch:
        batch.add_column(sa.Column('court', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('title_en', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('address_en', sa.String(length=300), nullable=True))
    with op.batch_alter_table('transfer_step') as batch:
        batch.add_column(sa.Column('texts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transfer_step') as batch:
        batch.drop_column('texts')
    with op.batch_alter_table('transfer') as batch:
        batch.drop_column('address_en')
        batch.drop_column('title_en')
        batch.drop_column('court')
    with op.batch_alter_table('lot') as batch:
        batch.drop_column('address_en')
        batch.drop_column('title_en')
