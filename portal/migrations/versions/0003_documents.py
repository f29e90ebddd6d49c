"""documents: metadata of every stored document (the bytes live in the document store)

Storage keys are server-generated and unique; owner and uploader are set to NULL if the
user row goes, the document stays. Uploads and deletions are audited in audit_log.

Revision ID: 0003_documents
Revises: 0002_backoffice
Create Date: 2026-11-25 09:23:17.991905
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0003_documents'
down_revision = '0002_backoffice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('sale_ruling', 'assistance_notice', 'tax_receipt', 'title_certificate', 'lot_photo', 'announcement', 'pre_review_report', 'id_copy', 'contract', 'evidence', 'other')", name=op.f('ck_document_kind')),
    sa.CheckConstraint("subject_type IN ('transfer', 'transfer_step', 'lot', 'case', 'work_item')", name=op.f('ck_document_subject_type')),
    sa.CheckConstraint("visibility <> 'department' OR department IS NOT NULL", name=op.f('ck_document_department_needed')),
    sa.CheckConstraint("visibility IN ('owner', 'department', 'public')", name=op.f('ck_document_visibility')),
    sa.CheckConstraint('size > 0', name=op.f('ck_document_size_positive')),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_document_owner_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user_account.id'], name=op.f('fk_document_uploaded_by_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_document_storage_key'))
    )
    op.create_index('ix_document_owner_id', 'document', ['owner_id'], unique=False)
    op.create_index('ix_document_subject', 'document', ['subject_type', 'subject_id'], unique=False)
    op.create_index('ix_document_uploaded_by', 'document', ['uploaded_by'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_document_uploaded_by', table_name='document')
    op.drop_index('ix_document_subject', table_name='document')
    op.drop_index('ix_document_owner_id', table_name='document')
    op.drop_table('document')
