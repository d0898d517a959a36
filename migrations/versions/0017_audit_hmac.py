"""audit trail: application HMAC chain, anchors, GMP tables covered, least-privilege database role (issue 14 section 5)

Revision ID: 0017_audit_hmac
Revises: 0016_notifications_kpis_ebr
Create Date: 2026-11-29

- audit_log.hash_alg: NULL for rows chained by the database's SHA-256 before this migration (the
  legacy part), "hmac-sha256" for rows the application signs with AUDIT_HMAC_KEY from now on.
- The BEFORE INSERT trigger no longer computes the chain (the database never holds the key); it takes
  the same advisory lock and refuses an unsigned row or one that does not extend the head.
- audit_verification becomes append-only like the other GMP records.
- Role radiopharma_app (NOLOGIN, no superuser): SELECT and INSERT on the append-only tables, the
  usual rights elsewhere, owns nothing, so it can neither disable triggers, truncate, nor use
  session_replication_role. Log in as a member: CREATE ROLE rp_web LOGIN PASSWORD '...' IN ROLE
  radiopharma_app (README, Production).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_audit_hmac"
down_revision = "0016_notifications_kpis_ebr"
branch_labels = None
depends_on = None

APP_ROLE = "radiopharma_app"
# Every table guarded by refuse_change() (0001, 0005, 0006, 0008, 0010, 0011, 0015) plus the audit tables.
APPEND_ONLY = (
    "audit_log",
    "audit_verification",
    "esignature",
    "batch_event",
    "batch_qc_result_value",
    "batch_qc_attachment",
    "batch_qc_sample",
    "batch_disposition",
    "batch_release_signature",
    "order_event",
    "genealogy_edge",
    "batch_material_lot",
    "shipment_custody",
)

CHECK_LINK = """
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head_id bigint;
  head_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
  IF NEW.hash_alg IS DISTINCT FROM 'hmac-sha256' OR NEW.hash IS NULL THEN
    RAISE EXCEPTION 'audit_log rows are chained and signed by the application'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT id, hash INTO head_id, head_hash FROM audit_log ORDER BY id DESC LIMIT 1;
  IF NEW.id <= coalesce(head_id, 0) OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
    RAISE EXCEPTION 'audit_log row % does not extend the chain head %', NEW.id, head_id
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END
$$
"""

LEGACY_CHAIN = """
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  prev text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
  NEW.id := nextval('audit_log_id_seq');
  NEW.occurred_at := clock_timestamp();
  SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
  NEW.prev_hash := prev;
  NEW.hash := audit_log_row_hash(prev, NEW);
  RETURN NEW;
END
$$
"""


def upgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_alg", sa.String(length=16), nullable=True))
    op.execute(CHECK_LINK)
    op.execute(
        "CREATE TRIGGER audit_verification_no_update BEFORE UPDATE OR DELETE ON audit_verification "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_verification_no_truncate BEFORE TRUNCATE ON audit_verification "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
          END IF;
          EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {APP_ROLE}', current_database());
        END
        $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY)} FROM {APP_ROLE}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP_ROLE}")
    # Tables later migrations create: the usual rights; a new append-only table must REVOKE UPDATE, DELETE.
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE}"
    )


def downgrade():
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    op.execute(
        f"DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM {APP_ROLE}', current_database()); END $$"
    )
    op.execute("DROP TRIGGER IF EXISTS audit_verification_no_truncate ON audit_verification")
    op.execute("DROP TRIGGER IF EXISTS audit_verification_no_update ON audit_verification")
    op.execute(LEGACY_CHAIN)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("hash_alg")
