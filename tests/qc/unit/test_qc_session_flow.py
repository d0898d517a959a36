"""The QC session state machine: reviewer step, before/after-release tests, refusals in words."""

from __future__ import annotations

import pytest

from app.core.domain import DomainError
from app.qc.domain.session_flow import ResultFact, SessionFacts, allowed_triggers, fire


def facts(*rows: ResultFact, review: bool = True, template: bool = True) -> SessionFacts:
    return SessionFacts(results=tuple(rows), review_required=review, has_template=template)


PASS = ResultFact("pH", status="PASS", entered=True)
PASS2 = ResultFact("RCP", status="PASS", entered=True)
FAIL = ResultFact("Endotoxin", status="FAIL", entered=True)
PENDING = ResultFact("Visual", status="PENDING")
TEXT_UNDECIDED = ResultFact("Identity", status="PENDING", entered=True, needs_verdict=True)
STERILITY = ResultFact("Sterility", timing="AFTER_RELEASE")
OPTIONAL_FAIL = ResultFact("Colour", required=False, status="FAIL", entered=True)


def test_first_result_starts_the_session():
    assert fire("NOT_STARTED", "start", facts(PENDING)) == "IN_PROGRESS"


def test_with_reviewer_step_analyst_submits_to_waiting_review():
    f = facts(PASS, FAIL)
    assert fire("IN_PROGRESS", "submit_for_review", f) == "WAITING_REVIEW"
    with pytest.raises(DomainError) as e:
        fire("IN_PROGRESS", "complete", f)
    assert e.value.code == "QC_REVIEW_REQUIRED"


def test_submit_refused_while_required_results_missing_and_names_them():
    with pytest.raises(DomainError) as e:
        fire("IN_PROGRESS", "submit_for_review", facts(PASS, PENDING))
    assert e.value.code == "QC_RESULTS_MISSING" and "Visual" in e.value.user_message


def test_submit_allowed_with_text_results_awaiting_reviewer_verdict():
    assert fire("IN_PROGRESS", "submit_for_review", facts(PASS, TEXT_UNDECIDED)) == "WAITING_REVIEW"
    with pytest.raises(DomainError):
        fire("WAITING_REVIEW", "approve", facts(PASS, TEXT_UNDECIDED))


def test_approve_passes_when_all_required_pass_and_fails_when_one_failed():
    assert fire("WAITING_REVIEW", "approve", facts(PASS, PASS2, OPTIONAL_FAIL)) == "QC_PASSED"
    assert fire("WAITING_REVIEW", "approve", facts(PASS, FAIL)) == "QC_FAILED"
    assert fire("WAITING_REVIEW", "reject", facts(PASS, PASS2)) == "QC_FAILED"
    assert fire("WAITING_REVIEW", "return_for_correction", facts(PASS)) == "IN_PROGRESS"


def test_without_reviewer_step_complete_decides_directly():
    assert fire("IN_PROGRESS", "complete", facts(PASS, PASS2, review=False)) == "QC_PASSED"
    assert fire("IN_PROGRESS", "complete", facts(PASS, FAIL, review=False)) == "QC_FAILED"
    with pytest.raises(DomainError) as e:
        fire("IN_PROGRESS", "submit_for_review", facts(PASS, review=False))
    assert e.value.code == "QC_REVIEW_NOT_REQUIRED"


def test_after_release_tests_do_not_block_passing_and_close_the_session_later():
    f = facts(PASS, STERILITY)
    assert fire("WAITING_REVIEW", "approve", f) == "QC_PASSED"
    assert "close" not in allowed_triggers("QC_PASSED", f)
    done = facts(PASS, ResultFact("Sterility", timing="AFTER_RELEASE", status="PASS", entered=True))
    assert fire("QC_PASSED", "close", done) == "COMPLETED"
    failed = facts(PASS, ResultFact("Sterility", timing="AFTER_RELEASE", status="FAIL", entered=True))
    assert fire("COMPLETED", "fail_after_release", failed) == "QC_FAILED"


def test_no_template_can_never_pass():
    f = facts(template=False, review=False)
    with pytest.raises(DomainError) as e:
        fire("IN_PROGRESS", "complete", f)
    assert e.value.code == "QC_NO_TEMPLATE"
    assert allowed_triggers("IN_PROGRESS", f) == []


def test_failed_is_final():
    assert allowed_triggers("QC_FAILED", facts(PASS)) == []
    with pytest.raises(DomainError) as e:
        fire("QC_FAILED", "approve", facts(PASS))
    assert e.value.code == "QC_SESSION_STATE"


def test_allowed_triggers_match_fire():
    f = facts(PASS, PASS2)
    for status in ("NOT_STARTED", "IN_PROGRESS", "WAITING_REVIEW", "QC_PASSED"):
        for trig in allowed_triggers(status, f):
            fire(status, trig, f)


def test_progress_counts():
    f = facts(PASS, FAIL, PENDING, STERILITY)
    assert f.completed_count == 2 and len(f.results) == 4


def test_required_attachment_blocks_submission_until_uploaded():
    rcp = ResultFact("RCP", status="PASS", entered=True, attachment_missing=True)
    with pytest.raises(DomainError) as e:
        fire("IN_PROGRESS", "submit_for_review", facts(PASS, rcp))
    assert e.value.code == "QC_ATTACHMENT_MISSING" and "RCP" in e.value.user_message
    assert "submit_for_review" not in allowed_triggers("IN_PROGRESS", facts(PASS, rcp))


def test_submitting_before_any_result_names_what_is_missing():
    with pytest.raises(DomainError) as e:
        fire("NOT_STARTED", "submit_for_review", facts(PENDING, STERILITY))
    assert e.value.code == "QC_RESULTS_MISSING" and "Visual" in e.value.user_message
