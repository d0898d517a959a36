"""What dispensing needs to know about a batch: expiry, the QP's hold reason, the vial.

The vial: the batch's activity at end of synthesis (actual yield, else the planned activity) in the
product's fill volume (`max_volume_ml`, else DEFAULT_VIAL_VOLUME_ML). Draws are the dispensed doses'
calibrator readings at their times; the balance is decay-corrected by the domain's `vial_remaining`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from app.batches.models import Batch, BatchEvent
from app.core.domain import DomainError
from app.core.extensions import db
from app.dispensing.domain import activity as dose_activity
from app.dispensing.models import DoseUnit
from app.masterdata.domain.decay import instant_after
from app.masterdata.models import Nuclide, Product

DEFAULT_VIAL_VOLUME_ML = Decimal("10")
DRAWN_STATES = ("DISPENSED", "PACKED", "SHIPPED", "DELIVERED")


@dataclass(frozen=True)
class Vial:
    activity_mbq: float  # at assay_at
    volume_ml: float  # filled
    assay_at: dt.datetime
    half_life_s: float
    draws: tuple[tuple[float, dt.datetime, float], ...]  # (activity MBq, drawn at, volume mL)

    @property
    def concentration_mbq_per_ml(self) -> float:
        return self.activity_mbq / self.volume_ml

    @property
    def remaining_volume_ml(self) -> float:
        return max(self.volume_ml - sum(d[2] for d in self.draws), 0.0)

    def remaining(self, now: dt.datetime) -> dose_activity.VialRemaining:
        return dose_activity.vial_remaining(
            self.activity_mbq,
            self.assay_at,
            [(a, at) for a, at, _ in self.draws if at <= now],
            now,
            self.half_life_s,
        )


def tz_name() -> str:
    return str(current_app.config.get("SITE_TIMEZONE") or "UTC")


def product_of(batch: Batch) -> Product:
    return batch.product or db.session.get(Product, batch.product_id)


def half_life_s(product: Product) -> float:
    nuclide = product.nuclide or db.session.get(Nuclide, product.nuclide_id)
    return float(nuclide.half_life_s)


def expires_at(batch: Batch) -> dt.datetime:
    """End of synthesis + shelf life (UTC); before the synthesis is recorded, the planned end."""
    end = batch.actual_end_at or batch.planned_end_at
    return instant_after(end, product_of(batch).shelf_life_min)


def hold_reason(batch: Batch) -> str | None:
    """The note on the move that put the batch in its current blocking state (the QP's reason)."""
    if batch.status not in ("ON_HOLD", "REJECTED", "FAILED_QC"):
        return None
    return db.session.execute(
        select(BatchEvent.note)
        .where(BatchEvent.batch_id == batch.id, BatchEvent.to_status == batch.status)
        .order_by(BatchEvent.occurred_at.desc(), BatchEvent.id.desc())
        .limit(1)
    ).scalar()


def vial(batch: Batch) -> Vial:
    product = product_of(batch)
    activity = batch.actual_yield_mbq or batch.planned_activity_mbq
    assay_at = batch.actual_end_at or batch.planned_end_at
    if not activity:
        raise DomainError(
            "NO_VIAL_ACTIVITY", "The batch has no recorded yield; record it before dispensing.", 409
        )
    draws = db.session.execute(
        select(DoseUnit.measured_activity_mbq, DoseUnit.measured_at, DoseUnit.volume_ml)
        .where(DoseUnit.batch_id == batch.id, DoseUnit.status.in_(DRAWN_STATES))
        .order_by(DoseUnit.measured_at)
    ).all()
    return Vial(
        float(activity),
        float(
            product.max_volume_ml or current_app.config.get("DEFAULT_VIAL_VOLUME_ML", DEFAULT_VIAL_VOLUME_ML)
        ),
        assay_at,
        half_life_s(product),
        tuple((float(a), at, float(v)) for a, at, v in draws),
    )
