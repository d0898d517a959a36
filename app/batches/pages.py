"""What the batch pages need beyond the batch services: quick actions per list row, the guided
action dialogs (checklists and extra fields), the journey's signatures, QC summary and audit
entries, and the one page action (`perform_action`) that moves a batch from a dialog.

Every decision about what may happen comes from `app.batches.domain.flow` (the same machine as the
API) and every change goes through `app.batches.service.transition_batch`; this module only adds
the guidance a person needs at the moment of acting: what to check, what it will do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.batches import queries
from app.batches.domain import flow as batch_flow
from app.batches.domain.states import EXCEPTION_STATES, FINAL_STATES, label
from app.batches.models import Batch
from app.batches.service import batch_context, batch_contexts, transition_batch
from app.core.actor import Actor
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Customer, HotCell, Product, Site
from app.masterdata.preferences import current_activity_unit, parse_activity
from app.security.models import ESignature


# --- guidance: the checklist and extra fields of each action --------------------------------------
@dataclass(frozen=True)
class Field:
    name: str  # a metadata key the batch service understands
    label: str
    unit: str = ""  # "activity": typed in the person's unit (MBq or mCi), handed on in MBq
    kind: str = "number"
    help: str = ""


ACTIVITY = "activity"
YIELD_PLACES = 1  # batch.actual_yield_mbq keeps 0.1 MBq: a finer value is refused, never rounded


@dataclass(frozen=True)
class Guide:
    checklist: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()


# What the person confirms before the move. Ticked items are kept in the event's metadata, so the
# timeline shows what was confirmed, by whom and when (GMP: contemporaneous record of checks).
GUIDES: dict[str, Guide] = {
    "schedule": Guide(("Hot cell and synthesis module are booked for the planned window.",
                       "Target, reagent kit and cassette are available for this batch.")),
    "start_production": Guide(("Line clearance of the hot cell is done and recorded.",
                               "Reagent kit and cassette lots match the batch record.",
                               "Target irradiation is confirmed by the cyclotron operator.")),
    "complete_production": Guide(
        ("End-of-synthesis activity is measured in the dose calibrator.",
         "The product vial is transferred and labelled with the batch number."),
        (Field("actual_yield_mbq", "End-of-synthesis activity", ACTIVITY,
               help="Optional here; recorded on the batch as its actual yield."),),
    ),
    "start_qc": Guide(("The QC sample is taken and labelled with the batch number.",)),
    "pass_qc": Guide(("Every required QC result is entered and reviewed.",)),
    "fail_qc": Guide(("The failing result is documented and an OOS investigation is opened.",)),
    "retest_qc": Guide(("The OOS investigation invalidated the original result (reference in the note).",)),
    "start_qp_review": Guide(("The batch record and the QC results are complete.",)),
    "hold": Guide(("Dispensing and logistics are told to stop handling this batch.",)),
    "resume": Guide(("The reason for the hold is resolved and documented in the note.",)),
    "start_dispensing": Guide(("The dispensing hot cell is clear and today's dose calibrator check passed.",
                               "Orders and dose volumes for this batch are printed.")),
    "complete_dispensing": Guide(("Every dose unit is labelled and its activity measured.",)),
    "pack": Guide(("Dose units are in shielded containers with transport labels.",
                   "Transport index and package category are checked.")),
    "dispatch": Guide(("The courier has the transport documents.",
                       "Delivery windows of the hospitals are checked.")),
    "close": Guide(("Delivery is confirmed by the hospitals.",)),
    "cancel": Guide(("The orders planned on this batch are moved or their hospitals informed.",)),
    "abort_production": Guide(("The hot cell is safe and the synthesis module stopped.",)),
    "open_deviation": Guide(("The note says what happened, where and when.",)),
    "close_deviation": Guide(("Root cause and corrective action are documented.",)),
}  # fmt: skip


def guide_for(trigger: str) -> Guide:
    return GUIDES.get(trigger, Guide())


def _shown(field: Field) -> Field:
    """The field as the dialog shows it: an activity labelled with the signed-in person's unit (in mCi
    with the precision it can be kept at: 0.1 mCi is 3.7 MBq, 0.01 mCi would need 0.37 MBq)."""
    if field.unit != ACTIVITY:
        return field
    unit = current_activity_unit()
    if unit == "mCi":
        return replace(field, unit=unit, help=f"{field.help} At most 1 decimal; 1 mCi = 37 MBq.".strip())
    return replace(field, unit=unit)


def activity_field_mbq(field: Field, raw: str, unit: str) -> Decimal:
    """What the person typed in `unit` as MBq, exactly (10.5 mCi -> 388.5 MBq): a value needing more
    than 0.1 MBq is refused (TOO_PRECISE, 422), never rounded, and so is one above the batch
    service's range, stated in the person's unit (the service's own message names MBq)."""
    from app.batches.inputs import MAX_ACTIVITY_MBQ

    return parse_activity(
        raw, unit, field.name, YIELD_PLACES, label=field.label.lower(), at_most=MAX_ACTIVITY_MBQ
    )


def dialog_payload(batch: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """Everything the guided dialog shows for one action on one batch (JSON for the page)."""
    guide = guide_for(action["trigger"])
    dest = action["to_status"]
    return {
        "batch_id": batch["id"],
        "batch_no": batch["batch_no"],
        "version": batch["version"],
        "trigger": action["trigger"],
        "to_status": dest,
        "to_status_label": label(dest),
        "from_status": batch["status"],
        "from_status_label": label(batch["status"]),
        "label": action["label"],
        "title": action["title"],
        "impact": action["impact"],
        "needs_note": action["needs_note"],
        "needs_signature": action["needs_signature"],
        "is_override": action["is_override"],
        "forward": bool(action.get("forward")),
        "danger": dest in EXCEPTION_STATES or (dest in FINAL_STATES and dest != "CLOSED"),
        "checklist": list(guide.checklist),
        "fields": [_shown(f).__dict__ for f in guide.fields],
        "confirm": f"{action['label']} for {batch['batch_no']}: {label(batch['status'])} → {label(dest)}.",
    }


# --- quick actions on list rows -------------------------------------------------------------------
def row_actions(items: list[dict[str, Any]], actor: Actor, *, allow_admin_override: bool) -> dict[int, list]:
    """For each listed batch, the actions this user may take now (the machine's answer).

    The QC sessions of the rows whose moves depend on them are read in one query.
    """
    viewer = queries.viewer_for(actor)
    if viewer.restricted or not actor.roles:
        return {}
    rows = [
        SimpleNamespace(
            id=item["id"], status=item["status"], status_before_exception=item.get("status_before_exception")
        )
        for item in items
    ]
    contexts = batch_contexts(rows)
    out: dict[int, list] = {}
    for item in items:
        status = item["status"]
        ctx = contexts[item["id"]]
        actions = batch_flow.allowed_actions(ctx, actor.roles, allow_admin_override=allow_admin_override)
        out[item["id"]] = [_with_forward(status, a.as_dict()) for a in actions]
    return out


def _with_forward(status: str, action: dict[str, Any]) -> dict[str, Any]:
    row = batch_flow.find(status, action["to_status"])
    return {**action, "forward": bool(row and row.forward)}


def actions_with_forward(status: str, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_with_forward(status, a) for a in actions]


# --- the one page action --------------------------------------------------------------------------
def perform_action(
    batch_id: int,
    actor: Actor,
    *,
    to_status: str,
    note: str | None,
    version: int | None,
    confirmed: list[str],
    fields: dict[str, str],
    override: bool = False,
) -> tuple[Batch, str]:
    """Move a batch from a guided dialog; returns the batch and a message in words.

    Rule: every checklist item of the action is confirmed (422 CHECKLIST_INCOMPLETE otherwise);
    the confirmed items and the extra fields go into the event's metadata (an activity typed in the
    person's unit as exact MBq, with what was typed when that was mCi); the move itself is
    `transition_batch` (machine, note, version check, event and audit in one transaction).
    """
    batch = queries.get_visible(batch_id, actor)
    row = batch_flow.find(batch.status, (to_status or "").upper())
    guide = guide_for(row.trigger) if row else Guide()
    ticked = {c.strip() for c in confirmed}
    missing = [c for i, c in enumerate(guide.checklist) if str(i) not in ticked]
    if row and missing and _may_fire(batch, row, actor, override):
        raise DomainError(
            "CHECKLIST_INCOMPLETE",
            f"Confirm every check before you {row.label.lower()}: {missing[0]}",
            422,
            {"fields": {"checklist": missing}},
        )
    metadata: dict[str, Any] = {"source": "batch page"}
    if guide.checklist:
        metadata["checklist"] = list(guide.checklist)
    unit = current_activity_unit()
    for f in guide.fields:
        raw = (fields.get(f.name) or "").strip()
        if not raw:
            continue
        if f.unit != ACTIVITY:
            metadata[f.name] = raw
            continue
        metadata[f.name] = f"{activity_field_mbq(f, raw, unit):f}"  # the service takes MBq
        if unit != "MBq":  # what was typed, for the record
            metadata[f"{f.name.removesuffix('_mbq')}_entered"] = f"{raw} {unit}"
    moved = transition_batch(
        batch_id,
        (to_status or "").upper(),
        actor,
        note,
        metadata,
        override=override,
        expected_version=version,
    )
    title = row.title if row else "Status changed"
    return moved, f"{title}. {moved.batch_no} is now {label(moved.status)}."


def _may_fire(batch: Batch, row: batch_flow.Transition, actor: Actor, override: bool) -> bool:
    """Ask for the checklist only when the move is otherwise allowed: a refusal's own message
    (role, gate, block) is what the person needs to read, not a checklist reminder."""
    ctx = batch_flow.TransitionContext(
        batch=batch_context(batch),
        roles=actor.roles,
        override=override,
        allow_admin_override=bool(current_app.config.get("ALLOW_ADMIN_OVERRIDE")),
    )
    return batch_flow.refusal(ctx, row, for_listing=True) is None


def parse_version(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as err:
        raise ValidationFailed(
            "The page is out of date. Reload it and try again.", {"version": ["Bad."]}
        ) from err


# --- the journey's extras ---------------------------------------------------------------------------
def signatures_for(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Signature manifestations of the signed events, by signature id (one query)."""
    from app.security.esign import manifestation

    ids = {e["signature_id"] for e in events if e.get("signature_id")}
    if not ids:
        return {}
    rows = db.session.execute(select(ESignature).where(ESignature.id.in_(ids))).scalars()
    return {s.id: manifestation(s) for s in rows}


def qc_summary(batch_id: int) -> dict[str, Any] | None:
    """The QC session in a few words (status, progress, failures), or None without one."""
    from app.batches import hooks

    return hooks.qc_journey_summary(batch_id)


def audit_entries(batch_id: int, limit: int = 50) -> tuple[list, int]:
    """The batch's audit trail, newest first (Admin and Auditor see the Audit tab)."""
    from app.audit import queries as audit_query
    from app.core.web import site_tz

    filters = audit_query.AuditFilters(entity_type="Batch", entity_id=str(batch_id))
    return audit_query.search(filters, site_tz(), 1, limit)


# --- filter widgets ---------------------------------------------------------------------------------
def filter_options(actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """Choices for the filter bar (small master-data tables); a hospital gets no customer list."""
    viewer = queries.viewer_for(actor)

    def rows(stmt) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in db.session.execute(stmt)]

    products = rows(select(Product.id, Product.code, Product.name_en.label("name")).order_by(Product.code))
    sites = rows(select(Site.id, Site.code, Site.name).order_by(Site.code))
    hot_cells = rows(
        select(HotCell.id, HotCell.code, HotCell.name, Site.code.label("site_code"))
        .join(Site, Site.id == HotCell.site_id)
        .order_by(Site.code, HotCell.code)
    )
    customers = (
        []
        if viewer.restricted
        else rows(select(Customer.id, Customer.code, Customer.name).order_by(Customer.name))
    )
    return {"products": products, "sites": sites, "hot_cells": hot_cells, "customers": customers}
