"""stored model choice: per series the choice a backtest made (JSON) and the run holding its
backtest scores; per run how many series reused their stored choice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('forecast_runs') as batch:
        batch.add_column(sa.Column('series_choice_reused', sa.Integer(), nullable=True))
    with op.batch_alter_table('run_series') as batch:
        batch.add_column(sa.Column('choice', sa.Text(), nullable=True))
        batch.add_column(sa.Column('choice_run_id', sa.Integer(), nullable=True))
    op.execute("UPDATE run_series SET choice_run_id = results_run_id")  # every earlier fit chose on its own


def downgrade() -> None:
    with op.batch_alter_table('run_series') as batch:
        batch.drop_column('choice_run_id')
        batch.drop_column('choice')
    with op.batch_alter_table('forecast_runs') as batch:
        batch.drop_column('series_choice_reused')
