"""Segregation of duties and release rights per product, checked inside the release transaction."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select

from app.audit.models import AuditLog
from app.batches import service as batches
from app.batches.models import Batch
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc import service as qc
from app.release import rights as release_rights
from app.release.models import QpProductAuthorisation
from seeds.qc import passing_entry, run_batch_qc
from tests.qc_factories import actor, attach_required, make_batch
from tests.release_factories import add_user, authorise, batch_in_qp_review, give_role, release

pytestmark = pytest.mark.usefixtures("app_ctx")


def _refusals(batch_id: int) -> list[AuditLog]:
    return list(
        db.session.execute(
            select(AuditLog).where(
                AuditLog.entity_type == "Batch",
                AuditLog.entity_id == str(batch_id),
                AuditLog.action == "DISPOSITION_REFUSED",
            )
        ).scalars()
    )


def _sod(batch_id: int, username: str) -> DomainError:
    with pytest.raises(DomainError) as err:
        release(batch_id, username=username, password="even-a-wrong-password")
    assert (err.value.code, err.value.status) == ("SOD_VIOLATION", 409)
    assert db.session.get(Batch, batch_id).status == "QP_REVIEW"
    return err.value


def test_qp_who_entered_results_must_not_release():
    add_user("qcqp", "QC Analyst", "QP")
    authorise("qcqp")
    batch = batch_in_qp_review(analyst="qcqp")
    err = _sod(batch.id, "qcqp")
    assert err.user_message == "You entered QC results for this batch, so another QP must release it."
    (row,) = _refusals(batch.id)
    assert row.after["code"] == "SOD_VIOLATION" and row.actor_name.endswith("Qcqp")


def test_qp_who_reviewed_results_must_not_release():
    add_user("revqp", "QC Reviewer", "QP")
    authorise("revqp")
    batch = batch_in_qp_review(reviewer="revqp")
    err = _sod(batch.id, "revqp")
    assert err.user_message == "You reviewed the QC results of this batch, so another QP must release it."


def test_user_given_the_qp_role_after_entering_results_must_not_release():
    add_user("lateqp", "QC Analyst")
    batch = batch_in_qp_review(analyst="lateqp")
    give_role("lateqp", "QP")
    authorise("lateqp")
    err = _sod(batch.id, "lateqp")
    assert "You entered QC results" in err.user_message


def test_qp_who_corrected_a_result_must_not_release_or_reject():
    add_user("corrqp", "QC Analyst", "QP")
    authorise("corrqp")
    batch = make_batch()
    _, session = qc.get_session(batch.id)
    for result in session.results:
        if result.timing == "BEFORE_RELEASE":
            qc.record_qc_result(batch.id, result.id, passing_entry(result), actor=actor("qc"))
    ph = next(r for r in session.results if r.test_code == "PH")
    qc.record_qc_result(
        batch.id, ph.id, {"numeric_value": "6.4", "reason": "Transcription error"}, actor=actor("corrqp")
    )
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))
    err = _sod(batch.id, "corrqp")
    assert err.user_message == "You corrected QC results of this batch, so another QP must release it."
    with pytest.raises(DomainError) as refused:
        release(batch.id, username="corrqp", disposition="REJECT", comment="Not convinced")
    assert refused.value.user_message.endswith("so another QP must reject it.")


def test_any_qp_may_hold_whatever_they_did_in_qc():
    add_user("qcqp2", "QC Analyst", "QP")
    batch = batch_in_qp_review(analyst="qcqp2")
    record = release(batch.id, username="qcqp2", disposition="HOLD", comment="Stop: label printer fault")
    assert record.to_status == "ON_HOLD"


def test_sod_can_be_switched_off(monkeypatch):
    add_user("qcqp3", "QC Analyst", "QP")
    authorise("qcqp3")
    batch = batch_in_qp_review(analyst="qcqp3")
    monkeypatch.setitem(current_app.config, "SOD_ENFORCED", False)
    assert release(batch.id, username="qcqp3").to_status == "RELEASED"


def test_qp_releases_only_authorised_products():
    add_user("qp2", "QP", first="Maha", last="Odeh")
    batch = batch_in_qp_review()
    with pytest.raises(DomainError) as err:
        release(batch.id, username="qp2")
    assert (err.value.code, err.value.status) == ("RELEASE_NOT_AUTHORISED", 403)
    assert "FDG" in err.value.user_message
    assert _refusals(batch.id)[-1].after["code"] == "RELEASE_NOT_AUTHORISED"
    authorise("qp2")
    assert release(batch.id, username="qp2").to_status == "RELEASED"


def test_revoked_right_is_refused_but_hold_stays_possible():
    batch = batch_in_qp_review()
    product = db.session.get(Product, batch.product_id)
    grant = release_rights.live_grant(actor("qp").user_id, product.id)
    release_rights.revoke(grant.id, actor=actor("admin"), reason="Qualification lapsed")
    with pytest.raises(DomainError) as err:
        release(batch.id)
    assert err.value.code == "RELEASE_NOT_AUTHORISED"
    assert (
        release(batch.id, disposition="HOLD", comment="Holding until another QP is available").to_status
        == "ON_HOLD"
    )
    kept = db.session.get(QpProductAuthorisation, grant.id)
    assert kept.revoked_at is not None and kept.revoke_reason == "Qualification lapsed"


def test_grants_are_admin_only_for_qps_and_audited():
    add_user("plainqc", "QC Analyst")
    product = db.session.execute(select(Product).where(Product.code == "FDG")).scalar_one()
    user = current_app.appbuilder.sm.find_user(username="plainqc")
    with pytest.raises(DomainError) as err:
        release_rights.grant(user.id, product.id, actor=actor("admin"))
    assert err.value.status == 422 and "not a QP" in err.value.user_message
    add_user("qp3", "QP")
    qp3 = current_app.appbuilder.sm.find_user(username="qp3")
    with pytest.raises(DomainError) as err:
        release_rights.grant(qp3.id, product.id, actor=actor("qp"))
    assert err.value.status == 403
    grant = release_rights.grant(qp3.id, product.id, actor=actor("admin"), note="Trained 2026-11")
    with pytest.raises(DomainError):
        release_rights.grant(qp3.id, product.id, actor=actor("admin"))
    with pytest.raises(DomainError) as err:
        release_rights.revoke(grant.id, actor=actor("admin"), reason="")
    assert err.value.code == "REASON_REQUIRED"
    release_rights.revoke(grant.id, actor=actor("admin"), reason="Left the company")
    actions = (
        db.session.execute(
            select(AuditLog.action)
            .where(AuditLog.entity_type == "QpProductAuthorisation", AuditLog.entity_id == str(grant.id))
            .order_by(AuditLog.id)
        )
        .scalars()
        .all()
    )
    assert actions == ["GRANT", "REVOKE"]


def test_failed_batch_can_be_rejected_by_the_qp():
    batch = make_batch()
    assert run_batch_qc(batch.id, outcome="FAIL") == "QC_FAILED"
    assert db.session.get(Batch, batch.id).status == "FAILED_QC"
    assert (
        release(batch.id, disposition="REJECT", comment="Endotoxin out of specification").to_status
        == "REJECTED"
    )
