"""domain truth: rule types, snapshots and limits from the QC/decay/release review (issue 13)

Revision ID: 0012_domain_truth
Revises: 0011_capacity_orders
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0012_domain_truth'
down_revision = '0011_capacity_orders'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
