"""A batch move writes its event in the statement that updates the batch and seals it from the row
that statement returns (issue 16); the seal must be exactly what `flask audit verify` recomputes from
the stored row, the seal and the move's audit row go in one INSERT, and a superuser's edit of such an
event is still found. Concurrent moves never fork the chain."""

from __future__ import annotations

import threading

from sqlalchemy import select, text

from app.audit import coverage
from app.audit import service as audit
from app.audit.models import AuditLog
from app.batches import service as batches
from app.batches.models import BatchEvent
from app.core.extensions import db
from tests.batch_factories import actor, batch_in

NOTE = "Checked with the shift lead."


def _walk(batch_id: int) -> None:
    production = actor("Production")
    batches.transition_batch(batch_id, "IN_PRODUCTION", production, NOTE)
    # metadata with numbers, the yield on the batch, and the automatic move on to QC_PENDING
    batches.transition_batch(
        batch_id, "PRODUCTION_COMPLETE", production, NOTE, {"actual_yield_mbq": "1234.5", "runs": [1, 2.5]}
    )


def _seal_of(event_id: int) -> AuditLog:
    return db.session.execute(
        select(AuditLog).where(
            AuditLog.entity_type == "batch_event",
            AuditLog.entity_id == str(event_id),
            AuditLog.action == coverage.SEALED,
        )
    ).scalar_one()


def test_a_moved_batch_s_events_are_sealed_as_stored_and_verify(app, committed):
    batch_id = batch_in("SCHEDULED").id
    _walk(batch_id)
    db.session.remove()

    moves = list(
        db.session.execute(
            select(BatchEvent)
            .where(BatchEvent.batch_id == batch_id, BatchEvent.from_status.is_not(None))
            .order_by(BatchEvent.id)
        ).scalars()
    )
    assert [e.to_status for e in moves] == ["IN_PRODUCTION", "PRODUCTION_COMPLETE", "QC_PENDING"]
    for e in moves:
        seal = _seal_of(e.id)
        stored = db.session.execute(
            text("SELECT pg_catalog.row_to_json(t)::text FROM batch_event t WHERE t.id = :id"), {"id": e.id}
        ).scalar_one()
        assert seal.after["sha256"] == coverage.content_hash(stored, seal.after["columns"])
        assert seal.after["columns"] == sorted(
            c.name for c in BatchEvent.__table__.columns
        )  # every column of the row
        # the seal comes right before the move's own audit row, in the chain and in the same INSERT
        row = db.session.get(AuditLog, seal.id + 1)
        assert (row.entity_type, row.entity_id, row.action) == ("Batch", str(batch_id), "STATUS_CHANGE")
        assert row.after["status"] == e.to_status and row.prev_hash == seal.hash
    assert audit.verify_chain().ok


def test_an_edited_transition_event_is_found_by_verify(app, committed):
    batch_id = batch_in("SCHEDULED").id
    _walk(batch_id)
    db.session.remove()
    event_id = db.session.execute(
        select(BatchEvent.id).where(
            BatchEvent.batch_id == batch_id, BatchEvent.to_status == "PRODUCTION_COMPLETE"
        )
    ).scalar_one()
    seal_id = _seal_of(event_id).id
    assert audit.verify_chain().ok
    try:
        conn = db.session.connection()
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # the append-only guard off
        conn.execute(text("UPDATE batch_event SET note = 'Edited later' WHERE id = :id"), {"id": event_id})
        result = audit.verify_chain()
        assert not result.ok
        assert result.first_broken_id == seal_id, result.message
        assert "altered" in result.message
    finally:
        db.session.rollback()
    assert audit.verify_chain().ok


def test_concurrent_moves_never_fork_the_chain(app, committed):
    writers, each = 4, 3
    ids = [[batch_in("SCHEDULED").id for _ in range(each)] for _ in range(writers)]
    db.session.remove()
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(mine: list[int]) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for batch_id in mine:
                    _walk(batch_id)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(mine,)) for mine in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    forks = db.session.execute(
        text("SELECT prev_hash FROM audit_log GROUP BY prev_hash HAVING count(*) > 1")
    ).all()
    assert forks == []
    assert audit.verify_chain().ok
