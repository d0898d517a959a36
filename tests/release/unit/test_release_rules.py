"""Pure release rules: dispositions, SoD, rights, review by exception, timing window, downstream block."""

from __future__ import annotations

import datetime as dt

import pytest

from app.core.domain import DomainError
from app.release import domain as rules

NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("disposition", "status", "prior", "expected"),
    [
        ("RELEASE", "QP_REVIEW", None, "RELEASED"),
        ("HOLD", "QP_REVIEW", None, "ON_HOLD"),
        ("HOLD", "RELEASED", None, "ON_HOLD"),
        ("HOLD", "DISPENSING_IN_PROGRESS", None, "ON_HOLD"),
        ("HOLD", "DISPATCHED", None, "ON_HOLD"),
        ("REJECT", "QP_REVIEW", None, "REJECTED"),
        ("REJECT", "ON_HOLD", "RELEASED", "REJECTED"),
        ("REJECT", "FAILED_QC", None, "REJECTED"),
        ("LIFT_HOLD", "ON_HOLD", "QP_REVIEW", "QP_REVIEW"),
        ("LIFT_HOLD", "ON_HOLD", "DISPENSED", "DISPENSED"),
    ],
)
def test_target_status(disposition, status, prior, expected):
    assert rules.target_status(disposition, status, prior) == expected


@pytest.mark.parametrize(
    ("disposition", "status"),
    [
        ("RELEASE", "QC_PASSED"),
        ("RELEASE", "ON_HOLD"),
        ("REJECT", "RELEASED"),
        ("LIFT_HOLD", "QP_REVIEW"),
        ("HOLD", "CLOSED"),
        ("HOLD", "REJECTED"),
    ],  # fmt: skip
)
def test_impossible_dispositions_are_refused_in_words(disposition, status):
    with pytest.raises(DomainError) as err:
        rules.target_status(disposition, status, None)
    assert err.value.code == "TRANSITION_NOT_ALLOWED"
    assert rules.label(status) in err.value.user_message


def test_parse_disposition_accepts_aliases_and_refuses_nonsense():
    assert rules.parse_disposition(" released ") == "RELEASE"
    assert rules.parse_disposition("on hold") == "HOLD"
    assert rules.parse_disposition("resume") == "LIFT_HOLD"
    for bad in (None, "", "APPROVE", 3):
        with pytest.raises(DomainError) as err:
            rules.parse_disposition(bad)
        assert err.value.status == 422


def test_comment_required_for_hold_reject_and_lift_hold():
    rules.check_comment("RELEASE", None)
    for d in ("HOLD", "REJECT", "LIFT_HOLD"):
        with pytest.raises(DomainError) as err:
            rules.check_comment(d, " ")
        assert (err.value.code, err.value.status) == ("COMMENT_REQUIRED", 422)


def test_meaning_is_fixed_per_disposition():
    assert rules.check_meaning("RELEASE", None) == "QP certification: released for human use"
    assert rules.check_meaning("RELEASE", "  qp certification:  released for human use ") == (
        "QP certification: released for human use"
    )
    assert "released for human use again" in rules.check_meaning("LIFT_HOLD", None, prior="RELEASED")
    with pytest.raises(DomainError):
        rules.check_meaning("RELEASE", "Looks fine")


def test_sod_names_the_rule_and_spares_hold():
    inv = rules.QcInvolvement(entered=frozenset({1}), corrected=frozenset({2}), reviewed=frozenset({3}))
    assert rules.sod_refusal(1, inv, "RELEASE").user_message == (
        "You entered QC results for this batch, so another QP must release it."
    )
    assert "corrected QC results" in rules.sod_refusal(2, inv, "RELEASE").user_message
    assert "reviewed the QC results" in rules.sod_refusal(3, inv, "REJECT").user_message
    assert rules.sod_refusal(3, inv, "REJECT").user_message.endswith("must reject it.")
    assert rules.sod_refusal(1, inv, "HOLD") is None
    assert rules.sod_refusal(4, inv, "RELEASE") is None


def test_authorisation_names_the_product():
    err = rules.authorisation_refusal({2}, 1, "FDG (Fludeoxyglucose (18F))", "RELEASE")
    assert err.code == "RELEASE_NOT_AUTHORISED" and err.status == 403 and "FDG" in err.user_message
    assert rules.authorisation_refusal({1}, 1, "FDG", "RELEASE") is None
    assert rules.authorisation_refusal(set(), 1, "FDG", "HOLD") is None


def _passing(**kw) -> rules.ResultFact:
    base = dict(result_id=1, test="pH", required=True, timing="BEFORE_RELEASE", status="PASS", value="6.2",
                criteria="4.5–8.5")  # fmt: skip
    return rules.ResultFact(**{**base, **kw})


def _facts(**kw) -> rules.ReviewFacts:
    base = dict(now=NOW, results=(_passing(),), session_status="QC_PASSED",
                production_end_at=NOW - dt.timedelta(hours=1), shelf_life_min=600)  # fmt: skip
    return rules.ReviewFacts(**{**base, **kw})


def test_clean_batch_has_zero_exceptions_and_after_release_tests_are_a_notice():
    sterility = _passing(result_id=2, test="Sterility", timing="AFTER_RELEASE", status="PENDING", value=None)
    items = rules.findings(_facts(results=(_passing(), sterility)))
    assert rules.exception_count(items) == 0
    assert [(f.kind, f.severity) for f in items] == [("AFTER_RELEASE", "NOTICE")]
    assert "Sterility" in items[0].detail


@pytest.mark.parametrize(
    ("result", "kind"),
    [
        (_passing(status="FAIL", fail_reason="Out of range: 4.4 < 4.5"), "FAILED"),
        (_passing(alert_reason="Within alert limits"), "ALERT"),
        (_passing(overridden=True), "OVERRIDE"),
        (_passing(corrections=2, last_correction_reason="Typo"), "CORRECTED"),
    ],
)
def test_result_exceptions(result, kind):
    items = rules.findings(_facts(results=(result,)))
    assert [f.kind for f in items if f.severity == "EXCEPTION"] == [kind]


def test_open_deviation_and_oos_are_exceptions_closed_deviation_is_a_notice():
    items = rules.findings(_facts(open_deviations=("x",), open_oos=("OOS-1",), closed_deviations=("y",)))
    assert rules.exception_count(items) == 2
    assert [f.severity for f in items] == ["EXCEPTION", "EXCEPTION", "NOTICE"]


def test_qc_not_finished_is_a_timing_exception():
    items = rules.findings(
        _facts(results=(_passing(status="PENDING", value=None),), session_status="IN_PROGRESS")
    )
    assert [f.title for f in items] == ["QC not finished"]
    assert rules.findings(_facts(session_status=None))[0].title == "No QC session"


@pytest.mark.parametrize(
    ("hours_since_eos", "title"),
    [(4.9, None), (5.1, "Release later than the product's window"), (10.1, "Shelf life over")],
)
def test_release_window_is_half_the_shelf_life(hours_since_eos, title):
    items = rules.findings(_facts(production_end_at=NOW - dt.timedelta(hours=hours_since_eos)))
    timing = [f.title for f in items if f.kind == "TIMING"]
    assert timing == ([title] if title else [])


def test_missing_end_of_synthesis_is_an_exception():
    items = rules.findings(_facts(production_end_at=None))
    assert [f.title for f in items] == ["No end of synthesis recorded"]


def test_duration_text():
    assert rules.duration_text(dt.timedelta(minutes=5)) == "5 min"
    assert rules.duration_text(dt.timedelta(minutes=125)) == "2 h 5 min"
    assert rules.duration_text(dt.timedelta(hours=3)) == "3 h"
    assert rules.duration_text(dt.timedelta(hours=50)) == "2 d 2 h"
    assert rules.duration_text(dt.timedelta(minutes=-3)) == "0 min"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("ON_HOLD", "BATCH_BLOCKED"),
        ("REJECTED", "BATCH_BLOCKED"),
        ("FAILED_QC", "BATCH_BLOCKED"),
        ("QP_REVIEW", "DISPENSING_BEFORE_RELEASE"),
        ("QC_PASSED", "DISPENSING_BEFORE_RELEASE"),
    ],  # fmt: skip
)
def test_dose_units_and_shipments_inherit_the_batch_block(status, code):
    with pytest.raises(DomainError) as err:
        rules.check_downstream_allowed(status, "dispatch")
    assert err.value.code == code


def test_released_batches_allow_downstream_work():
    for status in ("RELEASED", "DISPENSING_IN_PROGRESS", "DISPENSED", "PACKED"):
        rules.check_downstream_allowed(status, "packing")
