"""A request that only read ends with COMMIT (psycopg keeps the connection's prepared statements); a
request that wrote anything, or failed, ends with ROLLBACK as before (issue 16)."""

from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import event, text

from app.core.extensions import db
from app.core.readonly import _is_select


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT 1", True),
        ("  select id FROM batch FOR UPDATE", True),
        ("\nSELECT\tversion FROM rp_permissions_version", True),
        ("SELECTED", False),
        ("INSERT INTO batch_event DEFAULT VALUES", False),
        ("UPDATE batch SET version = version", False),
        ("DELETE FROM saved_view", False),
        ("WITH x AS (DELETE FROM saved_view RETURNING 1) SELECT * FROM x", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("CREATE TEMP TABLE t (i int)", False),
        ("", False),
    ],
)
def test_only_plain_selects_count_as_reads(statement, reads):
    assert _is_select(statement) is reads


@pytest.fixture(scope="module")
def probe_app(make_app):
    variant = make_app()

    @variant.get("/_probe/read")
    def _read():
        db.session.execute(text("SELECT 1")).scalar()
        return "read"

    @variant.get("/_probe/write-left-over")
    def _write_left_over():
        db.session.execute(text("SELECT 1"))
        # A write the handler neither committed nor rolled back (touches no row: harmless here).
        db.session.execute(text("UPDATE rp_permissions_version SET changed_at = changed_at WHERE id = -1"))
        return "written, left for the session to close"

    @variant.get("/_probe/read-then-fail")
    def _read_then_fail():
        db.session.execute(text("SELECT 1"))
        abort(500)

    @variant.get("/_probe/reads-only")
    def _reads_only():
        from app.core.readonly import reads_only

        reads_only(db)
        db.session.execute(text("SELECT 1")).scalar()
        driver = db.session.connection().connection.driver_connection
        # In autocommit the SELECT opened no transaction on the server: nothing to BEGIN or COMMIT.
        return {"autocommit": driver.autocommit, "idle": driver.info.transaction_status.name}

    @variant.get("/_probe/isolation")
    def _isolation():
        db.session.execute(text("SELECT 1")).scalar()
        driver = db.session.connection().connection.driver_connection
        return {"autocommit": driver.autocommit, "status": driver.info.transaction_status.name}

    @variant.get("/_probe/no-sql")
    def _no_sql():
        return "nothing"

    return variant


def _endings(app, url):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_commit(conn):
        seen.append("COMMIT")

    def on_rollback(conn):
        seen.append("ROLLBACK")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        app.test_client().get(url)
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
    return seen


def test_a_request_that_only_read_ends_with_commit(probe_app):
    assert _endings(probe_app, "/_probe/read")[:1] == ["COMMIT"]


def test_a_request_that_left_a_write_ends_with_rollback(probe_app):
    assert "COMMIT" not in _endings(probe_app, "/_probe/write-left-over")


def test_a_request_that_failed_is_never_committed(probe_app):
    assert "COMMIT" not in _endings(probe_app, "/_probe/read-then-fail")


def test_a_request_without_sql_opens_no_transaction(probe_app):
    assert _endings(probe_app, "/_probe/no-sql") == []


def test_reads_stay_prepared_across_requests(probe_app):
    """The point of it: after a few identical requests the connection holds the prepared SELECT."""
    client = probe_app.test_client()
    for _ in range(8):
        assert client.get("/_probe/read").status_code == 200
    with probe_app.app_context():
        names = db.session.execute(
            text("SELECT statement FROM pg_prepared_statements WHERE statement = 'SELECT 1'")
        ).all()
        db.session.rollback()
    assert names


def test_a_declared_read_runs_without_begin_and_the_next_request_is_transactional_again(probe_app):
    client = probe_app.test_client()
    assert client.get("/_probe/reads-only").get_json() == {"autocommit": True, "idle": "IDLE"}
    # The pooled connection went back with its isolation level reset: a normal request begins.
    assert client.get("/_probe/isolation").get_json() == {"autocommit": False, "status": "INTRANS"}
