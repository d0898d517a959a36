"""user changes bump the permissions version: each process caches the signed-in user (issue 16)

Revision ID: 0018_user_version
Revises: 0017_audit_hmac
Create Date: 2026-11-29

Each process keeps the signed-in users (columns and roles) with the permission sets of the current
permissions version, so an API request or page sends no SQL to know who is asking. A change to what
that cache holds must reach every process: deactivating a user, a new password, a new user name,
name or e-mail, or deleting the user now bumps the version too (statement-level, same function and
ENABLE ALWAYS as migration 0013). Sign-in bookkeeping (last_login, login_count, fail_login_count) does
not: it changes on every sign-in and nothing cached depends on it.
"""

from alembic import op

revision = "0018_user_version"
down_revision = "0017_audit_hmac"
branch_labels = None
depends_on = None

KEY_COLUMNS = "active, password, username, first_name, last_name, email"


def upgrade():
    op.execute(
        "CREATE TRIGGER rp_permissions_version_bump_user AFTER UPDATE OF "
        f"{KEY_COLUMNS} OR DELETE OR TRUNCATE ON ab_user "
        "FOR EACH STATEMENT EXECUTE FUNCTION rp_bump_permissions_version()"
    )
    op.execute("ALTER TABLE ab_user ENABLE ALWAYS TRIGGER rp_permissions_version_bump_user")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS rp_permissions_version_bump_user ON ab_user")
