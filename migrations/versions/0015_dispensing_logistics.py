"""dispensing, logistics and genealogy: dose units, labels, packages, shipments, custody, material lots, genealogy edges, recalls (issue 11)

genealogy_edge, batch_material_lot and shipment_custody refuse UPDATE, DELETE and TRUNCATE
(refuse_change() from 0001). transport_a2 is seeded with the A2 value per nuclide and its source
(IAEA SSR-6 (Rev.1) Table 2; Zr-89 from Table 3, to be verified by the radiation protection officer).

Revision ID: 0015_dispensing_logistics
Revises: 0014_hardening
Create Date: 2026-11-29

"""
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0015_dispensing_logistics'
down_revision = '0014_hardening'
branch_labels = None
depends_on = None

A2_ROWS = [
    ("C-11", "0.6", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("N-13", "0.6", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("O-15", "0.6", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("F-18", "0.6", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("Cu-64", "1", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("Ga-68", "0.5", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("Tc-99m", "4", "IAEA SSR-6 (Rev.1) 2018, Table 2"),
    ("Zr-89", "0.02", "IAEA SSR-6 (Rev.1) 2018, Table 3 (nuclide not listed in Table 2) - verify"),
]
APPEND_ONLY = ("genealogy_edge", "batch_material_lot", "shipment_custody")


def upgrade():
    op.create_table('genealogy_edge',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('parent_type', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=False),
    sa.Column('child_type', sa.String(length=16), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.CheckConstraint("child_type IN ('LOT', 'BATCH', 'DOSE', 'SHIPMENT')", name='ck_genealogy_edge_child_type'),
    sa.CheckConstraint("parent_type IN ('LOT', 'BATCH', 'DOSE', 'SHIPMENT')", name='ck_genealogy_edge_parent_type'),
    sa.CheckConstraint('NOT (parent_type = child_type AND parent_id = child_id)', name='ck_genealogy_edge_not_self'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_genealogy_edge_child', 'genealogy_edge', ['child_type', 'child_id'], unique=False)
    op.create_index('ix_genealogy_edge_parent', 'genealogy_edge', ['parent_type', 'parent_id'], unique=False)
    op.create_table('transport_a2',
    sa.Column('nuclide_symbol', sa.String(length=16), nullable=False),
    sa.Column('a2_tbq', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.CheckConstraint('a2_tbq > 0', name='ck_transport_a2_positive'),
    sa.PrimaryKeyConstraint('nuclide_symbol'),
    info={'seeded': True}
    )
    op.create_table('recall',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recall_no', sa.String(length=24), nullable=False),
    sa.Column('start_type', sa.String(length=16), nullable=False),
    sa.Column('start_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('automatic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='OPEN', nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_name', sa.String(length=200), nullable=False),
    sa.CheckConstraint("start_type IN ('LOT', 'BATCH')", name='ck_recall_start_type'),
    sa.CheckConstraint("status IN ('OPEN', 'CLOSED')", name='ck_recall_status'),
    sa.ForeignKeyConstraint(['opened_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recall_no')
    )
    op.create_index('ix_recall_start', 'recall', ['start_type', 'start_id'], unique=False)
    op.create_table('shipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_no', sa.String(length=24), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='PLANNED', nullable=False),
    sa.Column('courier', sa.String(length=120), nullable=True),
    sa.Column('planned_departure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.String(length=200), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.CheckConstraint("status <> 'CANCELLED' OR cancel_reason IS NOT NULL", name='ck_shipment_cancel_reason'),
    sa.CheckConstraint("status <> 'DELIVERED' OR (delivered_at IS NOT NULL AND received_by IS NOT NULL)", name='ck_shipment_delivered_fields'),
    sa.CheckConstraint("status IN ('PLANNED', 'PACKED', 'DISPATCHED', 'DELIVERED', 'CANCELLED')", name='ck_shipment_status'),
    sa.CheckConstraint("status NOT IN ('DISPATCHED', 'DELIVERED') OR dispatched_at IS NOT NULL", name='ck_shipment_dispatched_at'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('shipment_no')
    )
    op.create_index('ix_shipment_customer', 'shipment', ['customer_id', 'status'], unique=False)
    op.create_index('ix_shipment_status', 'shipment', ['status', 'planned_departure_at'], unique=False)
    op.create_table('package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('surface_dose_rate_msv_h', sa.Numeric(precision=10, scale=4), nullable=False),
    sa.Column('dose_rate_1m_msv_h', sa.Numeric(precision=10, scale=5), nullable=False),
    sa.Column('transport_index', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('un_number', sa.String(length=16), nullable=False),
    sa.Column('total_activity_mbq', sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column('packed_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('packed_by_name', sa.String(length=200), nullable=False),
    sa.CheckConstraint("category IN ('I-WHITE', 'II-YELLOW', 'III-YELLOW')", name='ck_package_category'),
    sa.CheckConstraint('surface_dose_rate_msv_h >= 0 AND dose_rate_1m_msv_h >= 0', name='ck_package_rates'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_package_shipment', 'package', ['shipment_id'], unique=False)
    op.create_table('shipment_custody',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('PACKED', 'HANDED_TO_COURIER', 'RECEIVED')", name='ck_shipment_custody_kind'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_shipment_custody_kind', 'shipment_custody', ['shipment_id', 'kind'], unique=True)
    op.create_table('batch_material_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('quantity > 0', name='ck_batch_material_lot_quantity'),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['lot_id'], ['material_lot.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_batch_material_lot_batch', 'batch_material_lot', ['batch_id'], unique=False)
    op.create_index('ix_batch_material_lot_lot', 'batch_material_lot', ['lot_id'], unique=False)
    op.create_table('dose_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('activity_at_calibration_mbq', sa.Numeric(precision=12, scale=1), nullable=False),
    sa.Column('calibration_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected_activity_mbq', sa.Numeric(precision=12, scale=1), nullable=True),
    sa.Column('measured_activity_mbq', sa.Numeric(precision=12, scale=1), nullable=True),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reading_deviation', sa.Numeric(precision=8, scale=5), nullable=True),
    sa.Column('reading_note', sa.Text(), nullable=True),
    sa.Column('volume_ml', sa.Numeric(precision=8, scale=3), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='PLANNED', nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('label_data', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('dispensed_by_id', sa.Integer(), nullable=True),
    sa.Column('dispensed_by_name', sa.String(length=200), nullable=True),
    sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.CheckConstraint("status <> 'CANCELLED' OR cancel_reason IS NOT NULL", name='ck_dose_unit_cancel_reason'),
    sa.CheckConstraint("status IN ('PLANNED', 'CANCELLED') OR (measured_activity_mbq IS NOT NULL AND measured_at IS NOT NULL AND volume_ml IS NOT NULL)", name='ck_dose_unit_dispensed_fields'),
    sa.CheckConstraint("status IN ('PLANNED', 'DISPENSED', 'PACKED', 'SHIPPED', 'DELIVERED', 'CANCELLED')", name='ck_dose_unit_status'),
    sa.CheckConstraint('activity_at_calibration_mbq > 0', name='ck_dose_unit_activity'),
    sa.CheckConstraint('volume_ml IS NULL OR volume_ml > 0', name='ck_dose_unit_volume'),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['dispensed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], ),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dose_unit_batch', 'dose_unit', ['batch_id', 'status'], unique=False)
    op.create_index('ix_dose_unit_customer', 'dose_unit', ['customer_id'], unique=False)
    op.create_index('ix_dose_unit_order', 'dose_unit', ['order_id'], unique=False)
    op.create_index('uq_dose_unit_order_line', 'dose_unit', ['order_line_id'], unique=True, postgresql_where=sa.text("status <> 'CANCELLED'"))
    op.create_table('package_dose',
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('dose_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dose_unit_id'], ['dose_unit.id'], ),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], ),
    sa.PrimaryKeyConstraint('package_id', 'dose_unit_id')
    )
    op.create_index('ix_package_dose_dose', 'package_dose', ['dose_unit_id'], unique=False)
    op.create_table('recall_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recall_id', sa.Integer(), nullable=False),
    sa.Column('dose_unit_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('hospital_order_reference', sa.String(length=40), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('dose_status', sa.String(length=16), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['dose_unit_id'], ['dose_unit.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], ),
    sa.ForeignKeyConstraint(['recall_id'], ['recall.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_recall_item_customer', 'recall_item', ['customer_id'], unique=False)
    op.create_index('uq_recall_item_dose', 'recall_item', ['recall_id', 'dose_unit_id'], unique=True)

    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
    a2 = sa.table("transport_a2", sa.column("nuclide_symbol"), sa.column("a2_tbq", sa.Numeric), sa.column("source"))
    op.bulk_insert(a2, [{"nuclide_symbol": s, "a2_tbq": Decimal(v), "source": src} for s, v, src in A2_ROWS])


def downgrade():
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update ON {table}")
    op.drop_index('uq_recall_item_dose', table_name='recall_item')
    op.drop_index('ix_recall_item_customer', table_name='recall_item')
    op.drop_table('recall_item')
    op.drop_index('ix_package_dose_dose', table_name='package_dose')
    op.drop_table('package_dose')
    op.drop_index('uq_dose_unit_order_line', table_name='dose_unit', postgresql_where=sa.text("status <> 'CANCELLED'"))
    op.drop_index('ix_dose_unit_order', table_name='dose_unit')
    op.drop_index('ix_dose_unit_customer', table_name='dose_unit')
    op.drop_index('ix_dose_unit_batch', table_name='dose_unit')
    op.drop_table('dose_unit')
    op.drop_index('ix_batch_material_lot_lot', table_name='batch_material_lot')
    op.drop_index('ix_batch_material_lot_batch', table_name='batch_material_lot')
    op.drop_table('batch_material_lot')
    op.drop_index('uq_shipment_custody_kind', table_name='shipment_custody')
    op.drop_table('shipment_custody')
    op.drop_index('ix_package_shipment', table_name='package')
    op.drop_table('package')
    op.drop_index('ix_shipment_status', table_name='shipment')
    op.drop_index('ix_shipment_customer', table_name='shipment')
    op.drop_table('shipment')
    op.drop_index('ix_recall_start', table_name='recall')
    op.drop_table('recall')
    op.drop_table('transport_a2')
    op.drop_index('ix_genealogy_edge_parent', table_name='genealogy_edge')
    op.drop_index('ix_genealogy_edge_child', table_name='genealogy_edge')
    op.drop_table('genealogy_edge')
    # ### end Alembic commands ###
