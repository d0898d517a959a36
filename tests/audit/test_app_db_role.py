"""The application's database role (radiopharma_app, created by migration 0017) may only INSERT and
SELECT on the audit trail and the append-only GMP tables, owns none of them, and so can neither
rewrite them, disable their triggers nor switch to replica mode."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

APPEND_ONLY = (
    "audit_log",
    "audit_verification",
    "batch_event",
    "esignature",
    "batch_qc_result_value",
    "batch_disposition",
    "order_event",
    "shipment_custody",
    "genealogy_edge",
)


@pytest.fixture(scope="module")
def app_role_dsn(database_url):
    """A login role that is a member of radiopharma_app (how production connects, see README)."""
    name = f"rp_app_probe_{secrets.token_hex(3)}"
    password = secrets.token_hex(16)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE radiopharma_app"))
    url = make_url(database_url).set(drivername="postgresql", username=name, password=password)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP ROLE {name}"))
    admin.dispose()


def _refused(dsn: str, sql: str) -> str:
    with psycopg.connect(dsn) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(sql)
        conn.rollback()
    return str(caught.value)


def test_the_role_is_no_superuser_and_owns_no_table(app, app_role_dsn):
    with psycopg.connect(app_role_dsn) as conn:
        assert conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (
            False,
            False,
        )
        owned = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner IN "
            "(current_user, 'radiopharma_app')"
        ).fetchone()[0]
        assert owned == 0
        # it can read and append
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= 0
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('audit_log_chain'))")


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_update_delete_truncate_are_refused_on_append_only_tables(app, app_role_dsn, table):
    for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}", f"TRUNCATE {table}"):
        assert "permission denied" in _refused(app_role_dsn, sql), sql


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE batch_event DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",
        "CREATE OR REPLACE FUNCTION audit_log_row_hash(prev text, r audit_log) RETURNS text "
        "LANGUAGE sql AS $$ SELECT r.hash $$",
        "DROP TRIGGER audit_log_no_update ON audit_log",
    ],
)
def test_the_role_cannot_switch_the_guards_off(app, app_role_dsn, sql):
    message = _refused(app_role_dsn, sql)
    assert "must be owner" in message or "permission denied" in message, message


def test_an_unsigned_row_is_refused_even_when_inserted_by_the_role(app, app_role_dsn):
    message = _refused(
        app_role_dsn,
        "INSERT INTO audit_log (id, entity_type, action, actor_name) VALUES (999999999, 'Batch', 'RELEASE', 'x')",
    )
    assert "signed by the application" in message
