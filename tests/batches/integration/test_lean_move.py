"""A move's statements run through the lean executor (app.core.sql.execute, issue 16): what they
store, the chain's lock the move statement takes, and the session's Batch after the lock and after
the move are what the ORM path gave."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, event, text
from sqlalchemy.dialects.postgresql import JSONB

from app.batches import service as batches
from app.core import sql
from app.core.domain import DomainError
from app.core.extensions import db
from tests.batch_factories import actor, batch_in


def test_execute_binds_json_as_sqlalchemy_does_and_returns_rows(db_session):
    db.session.execute(text("CREATE TEMP TABLE lean_probe (i int, j jsonb)"))
    insert = text("INSERT INTO lean_probe VALUES (:i, :j) RETURNING i").bindparams(
        bindparam("j", type_=JSONB)
    )
    through_session = db.session.execute(insert, {"i": 1, "j": None}).scalar_one()
    rows = sql.execute("test.lean_probe", lambda: insert, {"i": 2, "j": None})
    sql.execute("test.lean_probe", lambda: insert, {"i": 3, "j": {"a": [1, "x"]}})
    assert through_session == 1 and [tuple(r) for r in rows] == [(2,)]
    stored = db.session.execute(text("SELECT i, jsonb_typeof(j), j FROM lean_probe ORDER BY i")).all()
    # None for a JSONB parameter is the JSON null either way (SQLAlchemy's bind processor ran)
    assert [tuple(r) for r in stored] == [
        (1, "null", None),
        (2, "null", None),
        (3, "object", {"a": [1, "x"]}),
    ]
    assert sql.execute("test.lean_probe.none", lambda: text("DELETE FROM lean_probe WHERE i = 0"), {}) == []


def test_a_move_refused_after_its_lock_rolls_the_whole_transaction_back(app, committed):
    production = actor("Production")
    batch_id = batch_in("SCHEDULED").id
    db.session.remove()
    with pytest.raises(DomainError) as refused:
        batches.transition_batch(batch_id, "IN_PRODUCTION", production, "Start", expected_version=99)
    assert refused.value.code == "CONFLICT"
    assert not db.session().in_transaction()
    # Nothing was left open or half-written: the next move starts from the same version.
    moved = batches.transition_batch(batch_id, "IN_PRODUCTION", production, "Start")
    assert moved.status == "IN_PRODUCTION"


def test_the_lock_refreshes_the_batch_the_session_already_holds(app, db_session):
    batch = batch_in("SCHEDULED")
    assert batch.product is not None  # a relationship loaded before the lock
    version = batch.version
    db.session.execute(
        text("UPDATE batch SET planned_activity_mbq = 4321, version = version + 1 WHERE id = :i"),
        {"i": batch.id},
    )
    batch.hot_cell_id = None  # pending: written before the lock, as the ORM query's autoflush did
    locked = batches.lock_batch(batch.id)
    assert locked is batch
    assert batch.planned_activity_mbq == 4321 and batch.version == version + 1 and not db.session.dirty
    assert "product" not in batch.__dict__  # reset, as populate_existing does: loads again on use
    assert batch.product is not None


def test_a_batch_the_session_does_not_hold_is_loaded_as_by_a_query(app, db_session):
    batch_id = batch_in("SCHEDULED").id
    db.session.expunge_all()
    batch = batches.lock_batch(batch_id)
    assert batch in db.session and not db.session.dirty and not db.session.new
    assert db.session.get(batches.Batch, batch_id) is batch
    assert batch.status == "SCHEDULED" and batch.product.code == "FDG"
    with pytest.raises(Exception):  # noqa: B017 - whichever NotFound the caller maps to 404
        batches.lock_batch(-1)


def test_the_move_statement_takes_the_chain_lock_and_reads_the_head(app, committed):
    """One statement moves the batch, writes its event, takes the audit chain's lock and reads the
    chain's head (audit_chain_head(), migration 0019): no statement of their own, and the lock is
    held when the audit rows are written."""
    production = actor("Production")
    batch_id = batch_in("SCHEDULED").id
    db.session.remove()
    sent: list[str] = []
    free_at_audit: list[bool] = []

    def before(conn, cursor, statement, params, context, executemany):
        if "pg_try_advisory_xact_lock" in statement:
            return  # the probe below, on another connection
        sent.append(statement)
        if statement.lstrip().startswith("INSERT INTO audit_log"):
            with db.engine.connect() as other:  # another writer asks for the chain's lock now
                free_at_audit.append(
                    other.execute(
                        text("SELECT pg_try_advisory_xact_lock(hashtext('audit_log_chain'))")
                    ).scalar()
                )
                other.rollback()

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        batches.transition_batch(batch_id, "IN_PRODUCTION", production, "Start")
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert free_at_audit == [False]
    move = [s for s in sent if "INSERT INTO batch_event" in s]
    assert len(move) == 1 and "audit_chain_head()" in move[0]
    assert not [s for s in sent if "FROM audit_log" in s or s.lstrip().startswith("SELECT head_id")]
    assert len(sent) == 3  # lock the batch, the move (with the chain's lock and head), the audit rows


def test_a_move_on_another_version_writes_nothing_and_takes_no_chain_lock(app, committed):
    """The move statement decided on an old version updates no row: no event, no chain lock."""
    import functools

    batch = batch_in("SCHEDULED")
    db.session.commit()  # the factory's audit rows took the lock: a new transaction starts clean
    params = {column: None for column in batches._DERIVED} | {
        "batch_id": batch.id,
        "batch_version": batch.version - 1,  # not the row's version
        "updated_at": batch.updated_at,
        **dict.fromkeys(("event_type", "title", "from_status", "to_status", "actor_user_id")),
        **dict.fromkeys(("actor_name", "actor_role", "occurred_at", "note", "meta", "trace_id")),
        "is_override": False,
        "signature_id": None,
    }
    events = db.session.execute(text("SELECT count(*) FROM batch_event WHERE batch_id = :b"), {"b": batch.id})
    before = events.scalar()
    rows = sql.execute(("batch.move", ()), functools.partial(batches._move_sql, ()), params)
    assert rows == []
    held = db.session.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND objid = hashtext('audit_log_chain')::oid"
        )
    ).scalar()
    after = db.session.execute(text("SELECT count(*) FROM batch_event WHERE batch_id = :b"), {"b": batch.id})
    assert held == 0 and after.scalar() == before
    db.session.rollback()
