"""incremental refresh: per-series input hashes and result runs, refit/carry counts, crossing-date CDFs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('forecast_runs') as batch:
        batch.add_column(sa.Column('series_refitted', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('series_carried', sa.Integer(), nullable=True))
    with op.batch_alter_table('run_series') as batch:
        batch.add_column(sa.Column('input_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('results_run_id', sa.Integer(), nullable=True))
    op.execute("UPDATE run_series SET results_run_id = run_id")  # every earlier run holds its own rows
    op.create_table(
        'crossing_cdf',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('series_key', sa.String(length=120), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('cdf', sa.Float(), nullable=False),
        sa.Column('p_above', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['forecast_runs.id'], name='fk_crossing_cdf_run_id_forecast_runs',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_key', 'threshold', 'date', name='pk_crossing_cdf'),
    )


def downgrade() -> None:
    op.drop_table('crossing_cdf')
    with op.batch_alter_table('run_series') as batch:
        batch.drop_column('results_run_id')
        batch.drop_column('input_hash')
    with op.batch_alter_table('forecast_runs') as batch:
        batch.drop_column('series_carried')
        batch.drop_column('series_refitted')
