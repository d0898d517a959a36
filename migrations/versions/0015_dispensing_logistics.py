"""dispensing, logistics and genealogy: dose units, labels, packages, shipments, custody, material lots, genealogy edges, recalls (issue 11)

Revision ID: 0015_dispensing_logistics
Revises: 0014_hardening
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0015_dispensing_logistics'
down_revision = '0014_hardening'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
