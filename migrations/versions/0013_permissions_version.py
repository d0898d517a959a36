"""permissions version: bumped on every change to roles, permissions or a user's roles (issue 16)

Revision ID: 0013_permissions_version
Revises: 0012_domain_truth
Create Date: 2026-11-29

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0013_permissions_version'
down_revision = '0012_domain_truth'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
