"""batch list indexes cover status (and product): page totals at 100,000 batches stay index-only

Revision ID: 0009_batch_list_indexes
Revises: 0008_release
Create Date: 2026-11-22 02:45:00

Measured with bench/batches.py: counting the list's total for "product + 90-day planned range +
three statuses" read 2,300 heap pages to check the status; with status in the index it is an
index-only scan.
"""
from alembic import op


revision = "0009_batch_list_indexes"
down_revision = "0008_release"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_batch_planned", table_name="batch")
    op.create_index("ix_batch_planned", "batch", ["planned_start_at", "id"], postgresql_include=["status", "product_id"])
    op.drop_index("ix_batch_product_planned", table_name="batch")
    op.create_index("ix_batch_product_planned", "batch", ["product_id", "planned_start_at"], postgresql_include=["status"])


def downgrade():
    op.drop_index("ix_batch_product_planned", table_name="batch")
    op.create_index("ix_batch_product_planned", "batch", ["product_id", "planned_start_at"])
    op.drop_index("ix_batch_planned", table_name="batch")
    op.create_index("ix_batch_planned", "batch", ["planned_start_at", "id"])
