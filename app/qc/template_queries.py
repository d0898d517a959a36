"""Reading QC templates: versions of a product, the active and draft template, and the dicts the pages,
the API and the e-signature content are built from."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.core.domain import NotFound
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.domain.rules import (
    NUMERIC_RULES,
    SpecRule,
    criteria_text_ar,
    criteria_with_note,
    fmt_number,
    range_line,
    rounding_note,
    with_unit,
)
from app.qc.models import ProductQcTemplate, ProductQcTemplateLine, QcSpecRule
from app.qc.template_lines import (
    RULE_FIELDS,
)


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


def lines_snapshot(tpl: ProductQcTemplate) -> list[dict[str, Any]]:
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
