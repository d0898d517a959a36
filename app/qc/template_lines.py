"""Template lines as the builder sends them: parsing, validation against the test catalog and the product,
and copying lines into a new version. Pure input checks live in the QC domain rules;
this module turns a request's lines into rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.domain.rules import (
    NUMERIC_RULES,
    RULE_TYPES,
    TIMINGS,
    SpecRule,
    check_half_life_window,
    to_decimal,
    validate_rule,
)
from app.qc.models import ProductQcTemplateLine, QcSpecRule, QcTestDefinition

RULE_FIELDS = (
    "rule_type",
    "min_value",
    "max_value",
    "target_value",
    "tolerance",
    "alert_min",
    "alert_max",
    "text_criteria_en",
    "text_criteria_ar",
    "fail_if_outside",
    "per_volume",
)

_DECIMAL_FIELDS = ("min_value", "max_value", "target_value", "tolerance", "alert_min", "alert_max")

_DOMAIN_NAMES = {"text_criteria_en": "text_en", "text_criteria_ar": "text_ar"}

HALF_LIFE_TEST = "RNID"  # radionuclidic identity by half-life: its window is checked against the nuclide


@dataclass
class LineInput:
    test: QcTestDefinition
    display_order: int
    is_required: bool
    attachment_required: bool
    timing: str
    rule: dict[str, Any] | None
    override_en: str | None
    override_ar: str | None
    default_result_value: str | None
    allow_manual_pass_fail: bool


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def _text(value: Any, limit: int = 300) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _find_test(raw: Mapping[str, Any], index: int) -> QcTestDefinition:
    test = None
    if raw.get("test_definition_id") not in (None, ""):
        try:
            test = db.session.get(QcTestDefinition, int(raw["test_definition_id"]))
        except (TypeError, ValueError):
            test = None
    elif raw.get("test_code"):
        test = db.session.execute(
            select(QcTestDefinition).where(QcTestDefinition.code == str(raw["test_code"]).strip().upper())
        ).scalar_one_or_none()
    if test is None:
        raise ValidationFailed(
            f"Line {index + 1}: choose a test from the catalog.", {f"lines[{index}].test": "unknown test"}
        )
    return test


def _parse_rule(raw: Any, test: QcTestDefinition, index: int) -> dict[str, Any] | None:
    if raw in (None, {}, ""):
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            f"Line {index + 1}: the criterion is not readable.", {f"lines[{index}].rule": "object"}
        )
    rule_type = str(raw.get("rule_type") or "").strip().upper()
    if not rule_type:
        return None
    if rule_type not in RULE_TYPES:
        raise ValidationFailed(
            f"Line {index + 1}: choose a rule type.", {f"lines[{index}].rule.rule_type": "unknown"}
        )
    values: dict[str, Any] = {"rule_type": rule_type}
    for name in _DECIMAL_FIELDS:
        try:
            values[name] = to_decimal(raw.get(name), name) if rule_type in NUMERIC_RULES else None
        except DomainError as err:
            raise ValidationFailed(
                f"Line {index + 1} ({test.name_en}): {name.replace('_', ' ')} is not a number.",
                {f"lines[{index}].rule.{name}": "not a number"},
            ) from err
    values["text_criteria_en"] = _text(raw.get("text_criteria_en"), 2000)
    values["text_criteria_ar"] = _text(raw.get("text_criteria_ar"), 2000)
    values["fail_if_outside"] = _bool(raw.get("fail_if_outside"), True)
    values["per_volume"] = _bool(raw.get("per_volume"), False) and rule_type in NUMERIC_RULES
    domain_rule = SpecRule(
        rule_type=rule_type,
        min_value=values["min_value"],
        max_value=values["max_value"],
        target_value=values["target_value"],
        tolerance=values["tolerance"],
        alert_min=values["alert_min"],
        alert_max=values["alert_max"],
        text_en=values["text_criteria_en"],
        text_ar=values["text_criteria_ar"],
        fail_if_outside=values["fail_if_outside"],
        per_volume=values["per_volume"],
    )
    try:
        validate_rule(domain_rule, test.result_type, test.decimal_places)
    except DomainError as err:
        fields = {f"lines[{index}].rule.{k}": v for k, v in err.details.get("fields", {}).items()}
        raise ValidationFailed(f"Line {index + 1} ({test.name_en}): {err.user_message}", fields) from err
    return values


def check_against_product(lines: list[LineInput], product: Product) -> None:
    """Rules that need the product: a per-volume limit needs its max volume; a half-life identity
    window must contain the nuclide's half-life in the test's unit (UNIT_MISMATCH, 422)."""
    nuclide = product.nuclide
    for index, line in enumerate(lines):
        if not line.rule:
            continue
        rule = SpecRule(**{_DOMAIN_NAMES.get(k, k): v for k, v in line.rule.items()})
        where = f"Line {index + 1} ({line.test.name_en})"
        if rule.per_volume and not product.max_volume_ml:
            raise ValidationFailed(
                f"{where}: the limit is per dose volume, but {product.code} has no maximum volume (mL). "
                "Enter the product's maximum recommended volume first.",
                {f"lines[{index}].rule.per_volume": "product has no max_volume_ml"},
            )
        if line.test.code == HALF_LIFE_TEST and nuclide is not None:
            try:
                check_half_life_window(rule, line.test.unit, nuclide.half_life_s, nuclide.symbol)
            except DomainError as err:
                fields = {f"lines[{index}].rule.{k}": v for k, v in err.details.get("fields", {}).items()}
                err.user_message = f"{where}: {err.user_message}"
                err.details = {"fields": fields}
                raise


def parse_lines(raw_lines: Any, product: Product | None = None) -> list[LineInput]:
    """Validate a whole lines grid (order from the list position unless given); with `product`,
    also the rules that depend on it (see check_against_product)."""
    if not isinstance(raw_lines, list):
        raise ValidationFailed("Send the template lines as a list.", {"lines": "must be a list"})
    lines: list[LineInput] = []
    seen: set[int] = set()
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            raise ValidationFailed(f"Line {index + 1} is not readable.", {f"lines[{index}]": "object"})
        test = _find_test(raw, index)
        if test.id in seen:
            raise ValidationFailed(
                f"{test.name_en} appears twice in the template.", {f"lines[{index}].test": "duplicate"}
            )
        seen.add(test.id)
        timing = str(raw.get("timing") or "BEFORE_RELEASE").strip().upper()
        if timing not in TIMINGS:
            raise ValidationFailed(
                f"Line {index + 1}: timing must be before or after release.",
                {f"lines[{index}].timing": "unknown"},
            )
        try:
            order = int(raw.get("display_order") or (index + 1))
        except (TypeError, ValueError):
            order = index + 1
        lines.append(
            LineInput(
                test=test,
                display_order=order,
                is_required=_bool(raw.get("is_required"), True),
                attachment_required=_bool(raw.get("attachment_required"), False),
                timing=timing,
                rule=_parse_rule(raw.get("rule"), test, index),
                override_en=_text(raw.get("criteria_text_override_en")),
                override_ar=_text(raw.get("criteria_text_override_ar")),
                default_result_value=_text(raw.get("default_result_value"), 200),
                allow_manual_pass_fail=_bool(raw.get("allow_manual_pass_fail"), False),
            )
        )
    lines.sort(key=lambda ln: ln.display_order)
    for position, line in enumerate(lines, start=1):
        line.display_order = position  # dense 1..n whatever the client sent
    if product is not None:
        check_against_product(lines, product)
    return lines


def _build_line(line: LineInput) -> ProductQcTemplateLine:
    return ProductQcTemplateLine(
        test_definition=line.test,
        display_order=line.display_order,
        is_required=line.is_required,
        attachment_required=line.attachment_required,
        timing=line.timing,
        spec_rule=QcSpecRule(**line.rule) if line.rule else None,
        criteria_text_override_en=line.override_en,
        criteria_text_override_ar=line.override_ar,
        default_result_value=line.default_result_value,
        allow_manual_pass_fail=line.allow_manual_pass_fail,
    )


def _copy_line(line: ProductQcTemplateLine) -> ProductQcTemplateLine:
    rule = line.spec_rule
    return ProductQcTemplateLine(
        test_definition_id=line.test_definition_id,
        display_order=line.display_order,
        is_required=line.is_required,
        attachment_required=line.attachment_required,
        timing=line.timing,
        spec_rule=QcSpecRule(**{k: getattr(rule, k) for k in RULE_FIELDS}) if rule else None,
        criteria_text_override_en=line.criteria_text_override_en,
        criteria_text_override_ar=line.criteria_text_override_ar,
        default_result_value=line.default_result_value,
        allow_manual_pass_fail=line.allow_manual_pass_fail,
    )
