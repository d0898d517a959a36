"""hardening (issue 14)

Revision ID: 0014_hardening
Revises: 0013_permissions_version
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0014_hardening'
down_revision = '0013_permissions_version'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
