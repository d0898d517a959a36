"""Product QC templates: versions, lines while DRAFT, signed activation, retirement.

Rules enforced here (pages and API alike):
- a product has at most one DRAFT and one ACTIVE version (the database's partial unique indexes
  are the last word; a race that loses gets 409 CONFLICT);
- a new version starts as a copy of the current ACTIVE one (or of a version chosen);
- lines change only while the version is DRAFT; an ACTIVE or RETIRED version is a signed record;
- activation needs at least one valid line and a QC Manager's (or Admin's) e-signature
  (scope QC_TEMPLATE_ACTIVATION, over the version's content); it retires the previous ACTIVE
  version in the same transaction;
- retiring needs a reason; a product without an ACTIVE template still gets batches, which cannot
  pass QC;
- every change writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.domain.rules import (
    NUMERIC_RULES,
    RULE_TYPES,
    TIMINGS,
    SpecRule,
    check_half_life_window,
    criteria_text_ar,
    criteria_with_note,
    fmt_number,
    range_line,
    rounding_note,
    to_decimal,
    validate_rule,
    with_unit,
)
from app.qc.models import ProductQcTemplate, ProductQcTemplateLine, QcSpecRule, QcTestDefinition
from app.qc.tx import atomic

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
ACTIVATION_SCOPE = "QC_TEMPLATE_ACTIVATION"
DEFAULT_MEANING = "I approve this QC template version for use on new batches"


# --- reading -----------------------------------------------------------------------------------------


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("product")
    return product


def get_template(product_id: int, template_id: int, *, lock: bool = False) -> ProductQcTemplate:
    tpl = db.session.get(ProductQcTemplate, template_id, with_for_update=lock)
    if tpl is None or tpl.product_id != product_id:
        raise NotFound("QC template")
    return tpl


def versions(product_id: int) -> list[ProductQcTemplate]:
    return list(
        db.session.execute(
            select(ProductQcTemplate)
            .where(ProductQcTemplate.product_id == product_id)
            .order_by(ProductQcTemplate.version.desc())
        ).scalars()
    )


def active_template(product_id: int) -> ProductQcTemplate | None:
    return db.session.execute(
        select(ProductQcTemplate).where(
            ProductQcTemplate.product_id == product_id, ProductQcTemplate.status == "ACTIVE"
        )
    ).scalar_one_or_none()


def draft_template(product_id: int) -> ProductQcTemplate | None:
    return db.session.execute(
        select(ProductQcTemplate).where(
            ProductQcTemplate.product_id == product_id, ProductQcTemplate.status == "DRAFT"
        )
    ).scalar_one_or_none()


def line_rule(line: ProductQcTemplateLine) -> SpecRule | None:
    """The line's rule with what evaluating it needs from around it: the product's max volume V
    (per-volume limits) and the test's decimals."""
    if line.spec_rule is None:
        return None
    product = line.template.product if line.template is not None else None
    return replace(
        line.spec_rule.to_domain(),
        volume_ml=product.max_volume_ml if product is not None else None,
        decimal_places=line.test_definition.decimal_places,
    )


def line_criteria(line: ProductQcTemplateLine) -> tuple[str, str, str | None]:
    """(criteria EN, criteria AR, "Range: …" line) as a batch will freeze them, with the rounding note."""
    rule = line_rule(line)
    unit = line.test_definition.unit
    places = line.test_definition.decimal_places
    generated = criteria_with_note(rule, unit, places)
    en = line.criteria_text_override_en or generated
    note = rounding_note(places) if rule is not None and rule.rule_type in NUMERIC_RULES else None
    generated_ar = criteria_text_ar(rule, unit) + (f" {note}" if note else "")
    ar = line.criteria_text_override_ar or (line.criteria_text_override_en or generated_ar)
    rng = range_line(rule, unit) if line.criteria_text_override_en else None
    return en, ar, rng


def alert_text(rule: QcSpecRule | None, unit: str | None) -> str | None:
    """ "Alert below 97%" / "Alert above 100 EU/V": the warning limits in words."""
    if rule is None:
        return None
    parts = []
    if rule.alert_min is not None:
        parts.append("below " + with_unit(fmt_number(rule.alert_min), unit))
    if rule.alert_max is not None:
        parts.append("above " + with_unit(fmt_number(rule.alert_max), unit))
    return ("Alert " + " or ".join(parts)) if parts else None


def rule_dict(rule: QcSpecRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {k: audit.jsonable(getattr(rule, k)) for k in RULE_FIELDS}


def line_dict(line: ProductQcTemplateLine) -> dict[str, Any]:
    en, ar, rng = line_criteria(line)
    test = line.test_definition
    return {
        "id": line.id,
        "display_order": line.display_order,
        "test_definition_id": test.id,
        "test_code": test.code,
        "test_name_en": test.name_en,
        "test_name_ar": test.name_ar,
        "method_en": test.method_en,
        "result_type": test.result_type,
        "unit": test.unit,
        "decimal_places": test.decimal_places,
        "is_required": line.is_required,
        "attachment_required": line.attachment_required,
        "timing": line.timing,
        "rule": rule_dict(line.spec_rule),
        "criteria_text_override_en": line.criteria_text_override_en,
        "criteria_text_override_ar": line.criteria_text_override_ar,
        "criteria_display_en": en,
        "criteria_display_ar": ar,
        "criteria_range_text": rng,
        "alert_text": alert_text(line.spec_rule, test.unit),
        "default_result_value": line.default_result_value,
        "allow_manual_pass_fail": line.allow_manual_pass_fail,
    }


def template_dict(tpl: ProductQcTemplate, *, with_lines: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": tpl.id,
        "product_id": tpl.product_id,
        "version": tpl.version,
        "status": tpl.status,
        "effective_from": audit.jsonable(tpl.effective_from),
        "effective_to": audit.jsonable(tpl.effective_to),
        "change_summary": tpl.change_summary,
        "created_at": audit.jsonable(tpl.created_at),
        "created_by": tpl.created_by_name,
        "activated_at": audit.jsonable(tpl.activated_at),
        "activation_signature_id": tpl.activation_signature_id,
        "line_count": len(tpl.lines),
    }
    if with_lines:
        out["lines"] = [line_dict(line) for line in tpl.lines]
    return out


def content_for_signature(tpl: ProductQcTemplate) -> dict[str, Any]:
    """What the QC Manager signs: product, version and every line with its frozen criteria."""
    return {
        "product_id": tpl.product_id,
        "version": tpl.version,
        "lines": [{k: v for k, v in line_dict(line).items() if k not in ("id",)} for line in tpl.lines],
    }


# --- line input ----------------------------------------------------------------------------------------


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


def _lines_snapshot(tpl: ProductQcTemplate) -> list[dict[str, Any]]:
    return [
        {
            "order": ln.display_order,
            "test": ln.test_definition.code,
            "criteria": line_criteria(ln)[0],
            "required": ln.is_required,
            "attachment_required": ln.attachment_required,
            "timing": ln.timing,
            "allow_manual_pass_fail": ln.allow_manual_pass_fail,
        }
        for ln in tpl.lines
    ]


def _flush_or_conflict(message: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as err:
        raise DomainError("CONFLICT", message, 409) from err


# --- actions -------------------------------------------------------------------------------------------


@atomic
def create_version(
    product_id: int,
    *,
    copy_from_template_id: int | None = None,
    lines: list[Any] | None = None,
    change_summary: str | None = None,
    actor: Actor | None = None,
    commit: bool = True,
) -> ProductQcTemplate:
    """Start a new DRAFT version: a copy of the ACTIVE one (or a chosen one), or the given lines."""
    actor = actor or current_actor()
    product = db.session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise NotFound("product")
    existing = draft_template(product_id)
    if existing is not None:
        raise DomainError(
            "QC_DRAFT_EXISTS",
            f"{product.code} already has a draft QC template (version {existing.version}). "
            "Edit or retire that draft first.",
            409,
        )
    next_version = (
        db.session.execute(
            select(func.coalesce(func.max(ProductQcTemplate.version), 0)).where(
                ProductQcTemplate.product_id == product_id
            )
        ).scalar_one()
        + 1
    )
    tpl = ProductQcTemplate(
        product_id=product_id,
        version=next_version,
        status="DRAFT",
        change_summary=_text(change_summary, 2000),
        created_by_id=actor.user_id,
        created_by_name=actor.printed_name,
    )
    source = None
    if lines is not None:
        tpl.lines = [_build_line(ln) for ln in parse_lines(lines, product)]
    else:
        source = (
            get_template(product_id, copy_from_template_id)
            if copy_from_template_id
            else active_template(product_id)
        )
        if source is not None:
            tpl.lines = [_copy_line(ln) for ln in source.lines]
    db.session.add(tpl)
    _flush_or_conflict("Someone else created a draft for this product at the same moment. Reload the page.")
    db.session.refresh(tpl)
    audit.record(
        "ProductQcTemplate",
        tpl.id,
        "CREATE_VERSION",
        after={
            "product": product.code,
            "version": tpl.version,
            "copied_from_version": source.version if source else None,
            "lines": _lines_snapshot(tpl),
        },
        reason=tpl.change_summary,
        actor=actor,
    )
    if commit:
        db.session.commit()
    return tpl


@atomic
def save_draft_lines(
    product_id: int,
    template_id: int,
    lines: list[Any],
    *,
    change_summary: str | None = None,
    actor: Actor | None = None,
) -> ProductQcTemplate:
    """Replace a DRAFT version's lines with the grid sent (order, tests, criteria, toggles)."""
    actor = actor or current_actor()
    tpl = get_template(product_id, template_id, lock=True)
    _require_draft(tpl)
    parsed = parse_lines(lines, tpl.product)
    before = _lines_snapshot(tpl)
    tpl.lines.clear()
    db.session.flush()
    tpl.lines.extend(_build_line(ln) for ln in parsed)
    if change_summary is not None:
        tpl.change_summary = _text(change_summary, 2000)
    tpl.updated_at = func.now()
    db.session.flush()
    db.session.refresh(tpl)
    after = _lines_snapshot(tpl)
    if before != after:
        audit.record(
            "ProductQcTemplate",
            tpl.id,
            "EDIT_LINES",
            before={"lines": before},
            after={"lines": after},
            reason=tpl.change_summary,
            actor=actor,
        )
    db.session.commit()
    return tpl


def _require_draft(tpl: ProductQcTemplate) -> None:
    if tpl.status != "DRAFT":
        raise DomainError(
            "QC_TEMPLATE_LOCKED",
            f"Version {tpl.version} is {tpl.status.lower()}: its lines can no longer change. "
            "Create a new version to make changes.",
            409,
        )


@atomic
def activate(
    product_id: int,
    template_id: int,
    *,
    password: str,
    meaning: str | None = None,
    comment: str | None = None,
    actor: Actor | None = None,
    commit: bool = True,
    signature_id: int | None = None,
) -> ProductQcTemplate:
    """Make a DRAFT version ACTIVE with a QC Manager's e-signature; the old ACTIVE one retires.

    `signature_id` is only for the seed, which records a System signature itself.
    """
    from app.security import esign

    actor = actor or current_actor()
    # The QC document lets the QC Manager or the Admin approve a template, each with an e-signature.
    if signature_id is None and not (actor.has_role("QC Manager") or actor.has_role("Admin")):
        raise DomainError("FORBIDDEN", "Only a QC Manager or an Admin can activate a QC template.", 403)
    db.session.get(Product, product_id, with_for_update=True)  # one activation per product at a time
    tpl = get_template(product_id, template_id, lock=True)
    if tpl.status != "DRAFT":
        raise DomainError(
            "QC_TEMPLATE_STATE",
            f"Only a draft can be activated; version {tpl.version} is {tpl.status.lower()}.",
            409,
        )
    if not tpl.lines:
        raise DomainError("QC_TEMPLATE_EMPTY", "Add at least one test before activating the template.", 422)
    for index, line in enumerate(tpl.lines):
        if line.spec_rule is not None:
            _parse_rule(rule_dict(line.spec_rule), line.test_definition, index)
        if not line.test_definition.active:
            raise DomainError(
                "QC_TEST_INACTIVE",
                f"{line.test_definition.name_en} is inactive in the catalog: remove it or reactivate it first.",
                409,
            )
    if signature_id is None:
        signature = esign.sign(
            actor,
            password,
            scope=ACTIVATION_SCOPE,
            entity_type="ProductQcTemplate",
            entity_id=tpl.id,
            meaning=(meaning or DEFAULT_MEANING).strip(),
            content=content_for_signature(tpl),
            comment=comment,
        )
        signature_id = signature.id
    previous = active_template(product_id)
    if previous is not None:
        previous.status = "RETIRED"
        previous.effective_to = func.now()
        previous.retired_at = func.now()
        previous.retired_by_id = actor.user_id
        _flush_or_conflict("The template changed at the same moment. Reload the page.")
        audit.record(
            "ProductQcTemplate",
            previous.id,
            "RETIRE",
            before={"status": "ACTIVE", "version": previous.version},
            after={"status": "RETIRED", "superseded_by_version": tpl.version},
            reason=f"Superseded by version {tpl.version}",
            actor=actor,
            signature_id=signature_id,
        )
    tpl.status = "ACTIVE"
    tpl.effective_from = func.now()
    tpl.activated_at = func.now()
    tpl.activated_by_id = actor.user_id
    tpl.activation_signature_id = signature_id
    _flush_or_conflict("Another version was activated at the same moment. Reload the page.")
    audit.record(
        "ProductQcTemplate",
        tpl.id,
        "ACTIVATE",
        before={"status": "DRAFT", "version": tpl.version},
        after={"status": "ACTIVE", "version": tpl.version, "lines": _lines_snapshot(tpl)},
        reason=comment,
        actor=actor,
        signature_id=signature_id,
    )
    if commit:
        db.session.commit()
    return tpl


@atomic
def retire(
    product_id: int, template_id: int, *, reason: str, actor: Actor | None = None
) -> ProductQcTemplate:
    """Retire a DRAFT or ACTIVE version (reason required). New batches then have no QC template."""
    actor = actor or current_actor()
    if not (reason or "").strip():
        raise DomainError(
            "REASON_REQUIRED",
            "Give a reason for retiring this template version.",
            422,
            {"fields": {"reason": "required"}},
        )
    tpl = get_template(product_id, template_id, lock=True)
    if tpl.status == "RETIRED":
        raise DomainError("QC_TEMPLATE_STATE", f"Version {tpl.version} is already retired.", 409)
    before = tpl.status
    tpl.status = "RETIRED"
    tpl.retired_at = func.now()
    tpl.retired_by_id = actor.user_id
    if before == "ACTIVE":
        tpl.effective_to = func.now()
    db.session.flush()
    audit.record(
        "ProductQcTemplate",
        tpl.id,
        "RETIRE",
        before={"status": before, "version": tpl.version},
        after={"status": "RETIRED", "version": tpl.version},
        reason=reason.strip(),
        actor=actor,
    )
    db.session.commit()
    return tpl
