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

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.core import clock
from app.core.actor import Actor, current_actor
from app.core.domain import DomainError, NotFound
from app.core.extensions import db
from app.masterdata.models import Product
from app.qc.models import ProductQcTemplate
from app.qc.template_lines import (
    _build_line,
    _copy_line,
    _parse_rule,
    _text,
    parse_lines,
)
from app.qc.template_queries import (
    active_template,
    content_for_signature,
    draft_template,
    get_template,
    lines_snapshot,
    rule_dict,
)
from app.qc.tx import atomic

ACTIVATION_SCOPE = "QC_TEMPLATE_ACTIVATION"
DEFAULT_MEANING = "I approve this QC template version for use on new batches"


# --- reading -----------------------------------------------------------------------------------------


# --- line input ----------------------------------------------------------------------------------------


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
            "lines": lines_snapshot(tpl),
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
    before = lines_snapshot(tpl)
    tpl.lines.clear()
    db.session.flush()
    tpl.lines.extend(_build_line(ln) for ln in parsed)
    if change_summary is not None:
        tpl.change_summary = _text(change_summary, 2000)
    tpl.updated_at = func.now()
    db.session.flush()
    db.session.refresh(tpl)
    after = lines_snapshot(tpl)
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
    tpl.effective_from = tpl.activated_at = clock.stamp()  # a story's time while the demo seed runs
    tpl.activated_by_id = actor.user_id
    tpl.activation_signature_id = signature_id
    _flush_or_conflict("Another version was activated at the same moment. Reload the page.")
    audit.record(
        "ProductQcTemplate",
        tpl.id,
        "ACTIVATE",
        before={"status": "DRAFT", "version": tpl.version},
        after={"status": "ACTIVE", "version": tpl.version, "lines": lines_snapshot(tpl)},
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
