"""history and alerts: target proposals from feeds, alerts after each run, webhook deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'target_proposals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('policy_id', sa.String(length=120), nullable=False),
        sa.Column('sentence', sa.Text(), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('sector', sa.String(length=40), nullable=True),
        sa.Column('technology', sa.String(length=40), nullable=True),
        sa.Column('pattern', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=20), server_default='unreviewed', nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=True),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name='fk_target_proposals_policy_id_policies',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_target_proposals'),
        sa.UniqueConstraint('policy_id', 'threshold', 'deadline', name='uq_target_proposals_item'),
    )
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('previous_run_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=True),
        sa.Column('series_key', sa.String(length=120), nullable=True),
        sa.Column('threshold', sa.Float(), nullable=True),
        sa.Column('policy_id', sa.String(length=120), nullable=True),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=True),
        sa.Column('change', sa.Float(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['forecast_runs.id'], name='fk_alerts_run_id_forecast_runs',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_alerts'),
        sa.UniqueConstraint('run_id', 'key', name='uq_alerts_run_key'),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('alerts', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('payload_sha256', sa.String(length=64), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['forecast_runs.id'], name='fk_webhook_deliveries_run_id_forecast_runs',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_webhook_deliveries'),
    )


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('alerts')
    op.drop_table('target_proposals')
