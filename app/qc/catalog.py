"""The QC test catalog: create and change test definitions, each change audited.

Rules enforced here (pages and API alike):
- a code is upper-case letters, digits and underscores, unique (422 with the field);
- OPTION_LIST tests need their options; decimal places are 0–6;
- while a DRAFT or ACTIVE template uses a test, the fields that decide how its results are judged
  (result type, unit, decimal places, options) are locked: changing them would silently change a
  signed template. Names, methods and Arabic texts may still be corrected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.domain.rules import RESULT_TYPES
from app.qc.models import ProductQcTemplate, ProductQcTemplateLine, QcTestDefinition
from app.qc.tx import atomic

FIELDS = (
    "code",
    "name_en",
    "name_ar",
    "method_en",
    "method_ar",
    "result_type",
    "options_text",
    "unit",
    "decimal_places",
    "description",
    "active",
)
JUDGEMENT_FIELDS = ("result_type", "unit", "decimal_places", "options_text")
_CODE = re.compile(r"^[A-Z0-9_]{1,32}$")


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise input: strip strings, empty -> None, options as lines, places as int."""
    out: dict[str, Any] = {}
    for key in FIELDS:
        if key not in data and not (key == "options_text" and "options" in data):
            continue
        value = data.get(key)
        if key == "options_text" and "options" in data:
            opts = data.get("options")
            value = (
                "\n".join(str(o).strip() for o in opts if str(o).strip()) if isinstance(opts, list) else opts
            )
        if isinstance(value, str):
            value = value.strip() or None
        if key == "code" and value:
            value = value.upper()
        if key == "result_type" and value:
            value = value.upper()
        if key == "decimal_places" and value is not None:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(
                    "Decimal places must be a whole number from 0 to 6.",
                    {"decimal_places": "not a whole number"},
                ) from None
        if key == "active":
            value = _bool(value)
        out[key] = value
    return out


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def validate(values: Mapping[str, Any], *, exclude_id: int | None = None) -> None:
    """422 with every field that is wrong."""
    errors: dict[str, str] = {}
    code = values.get("code")
    if not code or not _CODE.match(code):
        errors["code"] = "use 1–32 capital letters, digits or _ (e.g. PH, RCP, ENDOTOXIN)"
    else:
        q = select(QcTestDefinition.id).where(func.upper(QcTestDefinition.code) == code)
        if exclude_id:
            q = q.where(QcTestDefinition.id != exclude_id)
        if db.session.execute(q).first():
            errors["code"] = "a test with this code already exists"
    if not values.get("name_en"):
        errors["name_en"] = "required"
    if values.get("result_type") not in RESULT_TYPES:
        errors["result_type"] = "choose one of " + ", ".join(RESULT_TYPES)
    places = values.get("decimal_places")
    if places is not None and not 0 <= places <= 6:
        errors["decimal_places"] = "must be 0 to 6"
    if values.get("result_type") == "OPTION_LIST" and not (values.get("options_text") or "").strip():
        errors["options_text"] = "list the options, one per line"
    if values.get("result_type") != "NUMERIC" and places is not None:
        errors["decimal_places"] = "only numeric tests have decimal places"
    if errors:
        field, msg = next(iter(errors.items()))
        raise ValidationFailed(f"Check the test definition: {field.replace('_', ' ')} — {msg}.", errors)


def get(definition_id: int) -> QcTestDefinition:
    item = db.session.get(QcTestDefinition, definition_id)
    if item is None:
        raise NotFound("QC test definition")
    return item


def list_definitions(*, active: bool | None = None, q: str | None = None) -> list[QcTestDefinition]:
    query = select(QcTestDefinition).order_by(QcTestDefinition.code)
    if active is not None:
        query = query.where(QcTestDefinition.active.is_(active))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            QcTestDefinition.code.ilike(like)
            | QcTestDefinition.name_en.ilike(like)
            | QcTestDefinition.name_ar.ilike(like)
            | QcTestDefinition.method_en.ilike(like)
        )
    return list(db.session.execute(query).scalars())


def templates_using(definition_id: int, statuses=("DRAFT", "ACTIVE")) -> list[str]:
    """Product codes whose DRAFT/ACTIVE template contains the test ("FDG v3")."""
    rows = db.session.execute(
        select(Product.code, ProductQcTemplate.version)
        .join(ProductQcTemplate, ProductQcTemplate.product_id == Product.id)
        .join(ProductQcTemplateLine, ProductQcTemplateLine.template_id == ProductQcTemplate.id)
        .where(
            ProductQcTemplateLine.test_definition_id == definition_id,
            ProductQcTemplate.status.in_(statuses),
        )
        .order_by(Product.code)
    ).all()
    return [f"{code} v{version}" for code, version in rows]


@atomic
def create_test_definition(
    data: Mapping[str, Any], *, actor: Actor | None = None, commit: bool = True
) -> QcTestDefinition:
    """Add a test to the catalog (unique code; valid type, places and options); audited."""
    actor = actor or current_actor()
    values = {"result_type": "NUMERIC", "active": True, **_clean(data)}
    validate(values)
    item = QcTestDefinition(**values)
    db.session.add(item)
    db.session.flush()
    audit.record("QcTestDefinition", item.id, "CREATE", after=audit.snapshot(item), actor=actor)
    if commit:
        db.session.commit()
    return item


@atomic
def update_test_definition(
    definition_id: int, data: Mapping[str, Any], *, actor: Actor | None = None, reason: str | None = None
) -> QcTestDefinition:
    """Change a catalog test; judgement fields are locked while a DRAFT/ACTIVE template uses it."""
    actor = actor or current_actor()
    item = get(definition_id)
    before = audit.snapshot(item)
    changes = _clean(data)
    values = {**{k: getattr(item, k) for k in FIELDS}, **changes}
    validate(values, exclude_id=item.id)
    locked = [k for k in JUDGEMENT_FIELDS if k in changes and changes[k] != getattr(item, k)]
    if locked:
        users = templates_using(item.id)
        if users:
            raise DomainError(
                "QC_TEST_IN_USE",
                f"{item.name_en} is used by the QC templates {', '.join(users)}. Its result type, unit, "
                "decimal places and options decide how results are judged, so they cannot change under "
                "a signed template: add a new test definition and use it in a new template version.",
                409,
                {"fields": {k: "locked while in use" for k in locked}},
            )
    for key, value in changes.items():
        setattr(item, key, value)
    item.updated_at = func.now()
    db.session.flush()
    after = audit.snapshot(item, exclude=("updated_at",))
    before.pop("updated_at", None)
    if audit.diff(before, after):
        audit.record(
            "QcTestDefinition", item.id, "UPDATE", before=before, after=after, reason=reason, actor=actor
        )
    db.session.commit()
    return item


def to_dict(item: QcTestDefinition) -> dict[str, Any]:
    return {
        "id": item.id,
        "code": item.code,
        "name_en": item.name_en,
        "name_ar": item.name_ar,
        "method_en": item.method_en,
        "method_ar": item.method_ar,
        "result_type": item.result_type,
        "options": list(item.options),
        "unit": item.unit,
        "decimal_places": item.decimal_places,
        "description": item.description,
        "active": item.active,
    }
