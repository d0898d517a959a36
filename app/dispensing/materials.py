"""Material lots used by a batch (the lowest link of the genealogy).

Rule: Production records a lot while the batch is in production; an expired lot (by status or by
its expiry date, site-local) or a lot not released by QA is refused (409 LOT_EXPIRED /
LOT_NOT_RELEASED, with the reason). The record, the genealogy edge lot -> batch, the MATERIAL event
on the batch journey and the audit row are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.audit import service as audit
from app.batches import service as batches
from app.core.actor import Actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.core.web import site_tz
from app.genealogy.models import BatchMaterialLot
from app.genealogy.service import record_edge
from app.masterdata.models import Material, MaterialLot

RECORDABLE_BATCH_STATES = ("IN_PRODUCTION",)


def _quantity(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if isinstance(raw, bool) or not value.is_finite() or value <= 0 or value >= Decimal("1e9"):
        raise ValidationFailed(
            "The quantity must be a positive number.", {"quantity": "Not a positive number."}
        )
    return value


def check_lot_usable(lot: MaterialLot, today: dt.date) -> None:
    if lot.status == "EXPIRED" or lot.expiry_date < today:
        raise DomainError(
            "LOT_EXPIRED",
            f"Lot {lot.supplier_lot_no} expired on {lot.expiry_date:%d %b %Y}; it can't be used.",
            409,
            {"expiry_date": lot.expiry_date.isoformat()},
        )
    if lot.status != "RELEASED":
        why = "is in quarantine (not released by QA)" if lot.status == "QUARANTINE" else "was rejected by QA"
        raise DomainError(
            "LOT_NOT_RELEASED",
            f"Lot {lot.supplier_lot_no} {why}; it can't be used.",
            409,
            {"lot_status": lot.status},
        )


def record_material_lot(
    batch_id: int,
    lot_id: int,
    quantity: Any,
    actor: Actor,
    *,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> BatchMaterialLot:
    """Record that `batch_id` used `quantity` of lot `lot_id` (see the module docstring for the rules)."""
    now = now or dt.datetime.now(dt.UTC)
    note = (note or "").strip() or None
    if note and len(note) > 2000:
        raise ValidationFailed("The note may be at most 2000 characters.", {"note": "Too long."})
    try:
        amount = _quantity(quantity)
        batch = batches.lock_batch(batch_id)
        if batch.status not in RECORDABLE_BATCH_STATES:
            raise DomainError(
                "BATCH_NOT_IN_PRODUCTION", "Material lots are recorded while the batch is in production.", 409
            )
        lot = db.session.get(MaterialLot, lot_id)
        if lot is None:
            raise NotFound("material lot")
        check_lot_usable(lot, now.astimezone(site_tz()).date())
        material = db.session.get(Material, lot.material_id)
        row = BatchMaterialLot(
            batch_id=batch.id,
            lot_id=lot.id,
            quantity=amount,
            unit=material.unit if material else "unit",
            recorded_by_id=actor.user_id,
            recorded_by_name=actor.printed_name,
            note=note,
            recorded_at=now,
        )
        db.session.add(row)
        db.session.flush()
        record_edge(
            ("LOT", lot.id),
            ("BATCH", batch.id),
            "MATERIAL_USED",
            actor.printed_name,
            quantity=amount,
            unit=row.unit,
            occurred_at=now,
        )
        batches.record_event(
            batch,
            "MATERIAL",
            f"Material Lot Recorded: {material.name if material else ''} {lot.supplier_lot_no}".strip(),
            actor,
            note=note,
            metadata={"lot_id": lot.id, "quantity": float(amount), "unit": row.unit},
        )
        audit.record(
            "BatchMaterialLot", row.id, "CREATE", after=audit.snapshot(row), reason=note, actor=actor
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def lots_of_batch(batch_id: int) -> list[dict[str, Any]]:
    """The Materials tab: each recorded lot with its material, supplier lot number and expiry."""
    rows = db.session.execute(
        select(BatchMaterialLot, MaterialLot, Material)
        .join(MaterialLot, MaterialLot.id == BatchMaterialLot.lot_id)
        .join(Material, Material.id == MaterialLot.material_id)
        .where(BatchMaterialLot.batch_id == batch_id)
        .order_by(BatchMaterialLot.recorded_at, BatchMaterialLot.id)
    ).all()
    return [
        {
            "id": r.id,
            "lot_id": lot.id,
            "material": f"{m.code} — {m.name}",
            "lot_no": lot.supplier_lot_no,
            "supplier": lot.supplier.name if lot.supplier else "",
            "expiry_date": lot.expiry_date,
            "quantity": float(r.quantity),
            "unit": r.unit,
            "recorded_at": r.recorded_at,
            "recorded_by": r.recorded_by_name,
        }
        for r, lot, m in rows
    ]
