"""QC evaluation rules: how a result becomes Pass / Fail, and how a criterion reads in words.

Pure functions on small value objects (no Flask, no SQLAlchemy), shared by the service, the API,
the pages and the tests.

Rounding convention (USP General Notices 7.20, Ph. Eur. 1.2): an observed value is rounded to the
decimal places the test reports *before* it is compared with the limits, half away from zero.
So with pH reported to one decimal, 4.45 is reported as 4.5 and meets "4.5–8.5"; 4.44 is 4.4 and
fails with "Out of range: 4.4 < 4.5". A value is rounded once: input with more decimals than the
database stores (6) is refused, so what is judged is exactly what is stored and shown. The criteria
people read say so: "4.5–8.5 (result rounded to 1 decimal)". An EQUAL rule needs stated decimals or
a tolerance, otherwise it would fail on measurement noise.

Inclusive (≥ ≤) and strict (> <) limits both exist because monographs use both: bacterial
endotoxins are "less than 175/V IU/mL", V the maximum recommended dose in mL. A per-volume limit
(`per_volume`) divides the stated number by the product's maximum volume; the quotient is rounded to
the test's decimals and shown with its arithmetic: "< 175/15 mL = 11.7 EU/mL".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.core.domain import DomainError

RESULT_TYPES = ("PASS_FAIL", "NUMERIC", "TEXT", "OPTION_LIST")
RULE_TYPES = ("MIN", "MAX", "GT", "LT", "RANGE", "EQUAL", "PASS_FAIL_ONLY", "CUSTOM_TEXT")
NUMERIC_RULES = ("MIN", "MAX", "GT", "LT", "RANGE", "EQUAL")
PER_VOLUME_RULES = ("MAX", "LT")  # a per-mL limit from a per-dose amount is always an upper limit
RESULT_STATUSES = ("PENDING", "PASS", "FAIL", "NOT_APPLICABLE")
VERDICTS = ("PASS", "FAIL")
TIMINGS = ("BEFORE_RELEASE", "AFTER_RELEASE")

# Status words shown on badges.
STATUS_LABELS = {"PENDING": "Pending", "PASS": "Pass", "FAIL": "Fail", "NOT_APPLICABLE": "N/A"}
RULE_LABELS = {
    "MIN": "Minimum (≥)",
    "MAX": "Maximum (≤)",
    "GT": "Greater than (>)",
    "LT": "Less than (<)",
    "RANGE": "Range (min–max)",
    "EQUAL": "Equal (± tolerance)",
    "PASS_FAIL_ONLY": "Pass / Fail only",
    "CUSTOM_TEXT": "Custom text",
}

MAX_DECIMAL_PLACES = 6
# Units written without a space after the number ("95%"); every other unit gets one ("175 EU/V").
_TIGHT_UNITS = ("%", "°C", "°")


@dataclass(frozen=True)
class SpecRule:
    """The acceptance criterion of one template line (a copy of QcSpecRule's fields)."""

    rule_type: str
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    target_value: Decimal | None = None
    tolerance: Decimal | None = None  # EQUAL: |value - target| <= tolerance (0 when absent)
    alert_min: Decimal | None = None  # alert limits lie inside the acceptance range
    alert_max: Decimal | None = None
    text_en: str | None = None
    text_ar: str | None = None
    fail_if_outside: bool = True  # False: "report only" — outside the limits is flagged, not failed
    per_volume: bool = False  # the limit is per dose: divided by the product's max volume V (mL)
    volume_ml: Decimal | None = None  # V, from the product (template) or as frozen (batch)
    decimal_places: int | None = None  # the test's reported places (per-volume limits round to them)


@dataclass(frozen=True)
class ResultSpec:
    """What evaluating one result needs: the test's result type and the line's rule and options."""

    result_type: str
    rule: SpecRule | None = None
    unit: str | None = None
    decimal_places: int | None = None
    allow_manual_pass_fail: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """What the analyst (or reviewer) typed for one result."""

    numeric_value: Decimal | None = None
    text_value: str | None = None
    pass_fail_value: str | None = None  # "PASS" / "FAIL": selection, explicit verdict or override
    not_applicable: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # PENDING / PASS / FAIL / NOT_APPLICABLE
    fail_reason: str | None = None
    alert: bool = False
    alert_reason: str | None = None
    reported_value: Decimal | None = None  # the numeric value rounded to the reported places
    auto_status: str | None = None  # what the rule alone said (numeric)
    overridden: bool = False
    needs_verdict: bool = False  # entered, but a person still has to say Pass or Fail
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- numbers -------------------------------------------------------------------------------------


# The largest magnitude a QC result may have (the column holds 12 integer digits; no reading of this
# laboratory comes near a billion in its unit, so larger is a typing error, not a measurement).
MEASUREMENT_MAX = Decimal("999999999.999999")
MEASUREMENT_MAX_TEXT = "999,999,999.999999"


def to_decimal(value: object, field_name: str = "numeric_value") -> Decimal | None:
    """Parse user input into a finite Decimal; None/"" is None. Bad input is a 422, never a 500."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _invalid_number(field_name)
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise _invalid_number(field_name) from None
    if not number.is_finite():
        raise _invalid_number(field_name)
    exponent = number.normalize().as_tuple().exponent
    too_fine = isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES
    if abs(number) > MEASUREMENT_MAX or (too_fine and abs(number) < Decimal(1).scaleb(-MAX_DECIMAL_PLACES)):
        # No instrument reads 99999999999 or 1e-400: refused with the range a result can hold.
        raise DomainError(
            "VALIDATION_ERROR",
            f"{number:.6g} is outside what a measurement can be: enter a value from "
            f"-{MEASUREMENT_MAX_TEXT} to {MEASUREMENT_MAX_TEXT} with at most {MAX_DECIMAL_PLACES} decimals.",
            422,
            {
                "fields": {field_name: f"between -{MEASUREMENT_MAX_TEXT} and {MEASUREMENT_MAX_TEXT}"},
                "min": str(-MEASUREMENT_MAX),
                "max": str(MEASUREMENT_MAX),
            },
        )
    if too_fine:
        # Stored with 6 decimals: a longer input would be judged on one value and stored as another.
        raise DomainError(
            "VALIDATION_ERROR",
            f"Enter at most {MAX_DECIMAL_PLACES} decimals ({number} has more); round the reading first.",
            422,
            {"fields": {field_name: "too many decimals"}},
        )
    return number


def _invalid_number(field_name: str) -> DomainError:
    return DomainError(
        "VALIDATION_ERROR",
        "Enter a number, for example 7.2.",
        422,
        {"fields": {field_name: "not a number"}},
    )


def round_reported(value: Decimal, decimal_places: int | None) -> Decimal:
    """The value as reported: rounded half away from zero to the test's decimal places."""
    if decimal_places is None:
        return value
    return value.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)


def fmt_number(value: Decimal | None, decimal_places: int | None = None) -> str:
    """A plain number: fixed places when given, else without trailing zeros or exponent."""
    if value is None:
        return ""
    if decimal_places is not None:
        return f"{round_reported(value, decimal_places):f}"
    text = f"{value.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def with_unit(number: str, unit: str | None) -> str:
    if not unit:
        return number
    return f"{number}{unit}" if unit in _TIGHT_UNITS else f"{number} {unit}"


# --- per-volume limits -----------------------------------------------------------------------------


def per_volume_limit(rule: SpecRule) -> Decimal | None:
    """175/V rounded to the test's decimals (6 when none are stated); None while V is unknown."""
    if not rule.per_volume or rule.max_value is None or not rule.volume_ml:
        return None
    places = rule.decimal_places if rule.decimal_places is not None else MAX_DECIMAL_PLACES
    return round_reported(rule.max_value / rule.volume_ml, places)


def upper_limit(rule: SpecRule) -> Decimal | None:
    """The upper acceptance limit the value is compared with (a per-volume limit divided by V)."""
    if rule.per_volume:
        limit = per_volume_limit(rule)
        if limit is None:
            raise DomainError(
                "VOLUME_REQUIRED",
                "This limit is per dose volume (175/V): the product needs its maximum volume (mL).",
                422,
            )
        return limit
    return rule.max_value


def _per_volume_text(rule: SpecRule, unit: str | None) -> str:
    sign = "<" if rule.rule_type == "LT" else "≤"
    per_ml = (unit or "").replace("/V", "/mL") or "per mL"
    number = fmt_number(rule.max_value)
    limit = per_volume_limit(rule)
    if limit is None:
        return f"{sign} {number}/V {per_ml} (V = maximum dose volume, mL)"
    v = fmt_number(rule.volume_ml)
    return f"{sign} {number}/{v} mL = {with_unit(fmt_number(limit, rule.decimal_places), per_ml)}"


# --- criteria display text -----------------------------------------------------------------------


def rounding_note(decimal_places: int | None) -> str | None:
    """ "(result rounded to 1 decimal)": said next to numeric criteria, where people read the limit."""
    if decimal_places is None:
        return None
    if decimal_places == 0:
        return "(result rounded to a whole number)"
    return f"(result rounded to {decimal_places} decimal{'s' if decimal_places != 1 else ''})"


def criteria_with_note(rule: SpecRule | None, unit: str | None, decimal_places: int | None) -> str:
    """The criterion as frozen on a batch: the limits and, for numeric rules, how results are rounded."""
    text = criteria_text(rule, unit)
    note = rounding_note(decimal_places) if rule is not None and rule.rule_type in NUMERIC_RULES else None
    return f"{text} {note}" if note else text


def criteria_text(rule: SpecRule | None, unit: str | None = None) -> str:
    """The criterion in words generated from the rule: "4.5–8.5", "≥95%", "< 175/15 mL = 11.7 EU/mL"."""
    if rule is None:
        return "Record result"
    t = rule.rule_type
    if rule.per_volume and t in PER_VOLUME_RULES:
        return _per_volume_text(rule, unit)
    if t == "RANGE":
        return with_unit(f"{fmt_number(rule.min_value)}–{fmt_number(rule.max_value)}", unit)
    if t == "MIN":
        return "≥" + with_unit(fmt_number(rule.min_value), unit)
    if t == "MAX":
        return "≤" + with_unit(fmt_number(rule.max_value), unit)
    if t == "GT":
        return "> " + with_unit(fmt_number(rule.min_value), unit)
    if t == "LT":
        return "< " + with_unit(fmt_number(rule.max_value), unit)
    if t == "EQUAL":
        target = fmt_number(rule.target_value)
        if rule.tolerance:
            return with_unit(f"{target} ± {fmt_number(rule.tolerance)}", unit)
        return "= " + with_unit(target, unit)
    if t == "PASS_FAIL_ONLY":
        return (rule.text_en or "").strip() or "Pass / Fail"
    return (rule.text_en or "").strip() or "See specification"


def criteria_text_ar(rule: SpecRule | None, unit: str | None = None) -> str:
    """Arabic criterion: numbers read the same; text rules use their Arabic text when given."""
    if rule is not None and rule.rule_type in ("PASS_FAIL_ONLY", "CUSTOM_TEXT") and rule.text_ar:
        return rule.text_ar.strip()
    if rule is not None and rule.rule_type == "PASS_FAIL_ONLY" and not rule.text_en:
        return "مطابق / غير مطابق"
    return criteria_text(rule, unit)


def range_line(rule: SpecRule | None, unit: str | None = None) -> str | None:
    """The secondary "Range: …" line: the numeric limits, when the rule has any."""
    if rule is None or rule.rule_type not in NUMERIC_RULES:
        return None
    return "Range: " + criteria_text(rule, unit)


_NUM = r"-?\d+(?:\.\d+)?"
_PARSERS = (
    ("RANGE", re.compile(rf"^(?P<min>{_NUM})–(?P<max>{_NUM})(?P<unit>.*)$")),
    ("MIN", re.compile(rf"^≥(?P<min>{_NUM})(?P<unit>.*)$")),
    ("MAX", re.compile(rf"^≤(?P<max>{_NUM})(?P<unit>.*)$")),
    ("GT", re.compile(rf"^> (?P<min>{_NUM})(?![\d./])(?P<unit>.*)$")),
    ("LT", re.compile(rf"^< (?P<max>{_NUM})(?![\d./])(?P<unit>.*)$")),
    ("EQUAL", re.compile(rf"^= (?P<target>{_NUM})(?P<unit>.*)$")),
    ("EQUAL", re.compile(rf"^(?P<target>{_NUM}) ± (?P<tol>{_NUM})(?P<unit>.*)$")),
)


def parse_criteria_text(text: str) -> tuple[SpecRule, str | None] | None:
    """Read a generated numeric criterion back into (rule, unit); None when it is free text.

    The builder uses it to recognise a typed criterion; the tests use it to prove that the generated
    text states the rule completely (render -> parse gives the same limits).
    """
    text = text.strip()
    for rule_type, pattern in _PARSERS:
        m = pattern.match(text)
        if not m:
            continue
        unit = m.group("unit")
        unit = unit[1:] if unit.startswith(" ") else unit
        groups = m.groupdict()
        rule = SpecRule(
            rule_type=rule_type,
            min_value=Decimal(groups["min"]) if groups.get("min") else None,
            max_value=Decimal(groups["max"]) if groups.get("max") else None,
            target_value=Decimal(groups["target"]) if groups.get("target") else None,
            tolerance=Decimal(groups["tol"]) if groups.get("tol") else None,
        )
        return rule, (unit or None)
    return None


# --- rule validation ------------------------------------------------------------------------------


def validate_rule(rule: SpecRule, result_type: str, decimal_places: int | None = None) -> None:
    """Refuse a rule that cannot be evaluated or reads wrongly (422 with the field in question).

    `decimal_places` are the test's: an EQUAL rule needs them or a tolerance (an exact match on an
    unrounded reading fails on noise).
    """
    t = rule.rule_type
    fields: dict[str, str] = {}
    if t not in RULE_TYPES:
        fields["rule_type"] = f"must be one of {', '.join(RULE_TYPES)}"
    elif t in NUMERIC_RULES and result_type != "NUMERIC":
        fields["rule_type"] = "numeric limits need a NUMERIC test"
    elif t == "RANGE":
        if rule.min_value is None:
            fields["min_value"] = "required for a range"
        if rule.max_value is None:
            fields["max_value"] = "required for a range"
        if rule.min_value is not None and rule.max_value is not None and rule.min_value > rule.max_value:
            fields["max_value"] = "must not be below the minimum"
    elif t in ("MIN", "GT") and rule.min_value is None:
        fields["min_value"] = "required"
    elif t in ("MAX", "LT") and rule.max_value is None:
        fields["max_value"] = "required"
    elif t == "EQUAL":
        if rule.target_value is None:
            fields["target_value"] = "required"
        if rule.tolerance is not None and rule.tolerance < 0:
            fields["tolerance"] = "must not be negative"
        elif not rule.tolerance and decimal_places is None:
            fields["tolerance"] = "or stated decimals of the test required (an exact match fails on noise)"
    if not fields and rule.per_volume:
        if t not in PER_VOLUME_RULES:
            fields["per_volume"] = "only for an upper limit (≤ or <)"
        elif rule.max_value is not None and rule.max_value <= 0:
            fields["max_value"] = "must be above zero for a per-volume limit"
    elif t == "CUSTOM_TEXT" and not (rule.text_en or "").strip():
        fields["text_en"] = "required for a custom text criterion"
    if not fields and t in NUMERIC_RULES:
        fields.update(_validate_alert_limits(rule))
    if fields:
        first = next(iter(fields.items()))
        raise DomainError(
            "VALIDATION_ERROR",
            f"The criterion is not complete: {first[0].replace('_', ' ')} {first[1]}.",
            422,
            {"fields": fields},
        )


def acceptance_bounds(rule: SpecRule) -> tuple[Decimal | None, Decimal | None]:
    """(lower, upper) acceptance limits; whether they are inclusive depends on the rule type."""
    if rule.rule_type == "RANGE":
        return rule.min_value, rule.max_value
    if rule.rule_type in ("MIN", "GT"):
        return rule.min_value, None
    if rule.rule_type in ("MAX", "LT"):
        if rule.per_volume:
            return None, per_volume_limit(rule)
        return None, rule.max_value
    if rule.rule_type == "EQUAL" and rule.target_value is not None:
        tol = rule.tolerance or Decimal(0)
        return rule.target_value - tol, rule.target_value + tol
    return None, None


def _validate_alert_limits(rule: SpecRule) -> dict[str, str]:
    lo, hi = acceptance_bounds(rule)
    fields = {}
    for name, value in (("alert_min", rule.alert_min), ("alert_max", rule.alert_max)):
        if value is None:
            continue
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            fields[name] = "must lie inside the acceptance limits"
    if rule.alert_min is not None and rule.alert_max is not None and rule.alert_min > rule.alert_max:
        fields["alert_max"] = "must not be below the lower alert limit"
    return fields


# --- evaluation ------------------------------------------------------------------------------------


def numeric_verdict(rule: SpecRule, reported: Decimal) -> tuple[bool, str | None]:
    """(passes, reason in words) for a reported value against a numeric rule."""
    n = f"{reported:f}"  # as reported: already rounded to the test's places
    t = rule.rule_type
    if t in ("RANGE", "MIN") and rule.min_value is not None and reported < rule.min_value:
        return False, f"Out of range: {n} < {fmt_number(rule.min_value)}"
    if t == "GT" and rule.min_value is not None and reported <= rule.min_value:
        return False, f"Out of range: {n} ≤ {fmt_number(rule.min_value)} (must be above)"
    hi = upper_limit(rule) if t in ("MAX", "LT") else rule.max_value
    if t in ("RANGE", "MAX") and hi is not None and reported > hi:
        return False, f"Out of range: {n} > {fmt_number(hi)}"
    if t == "LT" and hi is not None and reported >= hi:
        return False, f"Out of range: {n} ≥ {fmt_number(hi)} (must be below)"
    if t == "EQUAL" and rule.target_value is not None:
        tol = rule.tolerance or Decimal(0)
        if abs(reported - rule.target_value) > tol:
            expected = fmt_number(rule.target_value) + (f" ± {fmt_number(tol)}" if tol else "")
            return False, f"Out of range: {n} ≠ {expected}"
    return True, None


def alert_reason(rule: SpecRule, reported: Decimal) -> str | None:
    """Within the acceptance limits but beyond an alert limit: passes, flagged for attention."""
    n = f"{reported:f}"
    if rule.alert_min is not None and reported < rule.alert_min:
        return f"Alert limit: {n} < {fmt_number(rule.alert_min)}"
    if rule.alert_max is not None and reported > rule.alert_max:
        return f"Alert limit: {n} > {fmt_number(rule.alert_max)}"
    return None


def evaluate(spec: ResultSpec, entry: Entry) -> Verdict:
    """The status of one result from what was entered (raises DomainError for unusable input)."""
    if entry.not_applicable:
        if not (entry.reason or "").strip():
            raise _reason_required("Say why this test does not apply.")
        return Verdict("NOT_APPLICABLE")
    verdict_choice = _check_choice(entry.pass_fail_value)
    if spec.result_type == "PASS_FAIL":
        return _evaluate_selection(verdict_choice)
    if spec.result_type == "NUMERIC":
        return _evaluate_numeric(spec, entry, verdict_choice)
    if spec.result_type in ("TEXT", "OPTION_LIST"):
        return _evaluate_text(spec, entry, verdict_choice)
    raise DomainError("VALIDATION_ERROR", f"Unknown result type {spec.result_type}.", 422)


def _check_choice(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    choice = str(value).strip().upper()
    if choice not in VERDICTS:
        raise DomainError(
            "VALIDATION_ERROR",
            'Choose "PASS" or "FAIL".',
            422,
            {"fields": {"pass_fail_value": "must be PASS or FAIL"}},
        )
    return choice


def _evaluate_selection(choice: str | None) -> Verdict:
    if choice is None:
        return Verdict("PENDING")
    return Verdict(choice, fail_reason="Marked as Fail" if choice == "FAIL" else None)


def _evaluate_numeric(spec: ResultSpec, entry: Entry, choice: str | None) -> Verdict:
    value = entry.numeric_value
    if value is None:
        if choice is not None:
            raise DomainError(
                "VALIDATION_ERROR",
                "Enter the measured value before choosing Pass or Fail.",
                422,
                {"fields": {"numeric_value": "required"}},
            )
        return Verdict("PENDING")
    reported = round_reported(value, spec.decimal_places)
    rule = spec.rule
    if rule is None or rule.rule_type not in NUMERIC_RULES:
        # No numeric limit to apply: a person decides, as for text criteria.
        return _explicit(choice, reported_value=reported)
    passes, reason = numeric_verdict(rule, reported)
    auto = "PASS" if passes else "FAIL"
    alert = alert_reason(rule, reported) if passes else None
    notes: tuple[str, ...] = ()
    if not passes and not rule.fail_if_outside:
        # Report-only limit: the value is recorded and flagged; it does not fail the test.
        auto, alert, notes = "PASS", reason, ("Outside limits, reported for information",)
        reason = None
    if choice is not None and choice != auto:
        if not spec.allow_manual_pass_fail:
            raise DomainError(
                "MANUAL_VERDICT_NOT_ALLOWED",
                f"This test is judged by its limits ({criteria_text(rule, spec.unit)}); "
                "a manual Pass/Fail is not allowed for it.",
                409,
            )
        if not (entry.reason or "").strip():
            raise _reason_required("Give a reason for overriding the calculated result.")
        return Verdict(
            choice,
            fail_reason=f"Manual fail: {(entry.reason or '').strip()}" if choice == "FAIL" else None,
            alert=True,
            alert_reason=f"Manual override of calculated {auto.title()}" + (f" ({reason})" if reason else ""),
            reported_value=reported,
            auto_status=auto,
            overridden=True,
        )
    return Verdict(
        auto,
        fail_reason=reason,
        alert=alert is not None,
        alert_reason=alert,
        reported_value=reported,
        auto_status=auto,
        notes=notes,
    )


def _evaluate_text(spec: ResultSpec, entry: Entry, choice: str | None) -> Verdict:
    text = (entry.text_value or "").strip()
    if not text:
        if choice is not None:
            raise DomainError(
                "VALIDATION_ERROR",
                "Enter the observed result before choosing Pass or Fail.",
                422,
                {"fields": {"text_value": "required"}},
            )
        return Verdict("PENDING")
    if spec.result_type == "OPTION_LIST" and spec.options and text not in spec.options:
        raise DomainError(
            "VALIDATION_ERROR",
            "Choose one of: " + ", ".join(spec.options) + ".",
            422,
            {"fields": {"text_value": "not one of the options"}},
        )
    return _explicit(choice)


def _explicit(choice: str | None, reported_value: Decimal | None = None) -> Verdict:
    if choice is None:
        return Verdict("PENDING", reported_value=reported_value, needs_verdict=True)
    return Verdict(
        choice,
        fail_reason="Does not meet the criterion" if choice == "FAIL" else None,
        reported_value=reported_value,
    )


def _reason_required(message: str) -> DomainError:
    return DomainError("REASON_REQUIRED", message, 422, {"fields": {"reason": "required"}})


def display_value(
    result_type: str,
    numeric: Decimal | None,
    text: str | None,
    choice: str | None,
    unit: str | None = None,
    decimal_places: int | None = None,
) -> str:
    """A result as a person reads it: "7.2 pH", "Clear, colourless", "Pass"."""
    if result_type == "NUMERIC" and numeric is not None:
        return with_unit(fmt_number(numeric, decimal_places), unit)
    if result_type in ("TEXT", "OPTION_LIST") and text:
        return text
    if choice:
        return STATUS_LABELS.get(choice, choice)
    return "—"


# --- units checked when a rule is saved ------------------------------------------------------------

TIME_UNITS_S = {"s": Decimal(1), "min": Decimal(60), "h": Decimal(3600), "d": Decimal(86400)}


def half_life_in(unit: str | None, half_life_s: Decimal) -> Decimal | None:
    """The nuclide's half-life in the test's time unit, None when the unit is not a time unit."""
    per = TIME_UNITS_S.get((unit or "").strip())
    return None if per is None else Decimal(half_life_s) / per


def check_half_life_window(rule: SpecRule, unit: str | None, half_life_s: Decimal, nuclide: str) -> None:
    """A half-life identity window must contain the nuclide's half-life in the test's unit.

    The limits of a rule are in the test's unit: Cu-64's 12.7 h is 762 min, so a window 12.2–13.5
    on a test measured in minutes would fail every correct reading. Refused when saved (422).
    """
    if rule.rule_type not in NUMERIC_RULES:
        return
    expected = half_life_in(unit, half_life_s)
    if expected is None:
        raise DomainError(
            "UNIT_MISMATCH",
            f"A half-life identity test needs a time unit (s, min, h or d), not '{unit or 'none'}'.",
            422,
            {"fields": {"unit": "not a time unit"}},
        )
    lo, hi = acceptance_bounds(rule)
    if (lo is not None and expected < lo) or (hi is not None and expected > hi):
        shown = fmt_number(round_reported(expected, 1))
        raise DomainError(
            "UNIT_MISMATCH",
            f"The window {criteria_text(rule, unit)} does not contain {nuclide}'s half-life "
            f"({shown} {unit}). Limits are in the test's unit ({unit}).",
            422,
            {"fields": {"min_value": "outside the nuclide's half-life", "max_value": "check the unit"}},
        )
