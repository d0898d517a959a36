"""notifications, KPI facts, electronic batch record and instrument import (issue 12)

Revision ID: 0016_notifications_kpis_ebr
Revises: 0015_dispensing_logistics
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_notifications_kpis_ebr'
down_revision = '0015_dispensing_logistics'
branch_labels = None
depends_on = None


def _notifications_up():
    op.add_column('notification', sa.Column('record_url', sa.String(length=500), nullable=True))
    op.add_column('notification', sa.Column('language', sa.String(length=2), server_default='en', nullable=False))
    op.alter_column('email_outbox', 'transport', existing_type=sa.String(length=16), nullable=True)
    op.add_column('email_outbox', sa.Column('event_type', sa.String(length=64), nullable=True))
    op.add_column('email_outbox', sa.Column('status', sa.String(length=16), server_default='PENDING', nullable=False))
    op.add_column('email_outbox', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('email_outbox', sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.add_column('email_outbox', sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('email_outbox', sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('email_outbox', sa.Column('last_error', sa.String(length=300), nullable=True))
    # rows written before this migration were written only once sent
    op.execute("UPDATE email_outbox SET status = 'SENT', attempts = 1, sent_at = created_at")
    op.create_index('ix_email_outbox_status_next', 'email_outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_table(
        'email_delivery',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('outbox_id', sa.BigInteger(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('transport', sa.String(length=16), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['email_outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_email_delivery_outbox_id'), 'email_delivery', ['outbox_id'], unique=False)
    op.create_table(
        'notification_template',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("language IN ('en', 'ar')", name='ck_notification_template_language'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_type', 'language', name='uq_notification_template_event_lang'),
    )
    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=2), server_default='en', nullable=False),
        sa.Column('email_off', sa.Text(), server_default='', nullable=False),
        sa.Column('email_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("language IN ('en', 'ar')", name='ck_notification_preference_language'),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )


def _notifications_down():
    op.drop_table('notification_preference')
    op.drop_table('notification_template')
    op.drop_index(op.f('ix_email_delivery_outbox_id'), table_name='email_delivery')
    op.drop_table('email_delivery')
    op.drop_index('ix_email_outbox_status_next', table_name='email_outbox')
    op.execute("DELETE FROM email_outbox WHERE status <> 'SENT'")
    for col in ('last_error', 'sent_at', 'claimed_at', 'next_attempt_at', 'attempts', 'status', 'event_type'):
        op.drop_column('email_outbox', col)
    op.execute("UPDATE email_outbox SET transport = 'outbox' WHERE transport IS NULL")
    op.alter_column('email_outbox', 'transport', existing_type=sa.String(length=16), nullable=False)
    op.drop_column('notification', 'language')
    op.drop_column('notification', 'record_url')


def upgrade():
    _notifications_up()


def downgrade():
    _notifications_down()
