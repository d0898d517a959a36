"""Issue 13 rules: strict limits, endotoxin per millilitre from the dose volume, one rounding rule,
EQUAL needs decimals or a tolerance, half-life windows in the test's unit."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.qc.domain.rules import (
    Entry,
    ResultSpec,
    SpecRule,
    check_half_life_window,
    criteria_text,
    criteria_with_note,
    evaluate,
    parse_criteria_text,
    to_decimal,
    validate_rule,
)

ENDO = SpecRule("LT", max_value=D("175"), per_volume=True, volume_ml=D("15"), decimal_places=1)


def status(rule: SpecRule, value: str, places: int | None = 1) -> str:
    return evaluate(ResultSpec("NUMERIC", rule, "EU/mL", places), Entry(numeric_value=D(value))).status


def test_endotoxin_limit_is_175_over_v_with_its_arithmetic():
    assert criteria_text(ENDO, "EU/mL") == "< 175/15 mL = 11.7 EU/mL"
    assert criteria_with_note(ENDO, "EU/mL", 1) == "< 175/15 mL = 11.7 EU/mL (result rounded to 1 decimal)"


def test_endotoxin_at_and_across_the_per_ml_limit():
    assert status(ENDO, "50") == "FAIL"  # passed against the raw 175 before
    assert status(ENDO, "11.7") == "FAIL"  # strict: equal to the limit fails
    assert status(ENDO, "11.64") == "PASS"  # reported 11.6
    assert status(ENDO, "11.65") == "FAIL"  # reported 11.7
    assert status(ENDO, "0") == "PASS"


def test_endotoxin_limit_follows_the_volume():
    ten = SpecRule("LT", max_value=D("175"), per_volume=True, volume_ml=D("10"), decimal_places=1)
    assert criteria_text(ten, "EU/mL") == "< 175/10 mL = 17.5 EU/mL"
    assert status(ten, "17.4") == "PASS" and status(ten, "17.5") == "FAIL"


def test_per_volume_without_volume_is_refused_not_guessed():
    no_v = SpecRule("LT", max_value=D("175"), per_volume=True, decimal_places=1)
    assert criteria_text(no_v, "EU/mL").startswith("< 175/V EU/mL")
    with pytest.raises(DomainError) as err:
        status(no_v, "1")
    assert err.value.code == "VOLUME_REQUIRED"


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (SpecRule("GT", min_value=D("95")), "95.0", "FAIL"),
        (SpecRule("GT", min_value=D("95")), "95.1", "PASS"),
        (SpecRule("MIN", min_value=D("95")), "95.0", "PASS"),
        (SpecRule("LT", max_value=D("10")), "10.0", "FAIL"),
        (SpecRule("LT", max_value=D("10")), "9.9", "PASS"),
        (SpecRule("MAX", max_value=D("10")), "10.0", "PASS"),
        (SpecRule("MAX", max_value=D("10")), "10.04", "PASS"),  # reported 10.0
        (SpecRule("MAX", max_value=D("10")), "10.05", "FAIL"),  # reported 10.1
    ],
)
def test_strict_and_inclusive_limits_at_the_boundary(rule, value, expected):
    assert status(rule, value) == expected


@given(
    st.decimals(min_value=-1000, max_value=1000, places=1),
    st.decimals(min_value=-1000, max_value=1000, places=1),
)
def test_strict_limits_are_the_inclusive_ones_minus_equality(value, limit):
    gt = status(SpecRule("GT", min_value=limit), str(value))
    ge = status(SpecRule("MIN", min_value=limit), str(value))
    lt = status(SpecRule("LT", max_value=limit), str(value))
    le = status(SpecRule("MAX", max_value=limit), str(value))
    assert (gt == "PASS") == (value > limit) and (ge == "PASS") == (value >= limit)
    assert (lt == "PASS") == (value < limit) and (le == "PASS") == (value <= limit)


@given(st.decimals(min_value=0, max_value=100, places=2), st.decimals(min_value=1, max_value=50, places=2))
def test_per_volume_verdict_is_the_rounded_value_below_the_rounded_quotient(value, volume):
    rule = SpecRule("LT", max_value=D("175"), per_volume=True, volume_ml=volume, decimal_places=1)
    limit = (D("175") / volume).quantize(D("0.1"), rounding="ROUND_HALF_UP")
    reported = value.quantize(D("0.1"), rounding="ROUND_HALF_UP")
    assert (status(rule, str(value)) == "PASS") == (reported < limit)


def test_strict_criteria_read_back():
    for rule, unit in (
        (SpecRule("GT", min_value=D("95")), "%"),
        (SpecRule("LT", max_value=D("0.5")), "mg/mL"),
    ):
        parsed, parsed_unit = parse_criteria_text(criteria_text(rule, unit))
        assert parsed.rule_type == rule.rule_type and parsed_unit == unit
    assert parse_criteria_text(criteria_text(ENDO, "EU/mL")) is None  # not mistaken for "< 175"


def test_more_decimals_than_stored_are_refused():
    assert to_decimal("4.449999") == D("4.449999")
    assert to_decimal("4.4500000") == D("4.4500000")  # trailing zeros are not precision
    with pytest.raises(DomainError) as err:
        to_decimal("4.4499996")
    assert err.value.status == 422 and "at most 6 decimals" in err.value.user_message


def test_rounding_note_on_numeric_criteria_only():
    assert criteria_with_note(SpecRule("RANGE", min_value=D("4.5"), max_value=D("8.5")), None, 1) == (
        "4.5–8.5 (result rounded to 1 decimal)"
    )
    assert criteria_with_note(SpecRule("MIN", min_value=D("95")), "%", 2).endswith(
        "(result rounded to 2 decimals)"
    )
    assert criteria_with_note(SpecRule("MAX", max_value=D("410")), "ppm", 0).endswith(
        "(result rounded to a whole number)"
    )
    assert criteria_with_note(SpecRule("PASS_FAIL_ONLY", text_en="Sterile"), None, 1) == "Sterile"
    assert criteria_with_note(SpecRule("MAX", max_value=D("3")), "%", None) == "≤3%"


def test_equal_needs_decimals_or_tolerance():
    with pytest.raises(DomainError) as err:
        validate_rule(SpecRule("EQUAL", target_value=D("1")), "NUMERIC", None)
    assert "tolerance" in err.value.details["fields"]
    validate_rule(SpecRule("EQUAL", target_value=D("1")), "NUMERIC", 0)
    validate_rule(SpecRule("EQUAL", target_value=D("511"), tolerance=D("10")), "NUMERIC", None)


def test_per_volume_only_on_upper_limits():
    with pytest.raises(DomainError):
        validate_rule(SpecRule("MIN", min_value=D("1"), per_volume=True), "NUMERIC", 1)
    validate_rule(SpecRule("LT", max_value=D("175"), per_volume=True), "NUMERIC", 1)


CU64_S = D("45723.6")  # 12.701 h


def test_cu64_window_in_minutes_accepts_762_min():
    check_half_life_window(
        SpecRule("RANGE", min_value=D("724.0"), max_value=D("800.2")), "min", CU64_S, "Cu-64"
    )
    spec = ResultSpec("NUMERIC", SpecRule("RANGE", min_value=D("724.0"), max_value=D("800.2")), "min", 1)
    assert evaluate(spec, Entry(numeric_value=D("762"))).status == "PASS"


def test_cu64_window_written_in_hours_on_a_minutes_test_is_refused():
    with pytest.raises(DomainError) as err:
        check_half_life_window(
            SpecRule("RANGE", min_value=D("12.2"), max_value=D("13.5")), "min", CU64_S, "Cu-64"
        )
    assert err.value.code == "UNIT_MISMATCH" and "762.1 min" in err.value.user_message
    check_half_life_window(SpecRule("RANGE", min_value=D("12.2"), max_value=D("13.5")), "h", CU64_S, "Cu-64")


def test_half_life_test_needs_a_time_unit():
    with pytest.raises(DomainError):
        check_half_life_window(SpecRule("RANGE", min_value=D("1"), max_value=D("2")), "%", CU64_S, "Cu-64")
