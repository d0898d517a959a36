"""The demo seed tells a consistent story through the real services (and only once)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.batches.domain.fields import derive_history
from app.batches.models import Batch, BatchEvent
from app.core.extensions import db
from seeds import demo_batches


def test_demo_day_covers_every_stage_the_issue_names_and_reads_in_time_order(app_ctx):
    if db.session.execute(select(Batch.id).limit(1)).first():
        # Batches already exist: the seed must leave them alone (it runs once, on an empty database).
        before = db.session.execute(select(Batch.id).order_by(Batch.id)).scalars().all()
        assert demo_batches.seed() == {"demo_batches": 0}
        assert db.session.execute(select(Batch.id).order_by(Batch.id)).scalars().all() == before
        return
    assert demo_batches.seed()["demo_batches"] >= 8
    assert demo_batches.seed() == {"demo_batches": 0}  # and only once
    found = {b.batch_no: b for b in db.session.execute(select(Batch)).scalars()}
    statuses = {b.status for b in found.values()}
    assert {
        "QC_PENDING",
        "QP_REVIEW",
        "ON_HOLD",
        "DISPENSING_IN_PROGRESS",
        "DISPATCHED",
        "CLOSED",
        "CANCELLED",
    } <= statuses
    for batch in found.values():
        events = (
            db.session.execute(
                select(BatchEvent).where(BatchEvent.batch_id == batch.id).order_by(BatchEvent.id)
            )
            .scalars()
            .all()
        )
        moves = [e.to_status for e in events if e.to_status]
        assert moves[-1] == batch.status and batch.version == len(moves)
        assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events), batch.batch_no
        assert batch.qc_status == derive_history(moves).qc_status
        if batch.status in ("DISPATCHED", "CLOSED", "DISPENSING_IN_PROGRESS"):
            release = next(e for e in events if e.to_status == "RELEASED")
            assert release.signature_id is not None and release.actor_role == "QP"
            local = batch.planned_start_at.astimezone(ZoneInfo("Asia/Riyadh"))
            assert 2 <= local.hour < 8  # early-morning synthesis
    assert demo_batches.seed() == {"demo_batches": 0}  # idempotent


# --- one story: every record of a seeded step carries that step's time --------------------------------


def _audit_rows(entity_type: str, ids) -> list:
    from app.audit.models import AuditLog

    ids = [str(i) for i in ids]
    if not ids:
        return []
    return list(
        db.session.execute(
            select(AuditLog)
            .where(AuditLog.entity_type == entity_type, AuditLog.entity_id.in_(ids))
            .order_by(AuditLog.id)
        ).scalars()
    )


def test_every_record_of_a_seeded_batch_carries_its_story_time(app_ctx):
    """Audit rows, QC samples/results/reviews, OOS cases, signatures and dispositions of each seeded
    batch lie inside that batch's story (first to last event), a QP signature is the instant of the
    move it signs, and QC results name a sample taken before they were entered."""
    import datetime as dt

    from app.qc.models import BatchQcSample, BatchQcSession, OosCase
    from app.release.models import BatchDisposition, BatchReleaseSignature
    from app.security.models import ESignature
    from seeds import run_seeds

    if db.session.execute(select(Batch.id).limit(1)).first():
        return  # covered by the test above: the seed leaves existing batches alone
    seed_started = dt.datetime.now(dt.UTC)
    run_seeds(demo=True)
    real_now = dt.datetime.now(dt.UTC)  # nothing seeded lies in the future
    batches = db.session.execute(select(Batch).order_by(Batch.id)).scalars().all()
    assert len(batches) >= 10
    first_release, told = None, 0
    for batch in batches:
        name = batch.batch_no
        events = (
            db.session.execute(
                select(BatchEvent).where(BatchEvent.batch_id == batch.id).order_by(BatchEvent.id)
            )
            .scalars()
            .all()
        )
        start, end = events[0].occurred_at, events[-1].occurred_at
        assert end <= real_now, name
        if start >= seed_started:
            continue  # planned by the orders seed as today's act, on the real clock
        told += 1
        assert batch.created_at <= start, name

        def within(at, what, lo=start, hi=end, batch_no=name):
            assert at is not None and lo <= at <= hi, f"{batch_no}: {what} at {at} outside {lo} .. {hi}"

        session = db.session.execute(
            select(BatchQcSession).where(BatchQcSession.batch_id == batch.id)
        ).scalar_one()
        results = session.results
        samples = (
            db.session.execute(select(BatchQcSample).where(BatchQcSample.batch_id == batch.id))
            .scalars()
            .all()
        )
        cases = db.session.execute(select(OosCase).where(OosCase.batch_id == batch.id)).scalars().all()
        # audit rows of the batch and of its QC records: inside the story, in the order they were written
        rows = (
            _audit_rows("Batch", [batch.id])
            + _audit_rows("BatchQcSession", [session.id])
            + _audit_rows("BatchQcResult", [r.id for r in results])
            + _audit_rows("BatchQcSample", [s.id for s in samples])
            + _audit_rows("OosCase", [c.id for c in cases])
        )
        assert rows, name
        for row in rows:
            within(row.occurred_at, f"audit {row.entity_type} {row.action}")
        by_id = sorted(rows, key=lambda r: r.id)
        assert [r.occurred_at for r in by_id] == sorted(r.occurred_at for r in by_id), name
        # each status change's audit row is written at the time of its event
        moved = {e.occurred_at for e in events if e.to_status}
        for row in _audit_rows("Batch", [batch.id]):
            if row.action in ("STATUS_CHANGE", "CREATE"):
                assert row.occurred_at in moved, f"{name}: {row.action} audit at {row.occurred_at}"
        # QC: samples after production, every entered before-release result names a sample taken before it
        produced = next((e.occurred_at for e in events if e.to_status == "PRODUCTION_COMPLETE"), None)
        for sample in samples:
            within(sample.taken_at, "sample taken", lo=produced)
            within(sample.recorded_at, "sample recorded", lo=produced)
        taken = {s.id: s.taken_at for s in samples}
        entered = [r for r in results if r.value_version > 0]
        for r in entered:
            within(r.entered_at, f"{r.test_code} entered", lo=produced)
            if r.timing == "BEFORE_RELEASE" and r.status != "NOT_APPLICABLE":
                assert r.sample_id in taken, f"{name}: {r.test_code} names no sample"
                assert taken[r.sample_id] <= r.entered_at, f"{name}: {r.test_code} before its sample"
        if session.completed_at is not None:
            within(session.completed_at, "QC submitted", lo=max(r.entered_at for r in entered))
        if session.reviewed_at is not None:
            within(session.reviewed_at, "QC reviewed", lo=session.completed_at)
            verdict = next(e for e in events if e.to_status in ("QC_PASSED", "FAILED_QC"))
            assert session.reviewed_at <= verdict.occurred_at, name
        for case in cases:
            within(case.opened_at, "OOS opened", lo=produced)
        # QP: the signature is the instant of the move it signs (never after it, never a minute before)
        for event in events:
            if event.signature_id is None:
                continue
            sig = db.session.get(ESignature, event.signature_id)
            assert dt.timedelta(0) <= event.occurred_at - sig.signed_at < dt.timedelta(minutes=1), name
            if event.to_status == "RELEASED":
                first_release = min(first_release or sig.signed_at, sig.signed_at)
        for d in db.session.execute(
            select(BatchDisposition).where(BatchDisposition.batch_id == batch.id)
        ).scalars():
            within(d.decided_at, f"disposition {d.disposition}")
            sig = db.session.get(ESignature, d.signature_id)
            assert d.decided_at == sig.signed_at, name
            for row in _audit_rows("Batch", [batch.id]):
                if row.signature_id == sig.id:
                    assert row.occurred_at - sig.signed_at < dt.timedelta(minutes=1), name
        for s in db.session.execute(
            select(BatchReleaseSignature).where(BatchReleaseSignature.batch_id == batch.id)
        ).scalars():
            within(s.signed_at, "release signature")
    assert told >= 10 and first_release is not None  # the story's days, with released batches
