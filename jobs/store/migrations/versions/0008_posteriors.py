"""stored posteriors: the posterior draws of each final Prophet fit made with NUTS, so a
refit that reuses its model choice can update them by importance sampling; per run how many
series were updated so

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'posteriors',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('series_key', sa.String(length=120), nullable=False),
        sa.Column('model', sa.String(length=60), nullable=False),
        sa.Column('posterior', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['forecast_runs.id'], name='fk_posteriors_run_id_forecast_runs',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'series_key', 'model', name='pk_posteriors'),
    )
    with op.batch_alter_table('forecast_runs') as batch:
        batch.add_column(sa.Column('series_posterior_updated', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('forecast_runs') as batch:
        batch.drop_column('series_posterior_updated')
    op.drop_table('posteriors')
