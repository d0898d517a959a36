"""notifications, KPI facts, electronic batch record and instrument import (issue 12)

Revision ID: 0016_notifications_kpis_ebr
Revises: 0015_dispensing_logistics
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0016_notifications_kpis_ebr'
down_revision = '0015_dispensing_logistics'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
