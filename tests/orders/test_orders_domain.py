"""Unit tests of the pure order rules (no database)."""

from __future__ import annotations

import ast
import datetime as dt
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.domain import DomainError, ValidationFailed
from app.orders import domain as orders
from app.orders.domain import (
    ADMIN,
    CANCELLED,
    CUSTOMER,
    DELIVERED,
    DRAFT,
    IN_PRODUCTION,
    PLANNER,
    REJECTED,
    SCHEDULED,
    SUBMITTED,
    SYSTEM,
    VALIDATED,
)

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
F18_HALF_LIFE_S = 6586.2


def test_orders_domain_imports_only_stdlib_and_core_domain():
    modules = set()
    for node in ast.walk(ast.parse(Path(orders.__file__).read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    assert {m for m in modules if m.split(".")[0] == "app"} == {
        "app.core.domain",
        "app.masterdata.domain.decay",
        "app.masterdata.domain.units",
    }
    assert not {m.split(".")[0] for m in modules} & {"flask", "flask_appbuilder", "sqlalchemy", "werkzeug"}


# --------------------------------------------------------------------------- status machine

HAPPY_PATH = ["submit", "validate", "schedule", "start_production", "release", "dispense", "ship", "deliver"]


def test_happy_path_runs_from_draft_to_delivered():
    status = DRAFT
    for trigger in HAPPY_PATH:
        status = orders.check_transition(status, trigger).dest
    assert status == DELIVERED


@pytest.mark.parametrize("source", [DRAFT, SUBMITTED, VALIDATED, SCHEDULED])
def test_cancel_is_allowed_until_production_starts(source):
    assert orders.check_transition(source, "cancel").dest == CANCELLED


def test_cancel_is_refused_once_in_production_with_a_plain_message():
    with pytest.raises(DomainError) as err:
        orders.check_transition(IN_PRODUCTION, "cancel")
    assert err.value.code == "TRANSITION_NOT_ALLOWED" and err.value.status == 409
    assert err.value.user_message == (
        "An order that is in production cannot be cancelled; "
        "this is only possible when it is draft, submitted, validated or scheduled."
    )


def test_reject_only_from_submitted():
    assert orders.check_transition(SUBMITTED, "reject").dest == REJECTED
    with pytest.raises(DomainError):
        orders.check_transition(VALIDATED, "reject")


def test_unknown_trigger_is_refused():
    with pytest.raises(DomainError) as err:
        orders.check_transition(DRAFT, "teleport")
    assert "not an action" in err.value.user_message


def test_final_statuses_have_no_way_out():
    for status in orders.FINAL_STATUSES:
        assert not [t for t in orders.TRANSITIONS if t.source == status]


def test_every_status_has_a_label_and_a_customer_step():
    for status in orders.STATUSES:
        assert orders.status_label(status)
        assert orders.customer_step(status) in {key for key, _ in orders.CUSTOMER_STEPS}
    assert orders.status_label(SUBMITTED) == "Submitted"


def test_reject_and_cancel_need_a_reason_and_nothing_else_does():
    assert {t.trigger for t in orders.TRANSITIONS if t.needs_reason} == {"reject", "cancel"}
    with pytest.raises(ValidationFailed):
        orders.check_reason(orders.check_transition(SUBMITTED, "reject"), "   ")
    assert orders.check_reason(orders.check_transition(SUBMITTED, "reject"), " no licence ") == "no licence"
    assert orders.check_reason(orders.check_transition(DRAFT, "submit"), None) is None


def test_production_steps_are_driven_by_the_system_not_by_a_button():
    for trigger in ["start_production", "release", "dispense", "ship", "deliver"]:
        (transition,) = [t for t in orders.TRANSITIONS if t.trigger == trigger]
        assert transition.actors == {SYSTEM}
    assert orders.available_transitions(IN_PRODUCTION, [ADMIN, PLANNER]) == []


def test_customer_cannot_cancel_after_validation():
    with pytest.raises(DomainError) as err:
        orders.check_actor(orders.check_transition(VALIDATED, "cancel"), [CUSTOMER])
    assert err.value.status == 403
    orders.check_actor(orders.check_transition(SUBMITTED, "cancel"), [CUSTOMER])


def test_buttons_come_from_the_table():
    assert [t.trigger for t in orders.available_transitions(SUBMITTED, [PLANNER])] == [
        "validate",
        "reject",
        "cancel",
    ]
    assert [t.trigger for t in orders.available_transitions(DRAFT, [CUSTOMER])] == ["submit", "cancel"]


def test_customer_journey_marks_done_current_and_todo():
    states = {s.key: s.state for s in orders.customer_journey(IN_PRODUCTION)}
    assert states == {
        "reservation": "done",
        "order": "done",
        "batch": "current",
        "release": "todo",
        "dispensing": "todo",
        "shipping": "todo",
        "delivery": "todo",
    }


def test_customer_journey_of_a_delivered_order_is_all_done():
    assert {s.state for s in orders.customer_journey(DELIVERED)} == {"done"}


def test_customer_journey_stops_at_the_order_step_when_rejected_and_skips_missing_reservation():
    steps = orders.customer_journey(REJECTED, has_reservation=False)
    assert [(s.key, s.state) for s in steps[:3]] == [
        ("reservation", "skipped"),
        ("order", "stopped"),
        ("batch", "todo"),
    ]


def test_transition_table_builds_a_transitions_machine():
    from transitions import Machine

    class Row:
        status = DRAFT

    row = Row()
    Machine(
        model=row,
        states=list(orders.STATUSES),
        transitions=[{"trigger": t.trigger, "source": t.source, "dest": t.dest} for t in orders.TRANSITIONS],
        initial=DRAFT,
        auto_transitions=False,
        model_attribute="status",
    )
    for trigger in HAPPY_PATH:
        getattr(row, trigger)()
    assert row.status == DELIVERED


# --------------------------------------------------------------------------- hospital order reference


@pytest.mark.parametrize(
    "ref", ["PET-2026-0042", "ward7/bed3", "ORD_123", "LOT/2026/0042", "ORD-12345678", "abc"]
)
def test_pseudonymous_references_are_accepted(ref):
    assert orders.validate_hospital_order_reference(ref) == ref


def test_surrounding_spaces_are_trimmed():
    assert orders.validate_hospital_order_reference("  PET-7 ") == "PET-7"


@pytest.mark.parametrize(
    ("ref", "reason", "words"),
    [
        ("Smith 1970-01-02", "date", "looks like a date of birth"),
        ("JohnSmith01.02.1970", "date", "must not identify a patient"),
        ("mueller-12/03/1985", "date", "12/03/1985"),
        ("JohnSmith19700102", "date", "date of birth"),
        ("Doe-3.4.85", "date", "date of birth"),
        ("john.smith@hospital.de", "email", "e-mail address"),
        ("+49 30 1234567", "phone", "phone number"),
        ("030-123 4567", "phone", "phone number"),
        ("0301234567", "phone", "phone number"),
        ("=HYPERLINK(x)", "formula", "formula"),
        ("+SUM", "formula", "must not start with '+'"),
        ("-ORD1", "formula", "must not start with '-'"),
        ("@ORD1", "formula", "must not start with '@'"),
        ("ORD\x001", "control", "control"),
        ("ORD\t1", "control", "control"),
        ("ORD\u200b1", "control", "invisible"),
        ("ab", "length", "3 to 40"),
        ("x" * 41, "length", "it has 41"),
        ("ORD 12", "characters", "only letters, digits"),
        ("Bett#4", "characters", "only letters, digits"),
        ("", "required", "required"),
    ],
)
def test_references_that_could_identify_a_patient_or_break_exports_are_refused(ref, reason, words):
    with pytest.raises(DomainError) as err:
        orders.validate_hospital_order_reference(ref)
    assert err.value.code == "REFERENCE_INVALID" and err.value.status == 422
    assert err.value.details["reason"] == reason
    assert words in err.value.user_message


def test_impossible_dates_are_not_mistaken_for_birth_dates():
    assert orders.validate_hospital_order_reference("RX-2026-13-45") == "RX-2026-13-45"


def test_configured_pattern_replaces_the_format_but_not_the_privacy_checks():
    pattern = r"H\d{6}"
    assert orders.validate_hospital_order_reference("H123456", pattern) == "H123456"
    with pytest.raises(DomainError) as err:
        orders.validate_hospital_order_reference("PET-1", pattern)
    assert err.value.details["reason"] == "format" and pattern in err.value.user_message
    with pytest.raises(DomainError) as err:
        orders.validate_hospital_order_reference("Smith 1970-01-02", r".*")
    assert err.value.details["reason"] == "date"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_accepted_reference_is_safe_for_exports(ref):
    try:
        value = orders.validate_hospital_order_reference(ref)
    except DomainError as err:
        assert err.code == "REFERENCE_INVALID"
        return
    assert 3 <= len(value) <= 40
    assert value[0] not in "=+-@" and "@" not in value
    assert all(c.isalnum() or c in "-_/" for c in value)


# --------------------------------------------------------------------------- validation checklist

DELIVERY = dt.date(2026, 6, 1)


def test_checklist_passes_when_licence_covers_delivery_and_product_is_permitted():
    checklist = orders.validation_checklist(dt.date(2026, 6, 1), DELIVERY, "FDG", {"FDG", "PSMA"}, False)
    assert [(i.key, i.ok) for i in checklist] == [("licence", True), ("product", True), ("credit", True)]
    orders.check_validation(checklist)


@pytest.mark.parametrize(
    ("licence", "product", "credit_hold", "code"),
    [
        (dt.date(2026, 5, 31), "FDG", False, "LICENCE_EXPIRED"),
        (None, "FDG", False, "LICENCE_EXPIRED"),
        (dt.date(2027, 1, 1), "NAF", False, "PRODUCT_NOT_PERMITTED"),
        (dt.date(2027, 1, 1), "FDG", True, "CREDIT_HOLD"),
    ],
)
def test_validation_refuses_with_the_failed_check(licence, product, credit_hold, code):
    checklist = orders.validation_checklist(licence, DELIVERY, product, {"FDG"}, credit_hold)
    with pytest.raises(DomainError) as err:
        orders.check_validation(checklist)
    assert err.value.code == code and err.value.status == 409


def test_expired_licence_message_names_both_dates():
    (licence, *_) = orders.validation_checklist(dt.date(2026, 5, 31), DELIVERY, "FDG", {"FDG"}, False)
    assert "2026-05-31" in licence.message and "2026-06-01" in licence.message


def test_first_failure_is_raised_when_several_fail():
    checklist = orders.validation_checklist(None, DELIVERY, "NAF", {"FDG"}, True)
    with pytest.raises(DomainError) as err:
        orders.check_validation(checklist)
    assert err.value.code == "LICENCE_EXPIRED"
    assert [i.ok for i in checklist] == [False, False, False]


# --------------------------------------------------------------------------- order lines

CAL = dt.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)


def test_lines_are_normalised_to_float_mbq_and_utc():
    lines = orders.validate_lines(
        [
            {"requested_activity_mbq": 400, "calibration_at": CAL},
            {"requested_activity_mbq": "250.5", "calibration_at": "2026-06-01T10:00:00+02:00"},
        ]
    )
    assert [(line.line_no, line.requested_activity_mbq) for line in lines] == [(1, 400.0), (2, 250.5)]
    assert lines[0].calibration_at == dt.datetime(2026, 6, 1, 7, tzinfo=UTC)
    assert lines[1].calibration_at.tzinfo == UTC


@pytest.mark.parametrize("activity", [0, -1, float("nan"), float("inf"), 1e6 + 1, "abc", None, True])
def test_bad_activities_are_refused_with_the_field_named(activity):
    with pytest.raises(ValidationFailed) as err:
        orders.validate_lines(
            [
                {"requested_activity_mbq": 100, "calibration_at": CAL},
                {"requested_activity_mbq": activity, "calibration_at": CAL},
            ]
        )
    assert list(err.value.details["fields"]) == ["lines[1].requested_activity_mbq"]


@pytest.mark.parametrize("calibration", [dt.datetime(2026, 6, 1, 9), "2026-06-01T09:00", "tomorrow", None, 5])
def test_calibration_time_must_be_an_aware_datetime(calibration):
    with pytest.raises(ValidationFailed) as err:
        orders.validate_lines([{"requested_activity_mbq": 100, "calibration_at": calibration}])
    assert "lines[0].calibration_at" in err.value.details["fields"]


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationFailed) as err:
        orders.validate_lines([{"requested_activity_mbq": -1, "calibration_at": None}])
    assert len(err.value.details["fields"]) == 2


def test_too_many_lines_are_refused_never_cut():
    lines = [{"requested_activity_mbq": 100, "calibration_at": CAL}] * 3
    with pytest.raises(ValidationFailed) as err:
        orders.validate_lines(lines, max_lines=2)
    assert "at most 2 lines; this one has 3" in err.value.user_message


def test_an_order_needs_at_least_one_line():
    with pytest.raises(ValidationFailed):
        orders.validate_lines([])


# --------------------------------------------------------------------------- planning arithmetic


def test_f18_dose_of_400_mbq_at_09_needs_more_at_eos_07():
    eos = dt.datetime(2026, 6, 1, 7, 0, tzinfo=BERLIN)
    plan = orders.planned_activity_at_eos([(400, CAL)], eos, F18_HALF_LIFE_S, 1)
    expected = 400 * 2 ** (7200 / F18_HALF_LIFE_S)  # hand arithmetic: 853.38 MBq
    assert math.isclose(plan.total_mbq, expected, rel_tol=1e-12)
    assert round(plan.total_mbq, 2) == 853.38
    (dose,) = plan.doses
    assert dose.elapsed_s == 7200 and math.isclose(dose.decay_factor, expected / 400)


def test_overhead_factor_multiplies_the_sum_of_doses():
    eos = dt.datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    doses = [(400, eos + dt.timedelta(hours=2)), (200, eos)]
    plan = orders.planned_activity_at_eos(doses, eos, F18_HALF_LIFE_S, 1.2)
    assert math.isclose(plan.subtotal_mbq, 400 * 2 ** (7200 / F18_HALF_LIFE_S) + 200)
    assert math.isclose(plan.total_mbq, plan.subtotal_mbq * 1.2)


def test_elapsed_time_across_spring_change_is_real_time_not_wall_clock():
    # 01:00 CET -> 04:00 CEST on 2026-03-29 is 2 real hours, though the wall clock moves 3.
    eos = dt.datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN)
    cal = dt.datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN)
    plan = orders.planned_activity_at_eos([(100, cal)], eos, F18_HALF_LIFE_S, 1)
    assert plan.doses[0].elapsed_s == 7200
    assert math.isclose(plan.total_mbq, 100 * 2 ** (7200 / F18_HALF_LIFE_S))


def test_dose_calibrated_before_end_of_synthesis_is_refused():
    eos = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(DomainError) as err:
        orders.planned_activity_at_eos([(100, eos - dt.timedelta(minutes=1))], eos, F18_HALF_LIFE_S, 1)
    assert err.value.code == "CALIBRATION_BEFORE_EOS"


@pytest.mark.parametrize(
    ("half_life", "overhead", "code"),
    [(0, 1, "INVALID_HALF_LIFE"), (6586.2, 0.9, "INVALID_OVERHEAD"), (float("nan"), 1, "INVALID_HALF_LIFE")],
)
def test_planning_refuses_nonsense_parameters(half_life, overhead, code):
    eos = dt.datetime(2026, 6, 1, 7, tzinfo=UTC)
    with pytest.raises(DomainError) as err:
        orders.planned_activity_at_eos([(100, eos)], eos, half_life, overhead)
    assert err.value.code == code


def test_planning_refuses_a_naive_end_of_synthesis():
    with pytest.raises(DomainError) as err:
        orders.planned_activity_at_eos([(100, CAL)], dt.datetime(2026, 6, 1, 7), F18_HALF_LIFE_S, 1)
    assert err.value.code == "NAIVE_DATETIME"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.1, 1e4), st.integers(0, 6 * 3600)), min_size=1, max_size=10),
    st.floats(1, 3),
)
def test_planned_activity_is_never_less_than_what_is_ordered(rows, overhead):
    eos = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)
    doses = [(activity, eos + dt.timedelta(seconds=s)) for activity, s in rows]
    plan = orders.planned_activity_at_eos(doses, eos, F18_HALF_LIFE_S, overhead)
    assert plan.total_mbq >= sum(a for a, _ in rows) * overhead * (1 - 1e-12)
    assert math.isclose(plan.subtotal_mbq, sum(d.activity_at_eos_mbq for d in plan.doses))
