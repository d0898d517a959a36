"""QC evaluation rules: every rule type at and around its limits, plus property tests."""

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
    criteria_text,
    criteria_text_ar,
    evaluate,
    fmt_number,
    parse_criteria_text,
    range_line,
    round_reported,
    to_decimal,
    validate_rule,
)

PH = ResultSpec(
    "NUMERIC", SpecRule("RANGE", min_value=D("4.5"), max_value=D("8.5")), unit=None, decimal_places=1
)
RCP = ResultSpec("NUMERIC", SpecRule("MIN", min_value=D("95"), alert_min=D("97")), unit="%", decimal_places=1)
ENDO = ResultSpec("NUMERIC", SpecRule("MAX", max_value=D("175")), unit="EU/V", decimal_places=0)


def num(spec: ResultSpec, value: str, **kw):
    return evaluate(spec, Entry(numeric_value=D(value), **kw))


# --- criteria text ---------------------------------------------------------------------------------


def test_criteria_text_generated_from_rule_like_the_qc_document():
    assert criteria_text(PH.rule) == "4.5–8.5"
    assert criteria_text(RCP.rule, "%") == "≥95%"
    assert criteria_text(ENDO.rule, "EU/V") == "≤175 EU/V"
    assert criteria_text(SpecRule("RANGE", min_value=D("105"), max_value=D("115")), "min") == "105–115 min"
    assert criteria_text(SpecRule("EQUAL", target_value=D("7.0"), tolerance=D("0.5"))) == "7 ± 0.5"
    assert criteria_text(SpecRule("EQUAL", target_value=D("511")), "keV") == "= 511 keV"
    assert criteria_text(SpecRule("PASS_FAIL_ONLY")) == "Pass / Fail"
    assert criteria_text(SpecRule("CUSTOM_TEXT", text_en="Clear, colourless")) == "Clear, colourless"


def test_trailing_zeros_of_limits_do_not_show():
    assert criteria_text(SpecRule("MIN", min_value=D("95.000")), "%") == "≥95%"
    assert fmt_number(D("4.50")) == "4.5"
    assert fmt_number(D("-0.0")) == "0"


def test_arabic_criteria_use_arabic_text_for_text_rules_and_same_numbers_otherwise():
    rule = SpecRule("PASS_FAIL_ONLY", text_en="Clear, colourless", text_ar="شفاف عديم اللون")
    assert criteria_text_ar(rule) == "شفاف عديم اللون"
    assert criteria_text_ar(PH.rule) == "4.5–8.5"


def test_range_line_only_for_numeric_rules():
    assert range_line(RCP.rule, "%") == "Range: ≥95%"
    assert range_line(SpecRule("CUSTOM_TEXT", text_en="x")) is None


# --- numeric rules at and around their limits ---------------------------------------------------------


@pytest.mark.parametrize(
    "value,status",
    [
        ("4.4", "FAIL"),
        ("4.44", "FAIL"),
        ("4.45", "PASS"),
        ("4.5", "PASS"),
        ("7", "PASS"),
        ("8.5", "PASS"),
        ("8.54", "PASS"),
        ("8.55", "FAIL"),
        ("8.6", "FAIL"),
    ],
)
def test_range_rounds_to_reported_places_before_comparing(value, status):
    assert num(PH, value).status == status


def test_range_fail_reason_in_words():
    v = num(PH, "4.4")
    assert v.fail_reason == "Out of range: 4.4 < 4.5"
    assert num(PH, "9.1").fail_reason == "Out of range: 9.1 > 8.5"


@pytest.mark.parametrize(
    "value,status", [("94.9", "FAIL"), ("94.95", "PASS"), ("95.0", "PASS"), ("99.9", "PASS")]
)
def test_min_rule(value, status):
    assert num(RCP, value).status == status


@pytest.mark.parametrize(
    "value,status", [("175", "PASS"), ("175.4", "PASS"), ("175.5", "FAIL"), ("0", "PASS")]
)
def test_max_rule_with_zero_places(value, status):
    assert num(ENDO, value).status == status


def test_max_fail_reason():
    assert num(ENDO, "180").fail_reason == "Out of range: 180 > 175"


@pytest.mark.parametrize(
    "value,status", [("6.5", "PASS"), ("7.5", "PASS"), ("6.4", "FAIL"), ("7.6", "FAIL"), ("7.0", "PASS")]
)
def test_equal_within_tolerance(value, status):
    spec = ResultSpec(
        "NUMERIC", SpecRule("EQUAL", target_value=D("7.0"), tolerance=D("0.5")), decimal_places=1
    )
    assert num(spec, value).status == status


def test_equal_without_tolerance_compares_reported_value():
    spec = ResultSpec("NUMERIC", SpecRule("EQUAL", target_value=D("511")), unit="keV", decimal_places=0)
    assert num(spec, "511.4").status == "PASS"
    v = num(spec, "512")
    assert v.status == "FAIL" and v.fail_reason == "Out of range: 512 ≠ 511"


def test_alert_limit_inside_range_passes_but_flags():
    v = num(RCP, "96.2")
    assert v.status == "PASS" and v.alert and v.alert_reason == "Alert limit: 96.2 < 97"
    assert not num(RCP, "98.0").alert


def test_report_only_rule_flags_instead_of_failing():
    spec = ResultSpec("NUMERIC", SpecRule("MAX", max_value=D("10"), fail_if_outside=False), decimal_places=0)
    v = num(spec, "12")
    assert v.status == "PASS" and v.alert and "12 > 10" in v.alert_reason


def test_numeric_without_value_is_pending():
    assert evaluate(PH, Entry()).status == "PENDING"


def test_numeric_choice_without_value_refused():
    with pytest.raises(DomainError) as e:
        evaluate(PH, Entry(pass_fail_value="PASS"))
    assert e.value.status == 422


# --- manual override ---------------------------------------------------------------------------------


def test_manual_override_refused_without_allow_flag():
    with pytest.raises(DomainError) as e:
        num(PH, "4.4", pass_fail_value="PASS", reason="instrument drift")
    assert e.value.code == "MANUAL_VERDICT_NOT_ALLOWED"


def test_manual_override_needs_reason():
    spec = ResultSpec("NUMERIC", PH.rule, decimal_places=1, allow_manual_pass_fail=True)
    with pytest.raises(DomainError) as e:
        num(spec, "4.4", pass_fail_value="PASS")
    assert e.value.code == "REASON_REQUIRED"


def test_manual_override_with_reason_is_flagged():
    spec = ResultSpec("NUMERIC", PH.rule, decimal_places=1, allow_manual_pass_fail=True)
    v = num(spec, "4.4", pass_fail_value="PASS", reason="re-measured, meter recalibrated")
    assert v.status == "PASS" and v.overridden and v.auto_status == "FAIL" and v.alert


def test_choice_that_agrees_with_the_rule_is_not_an_override():
    v = num(PH, "7.0", pass_fail_value="PASS")
    assert v.status == "PASS" and not v.overridden


# --- pass/fail, text, options ----------------------------------------------------------------------


def test_pass_fail_by_selection():
    spec = ResultSpec("PASS_FAIL", SpecRule("PASS_FAIL_ONLY", text_en="Clear, colourless"))
    assert evaluate(spec, Entry(pass_fail_value="PASS")).status == "PASS"
    assert evaluate(spec, Entry(pass_fail_value="fail")).status == "FAIL"
    assert evaluate(spec, Entry()).status == "PENDING"
    with pytest.raises(DomainError):
        evaluate(spec, Entry(pass_fail_value="MAYBE"))


def test_text_needs_explicit_verdict():
    spec = ResultSpec("TEXT", SpecRule("CUSTOM_TEXT", text_en="Conforms to reference"))
    v = evaluate(spec, Entry(text_value="Conforms"))
    assert v.status == "PENDING" and v.needs_verdict
    assert evaluate(spec, Entry(text_value="Conforms", pass_fail_value="PASS")).status == "PASS"


def test_option_list_accepts_only_its_options():
    spec = ResultSpec("OPTION_LIST", None, options=("Clear", "Turbid"))
    assert evaluate(spec, Entry(text_value="Clear", pass_fail_value="PASS")).status == "PASS"
    with pytest.raises(DomainError):
        evaluate(spec, Entry(text_value="Cloudy"))


def test_numeric_with_text_rule_needs_verdict():
    spec = ResultSpec("NUMERIC", SpecRule("CUSTOM_TEXT", text_en="Report"), decimal_places=2)
    v = num(spec, "1.234")
    assert v.needs_verdict and v.reported_value == D("1.23")


def test_not_applicable_needs_reason():
    with pytest.raises(DomainError):
        evaluate(PH, Entry(not_applicable=True))
    assert evaluate(PH, Entry(not_applicable=True, reason="not sampled")).status == "NOT_APPLICABLE"


# --- input parsing and rule validation ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "NaN", "inf", "1e400", True, "--1"])
def test_bad_numbers_are_422(bad):
    with pytest.raises(DomainError) as e:
        to_decimal(bad)
    assert e.value.status == 422


def test_decimal_comma_accepted():
    assert to_decimal("7,2") == D("7.2")
    assert to_decimal("") is None


@pytest.mark.parametrize(
    "rule,result_type",
    [
        (SpecRule("RANGE", min_value=D(9), max_value=D(1)), "NUMERIC"),
        (SpecRule("RANGE", min_value=D(1)), "NUMERIC"),
        (SpecRule("MIN"), "NUMERIC"),
        (SpecRule("MIN", min_value=D(1)), "TEXT"),
        (SpecRule("CUSTOM_TEXT"), "TEXT"),
        (SpecRule("MIN", min_value=D(95), alert_min=D(90)), "NUMERIC"),
        (SpecRule("EQUAL", target_value=D(1), tolerance=D(-1)), "NUMERIC"),
        (SpecRule("BOGUS"), "NUMERIC"),
    ],
)
def test_invalid_rules_refused(rule, result_type):
    with pytest.raises(DomainError) as e:
        validate_rule(rule, result_type)
    assert e.value.status == 422


def test_valid_rule_accepted():
    validate_rule(RCP.rule, "NUMERIC")
    validate_rule(
        SpecRule("RANGE", min_value=D(1), max_value=D(2), alert_min=D("1.2"), alert_max=D("1.8")), "NUMERIC"
    )


# --- properties ---------------------------------------------------------------------------------------

decimals = st.decimals(
    min_value=D("-1000"), max_value=D("1000"), allow_nan=False, allow_infinity=False, places=4
)
places = st.integers(min_value=0, max_value=3)


@given(v=decimals, lo=decimals, hi=decimals, dp=places)
def test_range_verdict_equals_rounded_comparison(v, lo, hi, dp):
    lo, hi = min(lo, hi), max(lo, hi)
    spec = ResultSpec("NUMERIC", SpecRule("RANGE", min_value=lo, max_value=hi), decimal_places=dp)
    verdict = evaluate(spec, Entry(numeric_value=v))
    assert (verdict.status == "PASS") == (lo <= round_reported(v, dp) <= hi)
    assert (verdict.fail_reason is None) == (verdict.status == "PASS")


@given(v=decimals, lo=decimals, dp=places)
def test_min_verdict_equals_rounded_comparison(v, lo, dp):
    spec = ResultSpec("NUMERIC", SpecRule("MIN", min_value=lo), decimal_places=dp)
    assert (evaluate(spec, Entry(numeric_value=v)).status == "PASS") == (round_reported(v, dp) >= lo)


@given(v=decimals, hi=decimals, dp=places)
def test_max_verdict_equals_rounded_comparison(v, hi, dp):
    spec = ResultSpec("NUMERIC", SpecRule("MAX", max_value=hi), decimal_places=dp)
    assert (evaluate(spec, Entry(numeric_value=v)).status == "PASS") == (round_reported(v, dp) <= hi)


@given(v=decimals, target=decimals, tol=st.decimals(min_value=0, max_value=10, places=2), dp=places)
def test_equal_verdict_equals_tolerance_comparison(v, target, tol, dp):
    spec = ResultSpec("NUMERIC", SpecRule("EQUAL", target_value=target, tolerance=tol), decimal_places=dp)
    expected = abs(round_reported(v, dp) - target) <= tol
    assert (evaluate(spec, Entry(numeric_value=v)).status == "PASS") == expected


units = st.sampled_from([None, "%", "EU/V", "min", "ppm", "keV", "mL"])


@given(
    lo=decimals,
    hi=decimals,
    unit=units,
    rule_type=st.sampled_from(["RANGE", "MIN", "MAX", "EQUAL"]),
    tol=st.one_of(st.none(), st.decimals(min_value=D("0.01"), max_value=10, places=2)),
)
def test_display_text_round_trips(lo, hi, unit, rule_type, tol):
    lo, hi = min(lo, hi), max(lo, hi)
    rule = {
        "RANGE": SpecRule("RANGE", min_value=lo, max_value=hi),
        "MIN": SpecRule("MIN", min_value=lo),
        "MAX": SpecRule("MAX", max_value=hi),
        "EQUAL": SpecRule("EQUAL", target_value=lo, tolerance=tol),
    }[rule_type]
    parsed = parse_criteria_text(criteria_text(rule, unit))
    assert parsed is not None
    back, back_unit = parsed
    assert back.rule_type == rule.rule_type
    assert back_unit == unit
    for name in ("min_value", "max_value", "target_value"):
        assert getattr(back, name) == getattr(rule, name)
    assert (back.tolerance or 0) == (rule.tolerance or 0)


def test_free_text_does_not_parse():
    assert parse_criteria_text("Clear, colourless, free of particles") is None
