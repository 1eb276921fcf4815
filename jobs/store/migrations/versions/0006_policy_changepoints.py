"""policy changepoints: which curated policy dates each series' Prophet models were offered

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run_series') as batch:
        batch.add_column(sa.Column('policy_changepoints', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('run_series') as batch:
        batch.drop_column('policy_changepoints')
