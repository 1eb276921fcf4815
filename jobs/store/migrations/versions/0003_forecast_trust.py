"""forecast trust: chosen model or mixture, crossing status details

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = {
    'run_series': [
        sa.Column('weights', sa.Text(), nullable=True),
        sa.Column('skill', sa.Float(), nullable=True),
        sa.Column('skill_origins', sa.Integer(), nullable=True),
    ],
    'crossings': [
        sa.Column('latest_above', sa.Boolean(), nullable=True),
        sa.Column('probability_by_2027', sa.Float(), nullable=True),
        sa.Column('probability_by_2030', sa.Float(), nullable=True),
    ],
    'target_assessments': [
        sa.Column('basis', sa.String(length=20), nullable=True),
        sa.Column('evidence_date', sa.Date(), nullable=True),
    ],
    'backtest_scores': [
        sa.Column('crps_selection', sa.Float(), nullable=True),
        sa.Column('crps', sa.Float(), nullable=True),
        sa.Column('skill', sa.Float(), nullable=True),
        sa.Column('horizon_steps', sa.Integer(), nullable=True),
        sa.Column('weight', sa.Float(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
    ],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
