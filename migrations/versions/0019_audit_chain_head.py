"""audit chain: take the chain's lock and read its head in one call (issue 16)

Revision ID: 0019_audit_chain_head
Revises: 0018_user_version
Create Date: 2026-11-29

Every audited act locks the audit chain (a transaction-level advisory lock) and then reads the
chain's head, the row its first new row extends. Those were two statements, because a statement's
snapshot is taken when it starts: a head read in the statement that waited for the lock could miss
the row written by the transaction that held it. `audit_chain_head()` does both in one call: it is
VOLATILE PL/pgSQL, so under READ COMMITTED its SELECT takes a fresh snapshot after the lock is
granted (the chain trigger `audit_log_chain` relies on the same rule), and it can be called from the
statement that writes a batch move. The key is the one the trigger and `app.audit.chain` use.
"""

from alembic import op

revision = "0019_audit_chain_head"
down_revision = "0018_user_version"
branch_labels = None
depends_on = None

CHAIN_HEAD = """
CREATE OR REPLACE FUNCTION audit_chain_head(OUT head_id bigint, OUT head_hash text, OUT head_alg text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('audit_log_chain'));
  SELECT a.id, a.hash, a.hash_alg INTO head_id, head_hash, head_alg
    FROM public.audit_log a ORDER BY a.id DESC LIMIT 1;
END
$$
"""


def upgrade():
    op.execute(CHAIN_HEAD)


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS audit_chain_head()")
