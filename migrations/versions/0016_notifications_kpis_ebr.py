"""notifications, KPI facts, electronic batch record and instrument import (issue 12)

Revision ID: 0016_notifications_kpis_ebr
Revises: 0015_dispensing_logistics
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


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


def _ebr_kpis_imports_up():
    op.create_table('kpi_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.CheckConstraint('id = 1', name='ck_kpi_refresh_single_row'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('qc_import',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='PREVIEWED', nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_valid', sa.Integer(), nullable=False),
    sa.Column('rows_applied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('preview', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('CSV', 'API')", name='ck_qc_import_source'),
    sa.CheckConstraint("status IN ('PREVIEWED', 'APPLIED')", name='ck_qc_import_status'),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ebr_master',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='DRAFT', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_by_id', sa.Integer(), nullable=True),
    sa.Column('signature_id', sa.BigInteger(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status = 'DRAFT' OR signature_id IS NOT NULL", name='ck_ebr_master_signed'),
    sa.CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'RETIRED')", name='ck_ebr_master_status'),
    sa.ForeignKeyConstraint(['activated_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['signature_id'], ['esignature.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('product_id', 'version', name='uq_ebr_master_product_version')
    )
    with op.batch_alter_table('ebr_master', schema=None) as batch_op:
        batch_op.create_index('uq_ebr_master_one_active', ['product_id'], unique=True, postgresql_where=sa.text("status = 'ACTIVE'"))
    op.create_table('ebr_master_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('master_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('instruction', sa.Text(), server_default='', nullable=False),
    sa.Column('value_label', sa.String(length=100), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('expected_value', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('lower_limit', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('upper_limit', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('is_yield', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('lower_limit IS NULL OR upper_limit IS NULL OR lower_limit <= upper_limit', name='ck_ebr_master_step_limits'),
    sa.ForeignKeyConstraint(['master_id'], ['ebr_master.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('master_id', 'seq', name='uq_ebr_master_step_seq')
    )
    op.create_table('kpi_batch_fact',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('eos_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lead_min', sa.Integer(), nullable=True),
    sa.Column('planned_corrected_mbq', sa.Numeric(precision=14, scale=1), nullable=True),
    sa.Column('actual_mbq', sa.Numeric(precision=14, scale=1), nullable=True),
    sa.Column('dispensed_eos_mbq', sa.Numeric(precision=14, scale=1), nullable=True),
    sa.Column('qc_first_pass', sa.Boolean(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('batch_id')
    )
    with op.batch_alter_table('kpi_batch_fact', schema=None) as batch_op:
        batch_op.create_index('ix_kpi_batch_fact_day_product', ['day', 'product_id'], unique=False)
    op.create_table('kpi_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('batches', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('produced_mbq', sa.Numeric(precision=16, scale=1), nullable=True),
    sa.Column('dispensed_eos_mbq', sa.Numeric(precision=16, scale=1), nullable=True),
    sa.Column('orders_due', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('orders_on_time', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('orders_in_full', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('orders_otif', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('producer_cancelled', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('day', 'product_id')
    )
    op.create_table('batch_ebr_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('master_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('instruction', sa.Text(), server_default='', nullable=False),
    sa.Column('value_label', sa.String(length=100), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('expected_value', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('lower_limit', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('upper_limit', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('is_yield', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='PENDING', nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('out_of_limits', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('corrections', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_by_name', sa.String(length=200), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deviation_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'SKIPPED' OR note IS NOT NULL", name='ck_batch_ebr_step_skip_note'),
    sa.CheckConstraint("status = 'PENDING' OR done_at IS NOT NULL", name='ck_batch_ebr_step_done'),
    sa.CheckConstraint("status IN ('PENDING', 'DONE', 'SKIPPED')", name='ck_batch_ebr_step_status'),
    sa.CheckConstraint('NOT out_of_limits OR note IS NOT NULL', name='ck_batch_ebr_step_ool_note'),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['deviation_id'], ['deviation.id'], ),
    sa.ForeignKeyConstraint(['done_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['master_id'], ['ebr_master.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'seq', name='uq_batch_ebr_step_seq')
    )


def _ebr_kpis_imports_down():
    op.drop_table('batch_ebr_step')
    with op.batch_alter_table('kpi_batch_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_kpi_batch_fact_day_product')
    op.drop_table('kpi_daily')
    op.drop_table('kpi_batch_fact')
    op.drop_table('ebr_master_step')
    with op.batch_alter_table('ebr_master', schema=None) as batch_op:
        batch_op.drop_index('uq_ebr_master_one_active', postgresql_where=sa.text("status = 'ACTIVE'"))
    op.drop_table('ebr_master')
    op.drop_table('qc_import')
    op.drop_table('kpi_refresh')


def upgrade():
    _notifications_up()
    _ebr_kpis_imports_up()


def downgrade():
    _ebr_kpis_imports_down()
    _notifications_down()
