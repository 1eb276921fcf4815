"""evidence: observation kinds, reliability, policy claim status, target measure details

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('observations') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), server_default='exact', nullable=False))
        batch.add_column(sa.Column('value_high', sa.Float(), nullable=True))
        batch.add_column(sa.Column('quote', sa.Text(), nullable=True))
        batch.add_column(sa.Column('reliability', sa.String(length=20), nullable=True))
    with op.batch_alter_table('policies') as batch:
        batch.add_column(sa.Column('claim', sa.String(length=20), server_default='official', nullable=False))
    with op.batch_alter_table('targets') as batch:
        batch.add_column(sa.Column('bias', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('encoding', sa.Text(), nullable=True))
        batch.add_column(sa.Column('missing_evidence', sa.Text(), nullable=True))
        batch.add_column(sa.Column('related_series', sa.Text(), nullable=True))
        batch.add_column(sa.Column('origin', sa.String(length=20), server_default='curated', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('targets') as batch:
        for name in ('origin', 'related_series', 'missing_evidence', 'encoding', 'bias'):
            batch.drop_column(name)
    with op.batch_alter_table('policies') as batch:
        batch.drop_column('claim')
    with op.batch_alter_table('observations') as batch:
        for name in ('reliability', 'quote', 'value_high', 'kind'):
            batch.drop_column(name)
