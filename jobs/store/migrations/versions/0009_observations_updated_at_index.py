"""an index on observations.updated_at: the app's freshness stamp takes max(updated_at) on
every rerun, a full scan of the observations without it (0.13 s of SQLite's 0.51 s stamp at
166,732 observations under load; with it 0.03 s, benchmarks/README.md)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_observations_updated_at', 'observations', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_observations_updated_at', table_name='observations')
