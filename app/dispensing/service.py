"""Dispensing acts: plan dose units from order lines, dispense with a calibrator reading, cancel a
dose, mark the batch dispensed. Each function owns its transaction and commits once.

Rules enforced here (the arithmetic and the gates are `app.dispensing.domain`'s):
- dose units are made only from a released batch (or one already dispensing), never from a blocked
  or expired one, and only for order lines of orders planned into that batch;
- a dose is drawn for the activity that will still be the ordered activity at its calibration time;
  a calibrator reading outside the tolerance needs a note; the vial can never go below zero;
- the batch row is locked (FOR UPDATE) for every draw, so two dispensers share one vial balance;
- the first draw moves the batch to DISPENSING_IN_PROGRESS; marking it dispensed needs every linked
  order line drawn or its dose cancelled with a reason;
- the genealogy edge batch -> dose, the batch event, the audit row and the order's move are written in
  the same transaction as the draw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import service as audit
from app.batches import service as batches
from app.batches.models import Batch, BatchOrder
from app.core.actor import Actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.dispensing import batch_facts, order_moves
from app.dispensing.domain import activity as dose_activity
from app.dispensing.domain import labels, states
from app.dispensing.models import DoseUnit
from app.genealogy.service import record_edge
from app.masterdata.models import Site
from app.orders.models import Order, OrderLine

MAX_NOTE = 2000
_SNAPSHOT = (
    "status",
    "measured_activity_mbq",
    "measured_at",
    "volume_ml",
    "reading_deviation",
    "cancel_reason",
)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _snapshot(dose: DoseUnit) -> dict[str, Any]:
    return {k: audit.jsonable(getattr(dose, k)) for k in _SNAPSHOT}


def _note(note: str | None, field: str = "note") -> str | None:
    text = (note or "").strip() or None
    if text and len(text) > MAX_NOTE:
        raise ValidationFailed(f"The {field} may be at most {MAX_NOTE} characters.", {field: "Too long."})
    return text


def _gate(batch: Batch, now: dt.datetime) -> None:
    states.check_can_dispense(
        batch.status,
        batch_facts.expires_at(batch),
        now,
        hold_reason=batch_facts.hold_reason(batch),
        tz_name=batch_facts.tz_name(),
    )


def _fail(exc: BaseException) -> None:
    db.session.rollback()
    raise exc


# --- plan dose units ----------------------------------------------------------------------------
def create_dose_units(
    batch_id: int, actor: Actor, order_line_ids: Sequence[int] | None = None, now: dt.datetime | None = None
) -> list[DoseUnit]:
    """Plan one dose unit per order line (all undrawn lines of the batch's orders when none given).

    Rule: only from a RELEASED or DISPENSING_IN_PROGRESS batch (409 DISPENSING_BEFORE_RELEASE,
    BATCH_BLOCKED, EXPIRED), only for lines of orders planned into this batch (409
    ORDER_NOT_IN_BATCH), one live dose per line (409 DOSE_EXISTS).
    """
    now = _now(now)
    try:
        batch = batches.lock_batch(batch_id)
        _gate(batch, now)
        order_ids = set(
            db.session.execute(select(BatchOrder.order_id).where(BatchOrder.batch_id == batch.id)).scalars()
        )
        query = (
            select(OrderLine)
            .join(Order)
            .where(Order.id.in_(order_ids))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        if order_line_ids is not None:
            wanted = set(order_line_ids)
            lines = list(db.session.execute(select(OrderLine).where(OrderLine.id.in_(wanted))).scalars())
            if len(lines) != len(wanted):
                raise NotFound("order line")
            outside = [line.id for line in lines if line.order_id not in order_ids]
            if outside:
                raise DomainError(
                    "ORDER_NOT_IN_BATCH",
                    "These order lines belong to orders that are not planned into this batch.",
                    409,
                    {"order_line_ids": outside},
                )
        else:
            lines = list(db.session.execute(query).scalars())
        live = set(
            db.session.execute(
                select(DoseUnit.order_line_id).where(
                    DoseUnit.order_line_id.in_([line.id for line in lines]), DoseUnit.status != "CANCELLED"
                )
            ).scalars()
        )
        if order_line_ids is not None and live:
            raise DomainError(
                "DOSE_EXISTS",
                "A dose unit already exists for these order lines.",
                409,
                {"order_line_ids": sorted(live)},
            )
        created = []
        customers = set()
        for line in lines:
            if line.id in live:
                continue
            order = line.order
            if order.status in ("CANCELLED", "REJECTED"):
                continue
            dose = DoseUnit(
                order_line_id=line.id,
                order_id=order.id,
                batch_id=batch.id,
                product_id=batch.product_id,
                customer_id=order.customer_id,
                activity_at_calibration_mbq=line.requested_activity_mbq,
                calibration_at=line.calibration_at,
                status="PLANNED",
                created_at=now,
                updated_at=now,
            )
            db.session.add(dose)
            created.append(dose)
            customers.add(order.customer_id)
        db.session.flush()
        for dose in created:
            audit.record("DoseUnit", dose.id, "CREATE", after=audit.snapshot(dose), actor=actor)
        if created:
            batches.link_customers(batch, sorted(customers))
            batches.record_event(
                batch,
                "DOSE_UNIT",
                f"{len(created)} Dose Unit{'s' if len(created) != 1 else ''} Planned",
                actor,
                metadata={"dose_unit_ids": [d.id for d in created]},
                role=_role(actor),
            )
        db.session.commit()
    except Exception as exc:
        _fail(exc)
    return created


def _role(actor: Actor) -> str | None:
    return "Dispensing" if "Dispensing" in actor.roles else None


# --- dispense -----------------------------------------------------------------------------------
def draw_now(dose: DoseUnit, batch: Batch, now: dt.datetime, unit: str | None = None) -> dict[str, float]:
    """What to draw for `dose` at `now`: activity (MBq) and volume (mL) from the decay-corrected vial
    (NOT_ENOUGH_ACTIVITY when the vial can't give it, its message in `unit`: a page passes the
    person's, the API none, for both units)."""
    vial = batch_facts.vial(batch)
    activity = dose_activity.activity_to_draw_now(
        dose.activity_at_calibration_mbq, dose.calibration_at, now, vial.half_life_s
    )
    volume = dose_activity.volume_to_draw_ml(
        dose.activity_at_calibration_mbq,
        dose.calibration_at,
        vial.concentration_mbq_per_ml,
        vial.assay_at,
        now,
        vial.half_life_s,
        vial.remaining_volume_ml,
        vial.remaining(now).remaining_mbq,
        unit=unit,
    )
    return {"activity_mbq": activity, "volume_ml": volume}


def dispense_dose(
    dose_id: int,
    measured_activity_mbq: Any,
    actor: Actor,
    *,
    note: str | None = None,
    now: dt.datetime | None = None,
    unit: str | None = None,
) -> DoseUnit:
    """Record the draw of one dose with its dose calibrator reading (MBq); `unit` is the one the
    refusals quote activities in (the page's MBq or mCi; the API none: both units).

    Rule: the batch gate (released, not blocked, not expired), the dose machine (PLANNED ->
    DISPENSED), the vial balance (NOT_ENOUGH_ACTIVITY), the calibrator tolerance (a note outside
    ±10 %). The label data is frozen now. First draw: batch -> DISPENSING_IN_PROGRESS.
    """
    now = _now(now)
    note = _note(note)
    try:
        measured = _activity(measured_activity_mbq)
        dose = db.session.get(DoseUnit, dose_id)
        if dose is None:
            raise NotFound("dose unit")
        batch = batches.lock_batch(dose.batch_id)
        dose = db.session.execute(
            select(DoseUnit)
            .where(DoseUnit.id == dose_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        states.check_dose_transition(dose.status, "dispense")
        _gate(batch, now)
        planned = draw_now(dose, batch, now, unit)
        deviation = dose_activity.check_reading(
            planned["activity_mbq"], measured, _tolerance(), note, unit=unit
        )
        before = _snapshot(dose)
        dose.expected_activity_mbq = Decimal(f"{planned['activity_mbq']:.1f}")
        dose.measured_activity_mbq = measured
        dose.measured_at = now
        dose.volume_ml = Decimal(f"{max(planned['volume_ml'], 0.001):.3f}")
        dose.reading_deviation = Decimal(f"{deviation:.5f}")
        dose.reading_note = note
        dose.status = "DISPENSED"
        dose.dispensed_by_id = actor.user_id
        dose.dispensed_by_name = actor.printed_name
        dose.label_data = {**_label(dose, batch), "product_ar": batch_facts.product_of(batch).name_ar or ""}
        dose.updated_at = now
        dose.version += 1
        record_edge(
            ("BATCH", batch.id),
            ("DOSE", dose.id),
            "DOSE_DRAWN",
            actor.printed_name,
            quantity=measured,
            unit="MBq",
            occurred_at=now,
        )
        if batch.status == "RELEASED":
            batches.apply_transition(
                batch,
                "DISPENSING_IN_PROGRESS",
                actor,
                metadata={"first_dose": dose.id},
                system="Dispensing" not in actor.roles,
            )
        batches.record_event(
            batch,
            "DOSE_UNIT",
            f"Dose {dose.id} Dispensed",
            actor,
            note=note,
            metadata={
                "dose_unit_id": dose.id,
                "measured_mbq": float(measured),
                "deviation": round(deviation, 4),
            },
            role=_role(actor),
        )
        audit.record(
            "DoseUnit", dose.id, "DISPENSE", before=before, after=_snapshot(dose), reason=note, actor=actor
        )
        order_moves.follow_doses({dose.order_id})
        db.session.commit()
    except Exception as exc:
        _fail(exc)
    return dose


def _tolerance() -> float:
    return float(current_app.config.get("DOSE_READING_TOLERANCE", dose_activity.READING_TOLERANCE))


def _activity(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except Exception:
        value = Decimal("NaN")
    if isinstance(raw, bool) or not value.is_finite() or value <= 0 or value > Decimal("1e7"):
        raise ValidationFailed(
            "The calibrator reading must be a positive number of MBq.",
            {"measured_activity_mbq": "Not a valid activity."},
        )
    return value.quantize(Decimal("0.1"))


def _label(dose: DoseUnit, batch: Batch) -> labels.LabelFields:
    product = batch_facts.product_of(batch)
    site = db.session.get(Site, batch.site_id)
    config = current_app.config
    return labels.label_fields(
        product_name=product.name_ar or product.name_en
        if config.get("LABEL_ARABIC_NAME")
        else product.name_en,
        radionuclide=product.nuclide.symbol,
        batch_number=batch.batch_no,
        dose_unit_id=f"DU-{dose.id:06d}",
        activity_mbq_at_calibration=dose.activity_at_calibration_mbq,
        calibration_at=dose.calibration_at,
        volume_ml=dose.volume_ml,
        expires_at=batch_facts.expires_at(batch),
        half_life_s=product.nuclide.half_life_s,
        hospital_order_reference=dose.order.hospital_order_reference,
        manufacturer_name=str(config.get("MANUFACTURER_NAME") or (site.name if site else "RadioPharma")),
        manufacturer_address=str(
            config.get("MANUFACTURER_ADDRESS")
            or (site.address if site and site.address else site.name if site else "-")
        ),
        tz_name=batch_facts.tz_name(),
    )


# --- cancel / complete --------------------------------------------------------------------------
def cancel_dose(dose_id: int, reason: str | None, actor: Actor) -> DoseUnit:
    """Cancel a planned dose with a reason (NOTE_REQUIRED without one); a drawn dose is never
    cancelled silently (it goes through a deviation)."""
    reason = _note(reason, "reason")
    try:
        dose = db.session.get(DoseUnit, dose_id)
        if dose is None:
            raise NotFound("dose unit")
        batch = batches.lock_batch(dose.batch_id)
        db.session.refresh(dose, with_for_update=True)
        states.check_dose_transition(dose.status, "cancel", reason)
        before = _snapshot(dose)
        dose.status = "CANCELLED"
        dose.cancel_reason = reason
        dose.version += 1
        batches.record_event(
            batch,
            "DOSE_UNIT",
            f"Dose {dose.id} Cancelled",
            actor,
            note=reason,
            metadata={"dose_unit_id": dose.id},
            role=_role(actor),
        )
        audit.record(
            "DoseUnit", dose.id, "CANCEL", before=before, after=_snapshot(dose), reason=reason, actor=actor
        )
        order_moves.follow_doses({dose.order_id})
        db.session.commit()
    except Exception as exc:
        _fail(exc)
    return dose


def complete_dispensing(batch_id: int, actor: Actor) -> Batch:
    """Mark the batch dispensed: every order line of its orders drawn or its dose cancelled
    (409 DOSES_OUTSTANDING naming how many are left)."""
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("batch")
    outstanding = outstanding_doses(batch_id)
    if outstanding:
        raise DomainError(
            "DOSES_OUTSTANDING",
            f"{outstanding} dose{'s are' if outstanding != 1 else ' is'} not dispensed yet: dispense "
            "or cancel each (with a reason) before marking the batch dispensed.",
            409,
            {"outstanding": outstanding},
        )
    return batches.transition_batch(batch_id, "DISPENSED", actor)


def outstanding_doses(batch_id: int) -> int:
    """Order lines of the batch's orders not yet drawn: planned doses plus lines without a dose."""
    order_ids = select(BatchOrder.order_id).where(BatchOrder.batch_id == batch_id)
    lines = db.session.execute(
        select(OrderLine.id)
        .join(Order)
        .where(OrderLine.order_id.in_(order_ids), Order.status.notin_(("CANCELLED", "REJECTED")))
    ).scalars()
    doses = db.session.execute(
        select(DoseUnit.order_line_id, DoseUnit.status).where(DoseUnit.batch_id == batch_id)
    ).all()
    done = {line for line, status in doses if status != "PLANNED"}
    return sum(1 for line in lines if line not in done)
