"""Read side of dispensing: dose units of a batch with what to draw now, one dose, journey counts.

A hospital user sees only its own hospital's doses (others are 404) and no staff names or notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from app.batches import queries as batch_queries
from app.batches.models import Batch
from app.core.actor import Actor
from app.core.domain import DomainError, NotFound
from app.core.extensions import db
from app.core.sql import any_of, fetch
from app.dispensing import batch_facts
from app.dispensing.access import customer_scope
from app.dispensing.domain import activity as dose_activity
from app.dispensing.domain import states
from app.dispensing.models import DoseUnit
from app.dispensing.service import draw_now, outstanding_doses
from app.orders.models import Order


def _blocked(batch: Batch, now: dt.datetime) -> dict[str, Any] | None:
    """The disposition a dose inherits from its batch, as a refusal to show (None when free)."""
    try:
        states.check_can_pack_or_dispatch(
            batch.status,
            batch_facts.hold_reason(batch),
            batch_facts.expires_at(batch),
            now,
            batch_facts.tz_name(),
        )
    except DomainError as err:
        if err.code in ("BATCH_BLOCKED", "EXPIRED"):
            return {"code": err.code, "message": err.user_message}
    return None


def dose_dict(
    dose: DoseUnit,
    batch: Batch,
    now: dt.datetime,
    *,
    internal: bool,
    reference: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """One dose for the API and the pages; a refused draw's message quotes activities in `unit`
    (both units without one)."""
    half_life = batch_facts.half_life_s(batch_facts.product_of(batch))
    expires = batch_facts.expires_at(batch)
    if dose.measured_activity_mbq is not None:
        usable = dose_activity.usable_until(
            expires,
            dose.measured_activity_mbq,
            dose.measured_at,
            dose.activity_at_calibration_mbq,
            dose.calibration_at,
            half_life,
        )
    else:
        usable = dose_activity.usable_until(
            expires,
            dose.activity_at_calibration_mbq,
            dose.calibration_at,
            dose.activity_at_calibration_mbq,
            dose.calibration_at,
            half_life,
        )
    out: dict[str, Any] = {
        "id": dose.id,
        "label_id": f"DU-{dose.id:06d}",
        "order_line_id": dose.order_line_id,
        "order_id": dose.order_id,
        "batch_id": dose.batch_id,
        "customer_id": dose.customer_id,
        "hospital_order_reference": reference,
        "status": dose.status,
        "status_label": states.dose_state_label(dose.status),
        "activity_at_calibration_mbq": dose.activity_at_calibration_mbq,
        "calibration_at": dose.calibration_at,
        "measured_activity_mbq": dose.measured_activity_mbq,
        "measured_at": dose.measured_at,
        "volume_ml": dose.volume_ml,
        "usable_until": usable.at,
        "usable_until_limited_by": usable.limited_by,
        "blocked": _blocked(batch, now) if dose.status not in ("DELIVERED", "CANCELLED") else None,
        "recalled": dose.recalled_at is not None,
        "cancel_reason": dose.cancel_reason if internal else None,
    }
    if internal:
        out["expected_activity_mbq"] = dose.expected_activity_mbq
        out["reading_deviation"] = dose.reading_deviation
        out["reading_note"] = dose.reading_note
        out["dispensed_by"] = dose.dispensed_by_name
    if dose.status == "PLANNED" and internal:
        try:
            draw = draw_now(dose, batch, now, unit)
            out["draw_now"] = {
                "activity_mbq": round(draw["activity_mbq"], 1),
                "volume_ml": round(draw["volume_ml"], 3),
            }
        except DomainError as err:
            out["draw_now"] = {"error": err.user_message, "code": err.code}
    return out


def doses_of_batch(
    batch_id: int, actor: Actor, now: dt.datetime | None = None, unit: str | None = None
) -> dict[str, Any]:
    """The dispensing screen's data: the batch's doses (a hospital: only its own) and the vial;
    messages in `unit` (the page's MBq or mCi; both units without one)."""
    now = now or dt.datetime.now(dt.UTC)
    batch = batch_queries.get_visible(batch_id, actor)
    own = customer_scope(actor)
    query = (
        select(DoseUnit, Order.hospital_order_reference)
        .join(Order, Order.id == DoseUnit.order_id)
        .where(DoseUnit.batch_id == batch.id)
    )
    if own is not None:
        query = query.where(DoseUnit.customer_id == own)
    rows = db.session.execute(query.order_by(DoseUnit.calibration_at, DoseUnit.id)).all()
    internal = own is None
    doses = [dose_dict(d, batch, now, internal=internal, reference=ref, unit=unit) for d, ref in rows]
    result: dict[str, Any] = {
        "batch_id": batch.id,
        "batch_no": batch.batch_no,
        "status": batch.status,
        "dose_units": doses,
    }
    if internal:
        result["vial"] = vial_dict(batch, now)
        result["outstanding"] = outstanding_doses(batch.id)
        result["expires_at"] = batch_facts.expires_at(batch)
        result["blocked"] = _blocked(batch, now)
    return result


def vial_dict(batch: Batch, now: dt.datetime) -> dict[str, Any] | None:
    try:
        vial = batch_facts.vial(batch)
        left = vial.remaining(now)
    except DomainError as err:
        return {"error": err.user_message}
    return {
        "remaining_mbq": round(left.remaining_mbq, 1),
        "remaining_ml": round(vial.remaining_volume_ml, 3),
        "concentration_now_mbq_per_ml": round(
            dose_activity.concentration_now(
                vial.concentration_mbq_per_ml, vial.assay_at, now, vial.half_life_s
            )
            if now >= vial.assay_at
            else vial.concentration_mbq_per_ml,
            2,
        ),
        "assay_mbq": vial.activity_mbq,
        "assay_at": vial.assay_at,
        "filled_ml": vial.volume_ml,
        "as_of": now,
    }


def visible_dose(dose_id: int, actor: Actor) -> DoseUnit:
    dose = db.session.get(DoseUnit, dose_id)
    own = customer_scope(actor)
    if dose is None or (own is not None and dose.customer_id != own):
        raise NotFound("dose unit")
    batch_queries.get_visible(dose.batch_id, actor)
    return dose


def counts(batch_id: int) -> dict[str, Any]:
    """The journey's dose-unit progress: every live dose counts as planned, then each step reached."""
    return counts_many([batch_id])[batch_id]


def counts_many(batch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """`counts` for a page of batches in one query (the batch list shows them on every row)."""
    by_batch: dict[int, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    if batch_ids:
        for batch_id, status, n in fetch(
            "dispensing.counts_many",
            lambda: (
                select(DoseUnit.batch_id, DoseUnit.status, func.count())
                .where(any_of(DoseUnit.batch_id, [], name="ids"))
                .group_by(DoseUnit.batch_id, DoseUnit.status)
            ),
            {"ids": list(batch_ids)},
        ):
            by_batch[batch_id][status] = n
    return {batch_id: _progress(rows) for batch_id, rows in by_batch.items()}


def _progress(rows: dict[str, int]) -> dict[str, Any]:
    shipped = rows.get("SHIPPED", 0) + rows.get("DELIVERED", 0)
    packed = rows.get("PACKED", 0) + shipped
    dispensed = rows.get("DISPENSED", 0) + packed
    planned = rows.get("PLANNED", 0) + dispensed
    return {
        "dose_units": {
            "planned": planned,
            "dispensed": dispensed,
            "packed": packed,
            "shipped": shipped,
            "cancelled": rows.get("CANCELLED", 0),
        }
    }
