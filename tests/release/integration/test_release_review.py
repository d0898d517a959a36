"""Review by exception on real QC records, and the release queue."""

from __future__ import annotations

import datetime as dt

import pytest

from app.batches import service as batches
from app.batches.models import Batch
from app.core.extensions import db
from app.qc import service as qc
from app.release import review as release_review
from seeds.qc import passing_entry, run_batch_qc
from tests.qc_factories import actor, attach_required, make_batch
from tests.release_factories import batch_in_qp_review, release

pytestmark = pytest.mark.usefixtures("app_ctx")


def _kinds(batch, now=None):
    return sorted((f.kind, f.severity) for f in release_review.findings(db.session.get(Batch, batch.id), now))


def test_clean_fdg_batch_has_no_exceptions_only_the_after_release_notice():
    batch = batch_in_qp_review()
    assert _kinds(batch) == [("AFTER_RELEASE", "NOTICE")]


def test_alert_and_correction_are_exceptions():
    batch = make_batch()
    _, session = qc.get_session(batch.id)
    for r in session.results:
        if r.timing == "BEFORE_RELEASE":
            data = {"numeric_value": "96.1"} if r.test_code == "RCP" else passing_entry(r)
            qc.record_qc_result(batch.id, r.id, data, actor=actor("qc"))
    ph = next(r for r in session.results if r.test_code == "PH")
    qc.record_qc_result(
        batch.id, ph.id, {"numeric_value": "6.9", "reason": "Read the wrong vial"}, actor=actor("qc")
    )
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))
    review = release_review.review(db.session.get(Batch, batch.id), actor("qp"))
    assert review["exceptions_count"] == 2
    titles = [f["title"] for f in review["findings"] if f["severity"] == "EXCEPTION"]
    assert titles == ["Corrected result: pH", "Alert limit: Radiochemical Purity"]
    corrected = next(f for f in review["findings"] if f["kind"] == "CORRECTED")
    assert "Read the wrong vial" in corrected["detail"]
    record = release(batch.id)
    assert (
        record.exceptions_count == 2
        and len([f for f in record.findings if f["severity"] == "EXCEPTION"]) == 2
    )


def test_late_release_is_a_timing_exception():
    batch = batch_in_qp_review()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)  # FDG: 10 h shelf life, window 5 h
    assert ("TIMING", "EXCEPTION") in _kinds(batch, later)


def test_failed_qc_shows_failed_result_and_open_oos():
    batch = make_batch()
    run_batch_qc(batch.id, outcome="FAIL")
    kinds = _kinds(batch)
    assert ("FAILED", "EXCEPTION") in kinds and ("OOS", "EXCEPTION") in kinds


def test_queue_holds_review_hold_and_ready_batches_only():
    waiting = batch_in_qp_review()
    held = batch_in_qp_review()
    release(held.id, disposition="HOLD", comment="Waiting for a document")
    ready = make_batch()
    run_batch_qc(ready.id)
    released = batch_in_qp_review()
    release(released.id)
    queue = {i["id"]: i for i in release_review.queue()}
    assert queue[waiting.id]["status"] == "QP_REVIEW"
    assert (
        queue[held.id]["status"] == "ON_HOLD"
        and queue[held.id]["status_before_exception_label"] == "QP Review"
    )
    assert queue[ready.id]["ready_for_review"] is True
    assert released.id not in queue


def test_available_dispositions_follow_the_state():
    batch = batch_in_qp_review()
    qp = actor("qp")
    assert {a["disposition"] for a in release_review.available(db.session.get(Batch, batch.id), qp)} == {
        "RELEASE",
        "HOLD",
        "REJECT",
    }
    release(batch.id)
    assert [a["disposition"] for a in release_review.available(db.session.get(Batch, batch.id), qp)] == [
        "HOLD"
    ]
    release(batch.id, disposition="HOLD", comment="Check")
    options = {a["disposition"]: a for a in release_review.available(db.session.get(Batch, batch.id), qp)}
    assert set(options) == {"REJECT", "LIFT_HOLD"}
    assert "released for human use again" in options["LIFT_HOLD"]["meaning"]
    assert release_review.available(db.session.get(Batch, batch.id), actor("qc")) == []
