"""permissions version: bumped on every change to roles, permissions or a user's roles (issue 16)

Revision ID: 0013_permissions_version
Revises: 0012_domain_truth
Create Date: 2026-11-29

Statement-level triggers on FAB's security tables bump the single row of rp_permissions_version in
the same transaction as the change, whoever makes it (FAB's views and APIs, `flask rp sync-perms`,
plain SQL). ENABLE ALWAYS: they fire under session_replication_role = replica too.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_permissions_version'
down_revision = '0012_domain_truth'
branch_labels = None
depends_on = None

SECURITY_TABLES = (
    "ab_role",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_permission_view_role",
    "ab_user_role",
    "ab_group_role",
    "ab_user_group",
)


def upgrade():
    op.create_table(
        'rp_permissions_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('id = 1', name='ck_rp_permissions_version_single_row'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("CREATE SEQUENCE rp_permissions_version_seq")
    op.execute(
        "INSERT INTO rp_permissions_version (id, version) VALUES (1, nextval('rp_permissions_version_seq'))"
    )
    op.execute(
        """
        CREATE FUNCTION rp_bump_permissions_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO rp_permissions_version (id, version, changed_at)
            VALUES (1, nextval('rp_permissions_version_seq'), now())
            ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
            RETURN NULL;
        END $$
        """
    )
    for table in SECURITY_TABLES:
        op.execute(
            f"CREATE TRIGGER rp_permissions_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION rp_bump_permissions_version()"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER rp_permissions_version_bump")


def downgrade():
    for table in SECURITY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS rp_permissions_version_bump ON {table}")
    op.execute("DROP FUNCTION IF EXISTS rp_bump_permissions_version()")
    op.drop_table('rp_permissions_version')
    op.execute("DROP SEQUENCE IF EXISTS rp_permissions_version_seq")
