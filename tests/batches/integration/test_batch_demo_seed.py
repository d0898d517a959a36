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
