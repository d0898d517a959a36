"""Logistics acts: create a shipment, pack a package, dispatch, confirm delivery, cancel.
Each function owns its transaction and commits once.

Rules enforced here (the arithmetic and machines are `app.logistics.domain`'s and the dose gate
`app.dispensing.domain`'s):
- packing and dispatch inherit each dose's batch disposition: refused while a batch is on hold,
  rejected or expired (BATCH_BLOCKED with the QP's reason / EXPIRED);
- a package's TI, category and UN number come from its measured dose rates and the contents'
  activity at packing time against the nuclide's A2 value (transport_a2);
- the chain of custody gets one entry per hand-over, in order (packed, courier, received);
- the genealogy edge dose -> shipment is written when the dose is packed;
- batches move to PACKED / DISPATCHED when all their live doses are packed / shipped; orders to
  SHIPPED / DELIVERED when all their live doses are;
- a hospital user confirms delivery only of its own hospital's shipments (404 otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.audit import service as audit
from app.batches import service as batches
from app.batches.models import Batch
from app.core.actor import Actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.dispensing import batch_facts, order_moves
from app.dispensing.access import customer_scope
from app.dispensing.domain import states as dose_states
from app.dispensing.models import DoseUnit
from app.genealogy.service import record_edge
from app.logistics.domain import shipments as flow
from app.logistics.domain import transport
from app.logistics.models import CustodyEntry, Package, Shipment, TransportA2, package_dose
from app.masterdata.domain import decay
from app.masterdata.models import Customer, CustomerUser
from app.notifications.service import notify

MAX_TEXT = 200


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _text(raw: Any, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed(f"{field} must be text.", {field: "Not text."})
    text = (raw or "").strip() or None
    if required and not text:
        raise ValidationFailed(f"{field} is required.", {field: "Required."})
    if text and len(text) > limit:
        raise ValidationFailed(f"{field} may be at most {limit} characters.", {field: "Too long."})
    return text


def _rate(raw: Any, field: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if raw is None or isinstance(raw, bool) or not value.is_finite() or value < 0 or value > 1000:
        raise ValidationFailed(
            f"{field} must be a dose rate in mSv/h (0 or more).", {field: "Not a dose rate."}
        )
    return value


def lock_shipment(shipment_id: int, actor: Actor | None = None) -> Shipment:
    shipment = db.session.execute(
        select(Shipment)
        .where(Shipment.id == shipment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    own = customer_scope(actor) if actor is not None else None
    if shipment is None or (own is not None and shipment.customer_id != own):
        raise NotFound("shipment")
    return shipment


def _snapshot(shipment: Shipment) -> dict[str, Any]:
    keys = (
        "status",
        "courier",
        "planned_departure_at",
        "dispatched_at",
        "delivered_at",
        "received_by",
        "cancel_reason",
    )
    return {k: audit.jsonable(getattr(shipment, k)) for k in keys}


def _custody(
    shipment: Shipment,
    kind: str,
    actor: Actor,
    name: str | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    recorded = list(
        db.session.execute(
            select(CustodyEntry.kind).where(CustodyEntry.shipment_id == shipment.id).order_by(CustodyEntry.id)
        ).scalars()
    )
    flow.check_custody_entry(recorded, kind)
    db.session.add(
        CustodyEntry(
            shipment_id=shipment.id,
            kind=kind,
            actor_user_id=actor.user_id,
            actor_name=name or actor.printed_name,
            note=note,
            **({"occurred_at": at} if at is not None else {}),
        )
    )


def _move(
    shipment: Shipment, trigger: str, actor: Actor, reason: str | None = None
) -> flow.ShipmentTransition:
    row = flow.check_shipment_transition(shipment.status, trigger, reason)
    shipment.status = row.dest
    shipment.version += 1
    return row


def _next_no(now: dt.datetime) -> str:
    day = now.astimezone(batch_facts_tz()).date()
    prefix = f"SHP-{day:%Y%m%d}-"
    count = db.session.execute(
        select(func.count()).select_from(Shipment).where(Shipment.shipment_no.like(prefix + "%"))
    ).scalar_one()
    return f"{prefix}{count + 1:04d}"


def batch_facts_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(batch_facts.tz_name())


# --- create -------------------------------------------------------------------------------------
def create_shipment(
    customer_id: Any,
    actor: Actor,
    *,
    courier: Any = None,
    planned_departure_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Shipment:
    """Plan a shipment to one hospital (status PLANNED)."""
    now = _now(now)
    if isinstance(customer_id, bool) or not isinstance(customer_id, int):
        raise ValidationFailed("customer_id must be a whole number.", {"customer_id": "Required."})
    courier_name = _text(courier, "courier", limit=120)
    try:
        customer = db.session.get(Customer, customer_id)
        if customer is None or not customer.active:
            raise NotFound("customer")
        db.session.execute(select(func.pg_advisory_xact_lock(7_311_011)))  # numbering, one at a time
        shipment = Shipment(
            shipment_no=_next_no(now),
            customer_id=customer.id,
            courier=courier_name,
            planned_departure_at=planned_departure_at,
            created_by_name=actor.printed_name,
            status="PLANNED",
            created_at=now,
        )
        db.session.add(shipment)
        db.session.flush()
        audit.record("Shipment", shipment.id, "CREATE", after=_snapshot(shipment), actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return shipment


# --- pack ---------------------------------------------------------------------------------------
def _locked_doses(ids: Sequence[int]) -> list[DoseUnit]:
    doses = list(
        db.session.execute(
            select(DoseUnit).where(DoseUnit.id.in_(ids)).order_by(DoseUnit.id).with_for_update()
        ).scalars()
    )
    if len(doses) != len(set(ids)):
        raise NotFound("dose unit")
    return doses


def _batch_gate(batch_ids: set[int], now: dt.datetime, what: str) -> dict[int, Batch]:
    found = {}
    for batch_id in sorted(batch_ids):
        batch = batches.lock_batch(batch_id)
        dose_states.check_can_pack_or_dispatch(
            batch.status,
            batch_facts.hold_reason(batch),
            batch_facts.expires_at(batch),
            now,
            batch_facts.tz_name(),
            what=what,
        )
        found[batch_id] = batch
    return found


def _a2_table() -> dict[str, Decimal]:
    return {r.nuclide_symbol: r.a2_tbq for r in db.session.execute(select(TransportA2)).scalars()}


def classify(doses: Sequence[DoseUnit], surface: Decimal, at_1m: Decimal, now: dt.datetime) -> dict[str, Any]:
    """TI, category and UN number of a package holding `doses` at `now` (activity decay-corrected)."""
    per_nuclide: dict[str, float] = defaultdict(float)
    for dose in doses:
        nuclide = dose.product.nuclide
        per_nuclide[nuclide.symbol] += decay.activity_after(
            dose.measured_activity_mbq, decay.seconds_between(dose.measured_at, now), nuclide.half_life_s
        )
    ti = transport.transport_index(at_1m)
    category = transport.transport_category(ti, surface)
    un = transport.un_number(
        {k: Decimal(f"{v:.6f}") for k, v in per_nuclide.items()}, _a2_table(), surface_dose_rate_msv_h=surface
    )
    return {
        "transport_index": ti,
        "category": category,
        "un_number": un,
        "total_activity_mbq": sum(per_nuclide.values()),
    }


def pack_package(
    shipment_id: int,
    dose_unit_ids: Sequence[int],
    surface_dose_rate_msv_h: Any,
    dose_rate_1m_msv_h: Any,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Package:
    """Pack dispensed doses of the shipment's hospital into one package with its measured dose rates.

    Rule: doses DISPENSED, of this shipment's hospital, batches not blocked or expired; the shipment
    PLANNED (first package: -> PACKED, custody 'packed') or already PACKED (another package).
    """
    now = _now(now)
    surface = _rate(surface_dose_rate_msv_h, "surface_dose_rate_msv_h")
    at_1m = _rate(dose_rate_1m_msv_h, "dose_rate_1m_msv_h")
    if not dose_unit_ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in dose_unit_ids):
        raise ValidationFailed("Choose the dose units to pack.", {"dose_unit_ids": "A list of ids."})
    if len(dose_unit_ids) > 500:
        raise DomainError("TOO_LARGE", "At most 500 dose units per package.", 413)
    try:
        shipment = lock_shipment(shipment_id)
        if shipment.status not in ("PLANNED", "PACKED"):
            flow.check_shipment_transition(shipment.status, "pack")
        doses = _locked_doses(dose_unit_ids)
        foreign = [d.id for d in doses if d.customer_id != shipment.customer_id]
        if foreign:
            raise DomainError(
                "WRONG_CUSTOMER",
                "Some doses are for another hospital than this shipment's.",
                409,
                {"dose_unit_ids": foreign},
            )
        for dose in doses:
            dose_states.check_dose_transition(dose.status, "pack")
        found = _batch_gate({d.batch_id for d in doses}, now, "packing")
        facts = classify(doses, surface, at_1m, now)
        package = Package(
            shipment_id=shipment.id,
            surface_dose_rate_msv_h=surface,
            dose_rate_1m_msv_h=at_1m,
            transport_index=facts["transport_index"],
            category=facts["category"],
            un_number=facts["un_number"],
            total_activity_mbq=Decimal(f"{facts['total_activity_mbq']:.1f}"),
            packed_by_name=actor.printed_name,
            packed_at=now,
        )
        db.session.add(package)
        db.session.flush()
        for dose in doses:
            db.session.execute(package_dose.insert().values(package_id=package.id, dose_unit_id=dose.id))
            dose.status = "PACKED"
            dose.version += 1
            dose.updated_at = now
            record_edge(
                ("DOSE", dose.id),
                ("SHIPMENT", shipment.id),
                "DOSE_PACKED",
                actor.printed_name,
                quantity=dose.measured_activity_mbq,
                unit="MBq",
                occurred_at=now,
            )
            audit.record(
                "DoseUnit", dose.id, "PACK", after={"status": "PACKED", "package_id": package.id}, actor=actor
            )
        if shipment.status == "PLANNED":
            before = _snapshot(shipment)
            row = _move(shipment, "pack", actor)
            _custody(shipment, row.custody or "PACKED", actor, at=now)
            audit.record(
                "Shipment", shipment.id, "PACK", before=before, after=_snapshot(shipment), actor=actor
            )
        audit.record("Package", package.id, "CREATE", after=audit.snapshot(package), actor=actor)
        for batch in found.values():
            n = sum(1 for d in doses if d.batch_id == batch.id)
            batches.record_event(
                batch,
                "SHIPMENT",
                f"{n} Dose{'s' if n != 1 else ''} Packed for {shipment.shipment_no}",
                actor,
                metadata={"shipment_id": shipment.id, "package_id": package.id},
            )
            _follow_batch(batch, "PACKED", actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return package


_BATCH_AFTER = {
    "PACKED": ("DISPENSED", ("PACKED", "SHIPPED", "DELIVERED")),
    "DISPATCHED": ("PACKED", ("SHIPPED", "DELIVERED")),
}


def _follow_batch(batch: Batch, dest: str, actor: Actor) -> None:
    """Batch -> PACKED / DISPATCHED once every live dose of it is packed / shipped (System move)."""
    source, done = _BATCH_AFTER[dest]
    if batch.status != source:
        return
    db.session.flush()
    statuses = list(
        db.session.execute(
            select(DoseUnit.status).where(DoseUnit.batch_id == batch.id, DoseUnit.status != "CANCELLED")
        ).scalars()
    )
    if statuses and all(s in done for s in statuses):
        batches.apply_transition(
            batch, dest, actor, metadata={"automatic": True}, system="Logistics" not in actor.roles
        )


def _doses_of(shipment: Shipment) -> list[DoseUnit]:
    return list(
        db.session.execute(
            select(DoseUnit)
            .join(package_dose, package_dose.c.dose_unit_id == DoseUnit.id)
            .join(Package, Package.id == package_dose.c.package_id)
            .where(Package.shipment_id == shipment.id)
            .order_by(DoseUnit.id)
            .with_for_update(of=DoseUnit)
        ).scalars()
    )


# --- dispatch / deliver / cancel ----------------------------------------------------------------
def dispatch_shipment(
    shipment_id: int, actor: Actor, *, note: str | None = None, now: dt.datetime | None = None
) -> Shipment:
    """Hand the shipment to the courier. Refused while any dose's batch is blocked or expired."""
    now = _now(now)
    note = _text(note, "note", limit=2000)
    try:
        shipment = lock_shipment(shipment_id)
        flow.check_shipment_transition(shipment.status, "dispatch")
        doses = _doses_of(shipment)
        found = _batch_gate({d.batch_id for d in doses}, now, "dispatch")
        before = _snapshot(shipment)
        row = _move(shipment, "dispatch", actor)
        shipment.dispatched_at = now
        _custody(
            shipment,
            row.custody or "HANDED_TO_COURIER",
            actor,
            name=shipment.courier and f"{actor.printed_name} → {shipment.courier}",
            note=note,
            at=now,
        )
        for dose in doses:
            dose_states.check_dose_transition(dose.status, "ship")
            dose.status = "SHIPPED"
            dose.version += 1
            dose.updated_at = now
        audit.record(
            "Shipment",
            shipment.id,
            "DISPATCH",
            before=before,
            after=_snapshot(shipment),
            reason=note,
            actor=actor,
        )
        for batch in found.values():
            batches.record_event(
                batch,
                "SHIPMENT",
                f"Shipment {shipment.shipment_no} Dispatched",
                actor,
                metadata={"shipment_id": shipment.id},
            )
            _follow_batch(batch, "DISPATCHED", actor)
        order_moves.follow_doses({d.order_id for d in doses})
        _tell_hospital(
            shipment,
            "SHIPMENT_DISPATCHED",
            f"Shipment {shipment.shipment_no} is on its way",
            f"{len(doses)} dose(s) handed to {shipment.courier or 'the courier'}.",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return shipment


def deliver_shipment(
    shipment_id: int,
    actor: Actor,
    *,
    received_by: Any = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Shipment:
    """Confirm delivery (Logistics, or the hospital's own user); the orders reach DELIVERED."""
    now = _now(now)
    name = _text(received_by, "received_by") or actor.printed_name
    note = _text(note, "note", limit=2000)
    try:
        shipment = lock_shipment(shipment_id, actor)
        flow.check_shipment_transition(shipment.status, "deliver")
        doses = _doses_of(shipment)
        before = _snapshot(shipment)
        row = _move(shipment, "deliver", actor)
        shipment.delivered_at = now
        shipment.received_by = name
        _custody(shipment, row.custody or "RECEIVED", actor, name=name, note=note, at=now)
        for dose in doses:
            dose_states.check_dose_transition(dose.status, "deliver")
            dose.status = "DELIVERED"
            dose.version += 1
            dose.updated_at = now
        audit.record(
            "Shipment",
            shipment.id,
            "DELIVER",
            before=before,
            after=_snapshot(shipment),
            reason=note,
            actor=actor,
        )
        for batch_id in sorted({d.batch_id for d in doses}):
            batch = db.session.get(Batch, batch_id)
            batches.record_event(
                batch,
                "SHIPMENT",
                f"Shipment {shipment.shipment_no} Delivered",
                actor,
                metadata={"shipment_id": shipment.id},
            )
        order_moves.follow_doses({d.order_id for d in doses})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return shipment


def cancel_shipment(shipment_id: int, reason: Any, actor: Actor) -> Shipment:
    """Cancel a shipment still in the house, with a reason; its doses wait to be packed again.
    The genealogy keeps the cancelled shipment (edges are never removed)."""
    reason_text = _text(reason, "reason", limit=2000)
    try:
        shipment = lock_shipment(shipment_id)
        before = _snapshot(shipment)
        _move(shipment, "cancel", actor, reason_text)
        shipment.cancel_reason = reason_text
        for dose in _doses_of(shipment):
            dose_states.check_dose_transition(dose.status, "unpack")
            dose.status = "DISPENSED"
            dose.version += 1
        audit.record(
            "Shipment",
            shipment.id,
            "CANCEL",
            before=before,
            after=_snapshot(shipment),
            reason=reason_text,
            actor=actor,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return shipment


def _tell_hospital(shipment: Shipment, kind: str, title: str, body: str) -> None:
    users = list(
        db.session.execute(
            select(CustomerUser.user_id).where(CustomerUser.customer_id == shipment.customer_id)
        ).scalars()
    )
    if users:
        notify(
            kind,
            title,
            body,
            user_ids=users,
            entity_type="Shipment",
            entity_id=shipment.id,
            record_url=f"/logistics/shipments/{shipment.id}",
        )
