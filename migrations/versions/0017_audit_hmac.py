"""audit trail: application HMAC chain, anchors, GMP tables covered, least-privilege database role (issue 14 section 5)

Revision ID: 0017_audit_hmac
Revises: 0016_notifications_kpis_ebr
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0017_audit_hmac'
down_revision = '0016_notifications_kpis_ebr'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
