"""Batch QC sessions on the real database, driven through H4's batch service."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditLog
from app.batches import service as batches
from app.batches.models import Batch, BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from app.masterdata.models import Product
from app.notifications.models import Notification
from app.qc import queries as qc_read
from app.qc import service as qc
from app.qc import template_queries as qc_template_queries
from app.qc import templates as qc_templates
from app.qc.models import BatchQcResultValue, OosCase
from tests.qc_factories import FDG_PASS, PASSWORD, actor, attach_required, enter, make_batch, results_by_code


def events(batch_id: int) -> list[str]:
    return list(
        db.session.execute(
            select(BatchEvent.title).where(BatchEvent.batch_id == batch_id).order_by(BatchEvent.id)
        ).scalars()
    )


def status(batch_id: int) -> str:
    return db.session.execute(select(Batch.status).where(Batch.id == batch_id)).scalar_one()


def product(code: str) -> Product:
    return db.session.execute(select(Product).where(Product.code == code)).scalar_one()


def passing_fdg_waiting_review(batch_id: int) -> None:
    enter(batch_id, FDG_PASS)
    attach_required(batch_id)
    qc.submit_session(batch_id, actor=actor("qc"))


# --- snapshot -----------------------------------------------------------------------------------------


def test_batch_creation_snapshots_the_active_template(app_ctx):
    batch = make_batch("FDG", to="PLANNED")
    _, session = qc.get_session(batch.id)
    active = qc_template_queries.active_template(batch.product_id)
    assert session.template_id == active.id and session.status == "NOT_STARTED"
    rows = {r.test_code: r for r in session.results}
    assert rows["PH"].criteria_display_en == "4.5–8.5 (result rounded to 1 decimal)"
    # The endotoxin limit follows the product's max volume (FDG: 15 mL) and is frozen with it.
    endo = rows["ENDOTOXIN"]
    assert endo.criteria_display_en == "< 175/15 mL = 11.7 EU/mL (result rounded to 1 decimal)"
    assert (endo.rule_type, endo.max_value, endo.per_volume, endo.volume_ml) == ("LT", 175, True, 15)
    assert all(r.status == "PENDING" for r in session.results)
    assert len(session.results) == len(active.lines)


def test_later_template_changes_never_alter_an_existing_batch(app_ctx):
    old_batch = make_batch("FDG", to="PLANNED")
    fdg = product("FDG")
    manager = actor("qcmanager")
    draft = qc_templates.create_version(fdg.id, actor=manager)
    lines = [qc_template_queries.line_dict(ln) for ln in draft.lines]
    for ln in lines:
        if ln["test_code"] == "PH":
            ln["rule"].update(min_value="5.0", max_value="7.5")
    qc_templates.save_draft_lines(fdg.id, draft.id, lines, actor=manager)
    qc_templates.activate(fdg.id, draft.id, password=PASSWORD, actor=manager)
    new_batch = make_batch("FDG", to="PLANNED")
    assert results_by_code(old_batch.id)["PH"].criteria_display_en == "4.5–8.5 (result rounded to 1 decimal)"
    assert results_by_code(new_batch.id)["PH"].criteria_display_en == "5–7.5 (result rounded to 1 decimal)"


def test_without_active_template_the_batch_is_made_warned_and_cannot_pass(app_ctx):
    nh3 = product("NH3")
    qc_templates.retire(
        nh3.id,
        qc_template_queries.active_template(nh3.id).id,
        reason="Revalidation",
        actor=actor("qcmanager"),
    )
    batch = make_batch("NH3")
    _, session = qc.get_session(batch.id)
    assert (
        session.template_id is None and session.results == [] and "No active QC template" in session.warning
    )
    assert "No Active QC Template" in events(batch.id)
    batches.transition_batch(batch.id, "QC_IN_PROGRESS", actor("qc"))
    with pytest.raises(DomainError) as e:
        batches.transition_batch(batch.id, "QC_PASSED", actor("qcreview"))
    assert e.value.code == "QC_NOT_PASSED"
    with pytest.raises(DomainError) as e:
        qc.submit_session(batch.id, actor=actor("qc"))
    assert e.value.code in ("QC_NO_TEMPLATE", "QC_SESSION_STATE")


def test_qc_manager_attaches_the_template_once_one_is_active(app_ctx):
    nh3 = product("NH3")
    manager = actor("qcmanager")
    old = qc_template_queries.active_template(nh3.id)
    qc_templates.retire(nh3.id, old.id, reason="Revalidation", actor=manager)
    batch = make_batch("NH3")
    draft = qc_templates.create_version(nh3.id, copy_from_template_id=old.id, actor=manager)
    qc_templates.activate(nh3.id, draft.id, password=PASSWORD, actor=manager)
    with pytest.raises(DomainError):
        qc.attach_active_template(batch.id, actor=actor("qc"))
    session = qc.attach_active_template(batch.id, actor=manager)
    assert session.template_version == draft.version and session.results and session.warning is None


# --- entering results ---------------------------------------------------------------------------------


def test_first_result_moves_the_batch_into_qc_in_progress(app_ctx):
    batch = make_batch()
    assert status(batch.id) == "QC_PENDING"
    enter(batch.id, {"PH": {"numeric_value": "4.4"}})
    row = results_by_code(batch.id)["PH"]
    assert row.status == "FAIL" and row.fail_reason == "Out of range: 4.4 < 4.5"
    assert status(batch.id) == "QC_IN_PROGRESS"
    assert qc.get_session(batch.id)[1].status == "IN_PROGRESS"
    titles = events(batch.id)
    assert "QC Started" in titles and "Out-of-Specification Result: pH" in titles


def test_results_cannot_be_entered_before_production_ends(app_ctx):
    batch = make_batch(to="IN_PRODUCTION")
    with pytest.raises(DomainError) as e:
        enter(batch.id, {"PH": {"numeric_value": "7"}})
    assert e.value.code == "QC_NOT_READY"


def test_corrections_need_a_reason_and_keep_every_version(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": {"numeric_value": "6.2"}})
    row = results_by_code(batch.id)["PH"]
    with pytest.raises(DomainError) as e:
        qc.record_qc_result(batch.id, row.id, {"numeric_value": "6.4"}, actor=actor("qc"))
    assert e.value.code == "REASON_REQUIRED"
    qc.record_qc_result(
        batch.id, row.id, {"numeric_value": "6.4", "reason": "transcription error"}, actor=actor("qc")
    )
    versions = (
        db.session.execute(
            select(BatchQcResultValue)
            .where(BatchQcResultValue.result_id == row.id)
            .order_by(BatchQcResultValue.version)
        )
        .scalars()
        .all()
    )
    assert [(v.version, v.kind, str(v.numeric_value.normalize())) for v in versions] == [
        (1, "ENTRY", "6.2"),
        (2, "CORRECTION", "6.4"),
    ]
    assert versions[1].reason == "transcription error" and versions[1].entered_by_name == "Yusuf Karim"
    actions = (
        db.session.execute(
            select(AuditLog.action).where(
                AuditLog.entity_type == "BatchQcResult", AuditLog.entity_id == str(row.id)
            )
        )
        .scalars()
        .all()
    )
    assert actions == ["ENTER_RESULT", "CORRECT_RESULT"]
    assert "QC Result Corrected: pH" in events(batch.id)
    history = qc_read.history(qc.get_session(batch.id)[1])
    assert [h["value"] for h in history] == ["6.4", "6.2"]
    # Saving the same value again is not a new version.
    qc.record_qc_result(batch.id, row.id, {"numeric_value": "6.4"}, actor=actor("qc"))
    assert results_by_code(batch.id)["PH"].value_version == 2


def test_value_history_is_append_only(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": {"numeric_value": "6.2"}})
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE batch_qc_result_value SET reason = 'x'"))
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("DELETE FROM batch_qc_result_value"))


def test_required_test_cannot_be_marked_not_applicable(app_ctx):
    batch = make_batch()
    row = results_by_code(batch.id)["PH"]
    with pytest.raises(DomainError) as e:
        qc.record_qc_result(batch.id, row.id, {"not_applicable": True, "reason": "x"}, actor=actor("qc"))
    assert e.value.code == "QC_REQUIRED_TEST"


# --- submit and review --------------------------------------------------------------------------------


def test_full_pass_with_review_then_after_release_tests_close_the_session(app_ctx):
    batch = make_batch()
    enter(batch.id, FDG_PASS)
    with pytest.raises(DomainError) as e:
        qc.submit_session(batch.id, actor=actor("qc"))
    assert e.value.code == "QC_ATTACHMENT_MISSING"
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    assert qc.get_session(batch.id)[1].status == "WAITING_REVIEW"
    with pytest.raises(DomainError) as e:
        enter(batch.id, {"PH": {"numeric_value": "7.0", "reason": "late change"}})
    assert e.value.code == "QC_ENTRY_CLOSED"
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    _, session = qc.get_session(batch.id)
    assert session.status == "QC_PASSED" and session.reviewed_by_name == "Huda Nasser"
    assert status(batch.id) == "QC_PASSED"
    assert {"QC Results Submitted", "QC Passed"} <= set(events(batch.id))
    batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))  # the gate opens
    enter(batch.id, {"STERILITY": {"pass_fail_value": "PASS"}, "RNP": {"numeric_value": "99.95"}})
    assert qc.get_session(batch.id)[1].status == "COMPLETED"
    assert qc.session_status_for_batch(db.session.get(Batch, batch.id)) == "QC_PASSED"
    assert "After-release QC Complete" in events(batch.id)


def test_reviewer_who_entered_a_result_cannot_review(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": FDG_PASS["PH"]}, username="qcmanager")
    enter(batch.id, {k: v for k, v in FDG_PASS.items() if k != "PH"})
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    with pytest.raises(DomainError) as e:
        qc.review_session(batch.id, "APPROVE", actor=actor("qcmanager"))
    assert e.value.code == "SEGREGATION_OF_DUTIES" and e.value.status == 403
    with pytest.raises(DomainError) as e:
        qc.review_session(batch.id, "APPROVE", actor=actor("qc"))
    assert e.value.status == 403
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    assert status(batch.id) == "QC_PASSED"


def test_failed_result_fails_qc_blocks_batch_opens_oos_and_notifies(app_ctx):
    batch = make_batch()
    enter(batch.id, {**FDG_PASS, "ENDOTOXIN": {"numeric_value": "200"}})
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    qc.review_session(
        batch.id, "APPROVE", note="Confirmed on retest of the same sample", actor=actor("qcreview")
    )
    assert qc.get_session(batch.id)[1].status == "QC_FAILED"
    assert status(batch.id) == "FAILED_QC"
    case = db.session.execute(select(OosCase).where(OosCase.batch_id == batch.id)).scalar_one()
    assert "Out of range: 200.0 ≥ 11.7 (must be below)" in case.reason and case.status == "OPEN"
    kinds = set(
        db.session.execute(
            select(Notification.kind).where(
                Notification.entity_type == "Batch", Notification.entity_id == str(batch.id)
            )
        ).scalars()
    )
    assert "QC_FAILED" in kinds
    assert "OOS Case Opened" in events(batch.id)
    with pytest.raises(DomainError) as e:
        batches.transition_batch(batch.id, "DISPENSING_IN_PROGRESS", actor("disp"))
    assert e.value.code == "BATCH_BLOCKED"


def test_failure_puts_batch_on_hold_when_configured(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "QC_FAIL_BATCH_STATUS", "ON_HOLD")
    batch = make_batch()
    passing_fdg_waiting_review(batch.id)
    qc.review_session(batch.id, "REJECT", note="Chromatogram integration wrong", actor=actor("qcreview"))
    assert status(batch.id) == "ON_HOLD"
    assert (
        db.session.execute(select(OosCase.reason).where(OosCase.batch_id == batch.id))
        .scalar_one()
        .startswith("Rejected by the reviewer")
    )


def test_reject_needs_a_note_and_return_sends_back_for_correction(app_ctx):
    batch = make_batch()
    passing_fdg_waiting_review(batch.id)
    with pytest.raises(DomainError) as e:
        qc.review_session(batch.id, "REJECT", actor=actor("qcreview"))
    assert e.value.code == "NOTE_REQUIRED"
    qc.review_session(batch.id, "RETURN", note="pH entered for the wrong vial", actor=actor("qcreview"))
    assert qc.get_session(batch.id)[1].status == "IN_PROGRESS"
    enter(batch.id, {"PH": {"numeric_value": "6.8", "reason": "correct vial"}})
    qc.submit_session(batch.id, actor=actor("qc"))
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    assert status(batch.id) == "QC_PASSED"


def test_without_reviewer_step_the_analyst_completes_qc(app_ctx):
    fdg = product("FDG")
    fdg.qc_review_required = False
    db.session.flush()
    batch = make_batch()
    enter(batch.id, FDG_PASS)
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))
    assert qc.get_session(batch.id)[1].status == "QC_PASSED"
    assert status(batch.id) == "QC_PASSED"


def test_qc_cannot_be_passed_by_hand_while_the_session_is_open(app_ctx):
    batch = make_batch()
    enter(batch.id, {"PH": FDG_PASS["PH"]})
    with pytest.raises(DomainError) as e:
        batches.transition_batch(batch.id, "QC_PASSED", actor("qcreview"))
    assert e.value.code == "QC_NOT_PASSED"


def test_after_release_failure_reopens_the_question_for_the_qp(app_ctx):
    batch = make_batch()
    passing_fdg_waiting_review(batch.id)
    qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    enter(batch.id, {"STERILITY": {"pass_fail_value": "FAIL"}})
    assert qc.get_session(batch.id)[1].status == "QC_FAILED"
    assert status(batch.id) == "QC_PASSED"  # the QP decides what happens to the batch
    assert "After-release QC Failed: Sterility" in events(batch.id)
    with pytest.raises(DomainError) as e:
        batches.transition_batch(batch.id, "QP_REVIEW", actor("qp"))
    assert e.value.code == "QC_NOT_PASSED"


@pytest.mark.parametrize("code", ["FDG", "PSMA11", "NAF", "NH3"])
def test_seed_helper_passes_every_preset_through_the_real_services(app_ctx, code):
    from seeds.qc import run_batch_qc

    batch = make_batch(code)
    assert run_batch_qc(batch.id, after_release=True) in ("QC_PASSED", "COMPLETED")
    assert status(batch.id) == "QC_PASSED"


def test_seed_helper_can_fail_a_batch(app_ctx):
    from seeds.qc import run_batch_qc

    batch = make_batch("FDG")
    assert run_batch_qc(batch.id, outcome="FAIL") == "QC_FAILED"
    assert status(batch.id) == "FAILED_QC"


def test_option_results_need_a_verdict_which_the_reviewer_can_give(app_ctx):
    fdg = product("FDG")
    manager = actor("qcmanager")
    draft = qc_templates.create_version(fdg.id, actor=manager)
    lines = [qc_template_queries.line_dict(ln) for ln in draft.lines] + [{"test_code": "APPEARANCE"}]
    qc_templates.save_draft_lines(fdg.id, draft.id, lines, actor=manager)
    qc_templates.activate(fdg.id, draft.id, password=PASSWORD, actor=manager)
    batch = make_batch()
    enter(batch.id, {**FDG_PASS, "APPEARANCE": {"text_value": "Clear, colourless"}})
    appearance = results_by_code(batch.id)["APPEARANCE"]
    assert appearance.status == "PENDING" and appearance.needs_verdict
    attach_required(batch.id)
    qc.submit_session(batch.id, actor=actor("qc"))  # the reviewer may decide the open verdict
    with pytest.raises(DomainError) as e:
        qc.review_session(batch.id, "APPROVE", actor=actor("qcreview"))
    assert e.value.code == "QC_RESULTS_MISSING" and "Appearance" in e.value.user_message
    qc.review_session(batch.id, "APPROVE", verdicts={str(appearance.id): "PASS"}, actor=actor("qcreview"))
    assert qc.get_session(batch.id)[1].status == "QC_PASSED"
    kinds = [
        v.kind
        for v in db.session.execute(
            select(BatchQcResultValue).where(BatchQcResultValue.result_id == appearance.id)
        ).scalars()
    ]
    assert kinds == ["ENTRY", "VERDICT"]


# --- samples ------------------------------------------------------------------------------------------


def test_samples_are_recorded_after_production_with_an_event_and_never_edited(app_ctx):
    import datetime as dt

    from app.qc import samples as qc_samples

    early = make_batch(to="IN_PRODUCTION")
    with pytest.raises(DomainError) as e:
        qc_samples.record_sample(early.id, "RELEASE_TESTING", actor=actor("qc"))
    assert e.value.code == "QC_NOT_READY"
    batch = make_batch()
    with pytest.raises(DomainError) as e:
        qc_samples.record_sample(batch.id, "BLOOD", actor=actor("qc"))
    assert e.value.status == 422
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with pytest.raises(DomainError) as e:
        qc_samples.record_sample(batch.id, "ENDOTOXIN", taken_at=future.isoformat(), actor=actor("qc"))
    assert "future" in e.value.user_message
    sample = qc_samples.record_sample(batch.id, "release_testing", note="vial 1, 0.5 mL", actor=actor("qc"))
    assert sample.taken_by_name == "Yusuf Karim"
    assert "QC Sample Taken: Release testing" in events(batch.id)
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE batch_qc_sample SET note = 'x'"))
