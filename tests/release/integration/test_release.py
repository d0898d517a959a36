"""QP disposition on the real database: signature, records, events, audit, refusals and the
downstream block after release."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditLog
from app.batches import service as batches
from app.batches.models import Batch, BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from app.release.models import BatchDisposition, BatchReleaseSignature
from app.security.models import ESignature, SignatureFailure
from tests.qc_factories import actor, make_batch
from tests.release_factories import RELEASE_MEANING, batch_in_qp_review, release

pytestmark = pytest.mark.usefixtures("app_ctx")


def _audit(batch_id: int, action: str) -> list[AuditLog]:
    return list(
        db.session.execute(
            select(AuditLog)
            .where(
                AuditLog.entity_type == "Batch",
                AuditLog.entity_id == str(batch_id),
                AuditLog.action == action,
            )
            .order_by(AuditLog.id)
        ).scalars()
    )


def test_release_signs_moves_and_records_everything_in_one_transaction():
    batch = batch_in_qp_review()
    record = release(batch.id, meaning=RELEASE_MEANING, comment="All clear")

    db.session.refresh(batch)
    assert batch.status == "RELEASED" and batch.qp_disposition == "RELEASED" and batch.released_at
    sig = db.session.get(ESignature, record.signature_id)
    assert sig.scope == "BATCH_RELEASE" and sig.entity_id == str(batch.id)
    assert sig.meaning == RELEASE_MEANING and sig.signer_name == "Dr. Sara Mansour"
    assert record.disposition == "RELEASE" and record.from_status == "QP_REVIEW"
    assert record.to_status == "RELEASED" and record.exceptions_count == 0
    rs = db.session.execute(
        select(BatchReleaseSignature).where(BatchReleaseSignature.disposition_id == record.id)
    ).scalar_one()
    assert (rs.esignature_id, rs.signer_name, rs.meaning, rs.comment) == (
        sig.id,
        "Dr. Sara Mansour",
        RELEASE_MEANING,
        "All clear",
    )
    assert rs.signed_at == sig.signed_at
    event = db.session.get(BatchEvent, record.batch_event_id)
    assert event.to_status == "RELEASED" and event.signature_id == sig.id
    shown = event.meta["signature"]
    assert shown["printed_name"] == "Dr. Sara Mansour" and shown["meaning"] == RELEASE_MEANING
    assert shown["utc_text"].endswith("UTC") and "Asia/Riyadh" in shown["local_text"]
    (row,) = _audit(batch.id, "QP_DISPOSITION")
    assert row.signature_id == sig.id and row.after["disposition"] == "RELEASE"
    assert [r.signature_id for r in _audit(batch.id, "SIGN")] == [sig.id]


def test_release_meaning_is_fixed():
    batch = batch_in_qp_review()
    with pytest.raises(DomainError) as err:
        release(batch.id, meaning="I had a look")
    assert err.value.status == 422 and RELEASE_MEANING in err.value.user_message
    assert db.session.get(Batch, batch.id).status == "QP_REVIEW"


@pytest.mark.parametrize("disposition", ["HOLD", "REJECT"])
def test_hold_and_reject_need_a_comment(disposition):
    batch = batch_in_qp_review()
    with pytest.raises(DomainError) as err:
        release(batch.id, disposition=disposition, comment="  ")
    assert (err.value.code, err.value.status) == ("COMMENT_REQUIRED", 422)
    assert db.session.get(Batch, batch.id).status == "QP_REVIEW"
    refused = _audit(batch.id, "DISPOSITION_REFUSED")
    assert refused and refused[-1].after["code"] == "COMMENT_REQUIRED"


def test_hold_then_lift_hold_then_reject():
    batch = batch_in_qp_review()
    release(batch.id, disposition="HOLD", comment="Awaiting the filter integrity printout")
    assert db.session.get(Batch, batch.id).status == "ON_HOLD"
    release(batch.id, disposition="LIFT_HOLD", comment="Printout found and checked")
    assert db.session.get(Batch, batch.id).status == "QP_REVIEW"
    release(batch.id, disposition="REJECT", comment="Visual inspection record incomplete")
    assert db.session.get(Batch, batch.id).status == "REJECTED"
    kinds = [
        d.disposition
        for d in db.session.execute(
            select(BatchDisposition)
            .where(BatchDisposition.batch_id == batch.id)
            .order_by(BatchDisposition.id)
        ).scalars()
    ]
    assert kinds == ["HOLD", "LIFT_HOLD", "REJECT"]


def test_wrong_password_is_refused_audited_and_changes_nothing():
    batch = batch_in_qp_review()
    with pytest.raises(DomainError) as err:
        release(batch.id, password="not-my-password")
    assert (err.value.code, err.value.status) == ("SIGNATURE_INVALID", 403)
    assert db.session.get(Batch, batch.id).status == "QP_REVIEW"
    assert db.session.execute(select(func.count()).select_from(BatchDisposition)).scalar() == 0
    assert len(_audit(batch.id, "SIGNATURE_FAILED")) == 1
    assert _audit(batch.id, "DISPOSITION_REFUSED") == []  # recorded once, by the signature service


def test_lockout_after_repeated_wrong_passwords(app):
    batch = batch_in_qp_review()
    for _ in range(app.config["SIGNATURE_MAX_FAILURES"]):
        with pytest.raises(DomainError) as err:
            release(batch.id, password="wrong-password")
    assert "locked" in err.value.user_message
    with pytest.raises(DomainError) as err:
        release(batch.id)  # now even the right password is refused
    assert (err.value.code, err.value.status) == ("SIGNATURE_LOCKED", 423)
    assert db.session.get(Batch, batch.id).status == "QP_REVIEW"


def test_a_disposition_impossible_from_the_state_costs_no_password_attempt():
    batch = make_batch()  # QC pending
    with pytest.raises(DomainError) as err:
        release(batch.id, password="wrong-password")
    assert err.value.code == "TRANSITION_NOT_ALLOWED" and "QC Pending" in err.value.user_message
    assert db.session.execute(select(func.count()).select_from(SignatureFailure)).scalar() == 0


def test_only_a_qp_may_sign_a_disposition():
    batch = batch_in_qp_review()
    with pytest.raises(DomainError) as err:
        release(batch.id, username="qcmanager")
    assert (err.value.code, err.value.status) == ("FORBIDDEN", 403)


def test_on_hold_after_release_blocks_dispensing_until_the_hold_is_lifted():
    batch = batch_in_qp_review()
    release(batch.id)
    release(batch.id, disposition="HOLD", comment="Sterility alert from the lab")
    hold_event = db.session.execute(
        select(BatchEvent).where(BatchEvent.batch_id == batch.id, BatchEvent.to_status == "ON_HOLD")
    ).scalar_one()
    assert hold_event.signature_id is not None  # the signed hold shows its signature on the timeline
    assert db.session.get(ESignature, hold_event.signature_id).signer_name
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    assert err.value.code == "BATCH_BLOCKED" and "on hold" in err.value.user_message.lower()
    lifted = release(batch.id, disposition="LIFT_HOLD", comment="Alert was a lab error")
    assert lifted.to_status == "RELEASED"
    batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    assert db.session.get(Batch, batch.id).status == "DISPENSING_IN_PROGRESS"


def test_hold_while_dispensing_blocks_packing_and_reject_is_final():
    batch = batch_in_qp_review()
    release(batch.id)
    batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    release(batch.id, disposition="HOLD", comment="Dose calibrator out of tolerance")
    for to, who in (("DISPENSED", "disp"), ("PACKED", "logi"), ("DISPATCHED", "logi")):
        with pytest.raises(DomainError) as err:
            batches.transition_batch(batch.id, to, actor(who))
        assert err.value.code == "BATCH_BLOCKED", (to, err.value.code)
    release(batch.id, disposition="REJECT", comment="Doses cannot be verified")
    with pytest.raises(DomainError) as err:
        batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    assert err.value.code == "BATCH_BLOCKED"


def test_disposition_records_are_append_only():
    batch = batch_in_qp_review()
    release(batch.id)
    for table in ("batch_disposition", "batch_release_signature"):
        with pytest.raises(Exception) as err, db.session.begin_nested():
            db.session.execute(text(f"UPDATE {table} SET batch_id = batch_id"))
        assert "append-only" in str(err.value)
        with pytest.raises(Exception, match="append-only"), db.session.begin_nested():
            db.session.execute(text(f"DELETE FROM {table}"))
