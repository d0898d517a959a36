"""Planning acts: validated orders into a batch plan.

Rule: a batch makes one product; every order in the plan is VALIDATED (moved to SCHEDULED through
the order table), linked to the batch (`batch_order`, and `batch_customer` so the hospital sees its
batch), and the batch's planned activity is the sum of every linked dose decayed back from its
calibration time to the planned end of synthesis, times the product's overhead factor.
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
from app.masterdata.models import HotCell
from app.orders import domain as order_rules
from app.orders import service as orders
from app.orders.models import Order
from app.planning import queries

MAX_ORDERS = 200


def _order_ids(order_ids: object) -> list[int]:
    if (
        not isinstance(order_ids, list | tuple)
        or not order_ids
        or len(order_ids) > MAX_ORDERS
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in order_ids)
    ):
        raise ValidationFailed(
            f"Choose 1 to {MAX_ORDERS} validated orders.", {"order_ids": "a list of order ids"}
        )
    return sorted(set(order_ids))


def _validated(ids: list[int]) -> list[Order]:
    found = list(db.session.execute(select(Order).where(Order.id.in_(ids)).order_by(Order.id)).scalars())
    if len(found) != len(ids):
        raise NotFound("order")
    not_ready = [o.order_no for o in found if o.status != order_rules.VALIDATED]
    if not_ready:
        raise DomainError(
            "ORDER_NOT_VALIDATED",
            f"Only validated orders can be planned; {', '.join(not_ready)} is not.",
            409,
            {"orders": not_ready},
        )
    return found


def _default_eos(found: list[Order]) -> dt.datetime:
    lead = int(current_app.config.get("PLANNING_EOS_LEAD_MINUTES", 120))
    return min(o.window.start_at for o in found) - dt.timedelta(minutes=lead)


def _link(batch: Batch, found: list[Order], actor: Actor) -> None:
    for o in found:
        db.session.add(BatchOrder(batch_id=batch.id, order_id=o.id, linked_by_name=actor.printed_name))
    batches.link_customers(batch, sorted({o.customer_id for o in found}))
    orders.schedule_orders([o.id for o in found], batch, actor)


def create_batch_plan(
    order_ids: Sequence[int],
    actor: Actor,
    *,
    batch_id: int | None = None,
    planned_eos_at: dt.datetime | None = None,
    hot_cell_id: int | None = None,
) -> dict[str, Any]:
    """Plan validated orders into a new PLANNED batch, or add them to an existing PLANNED batch of
    the same product; returns the batch id and the activity arithmetic.

    One transaction: the batch service creates the new batch without committing, the orders are
    re-read and linked, then everything commits at once; if linking fails (someone cancelled an
    order meanwhile) it all rolls back, so no planned batch, batch number or audit row is left
    without its orders.
    """
    if not actor.has_role("Planner", "Admin"):
        raise DomainError("FORBIDDEN", "Only planners plan batches.", 403)
    ids = _order_ids(list(order_ids) if isinstance(order_ids, list | tuple) else order_ids)
    found = _validated(ids)
    if batch_id is not None:
        return _add_to_batch(batch_id, found, actor)
    eos = planned_eos_at or _default_eos(found)
    if eos.tzinfo is None:
        raise ValidationFailed("The planned end of synthesis needs a time zone.", {"planned_eos_at": "naive"})
    arithmetic = queries.plan_arithmetic(found, eos)  # refuses mixed products, doses before EOS
    synthesis = int(current_app.config.get("PLANNING_SYNTHESIS_MINUTES", 60))
    cell = db.session.get(HotCell, hot_cell_id) if hot_cell_id is not None else None
    if hot_cell_id is not None and cell is None:
        raise NotFound("hot cell")
    try:
        batch = batches.create_batch(
            arithmetic["product_code"],
            eos - dt.timedelta(minutes=synthesis),
            eos,
            actor=actor,
            site_code=cell.site.code if cell else None,
            hot_cell_code=cell.code if cell else None,
            planned_activity_mbq=Decimal(str(arithmetic["total_mbq"])),
            note=f"Planned from {len(found)} order(s) by the planner.",
            commit=False,
        )
        _link(batch, _validated(ids), actor)
        audit.record(
            "Batch", batch.id, "PLAN_ORDERS", after={"order_ids": ids, **_audit_sums(arithmetic)}, actor=actor
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"batch_id": batch.id, "batch_no": batch.batch_no, "arithmetic": arithmetic, "added": ids}


def _audit_sums(arithmetic: dict[str, Any]) -> dict[str, Any]:
    return {k: arithmetic[k] for k in ("subtotal_mbq", "overhead_factor", "total_mbq")}


def _add_to_batch(batch_id: int, found: list[Order], actor: Actor) -> dict[str, Any]:
    try:
        batch = batches.lock_batch(batch_id)
        if batch.status != "PLANNED":
            raise DomainError("BATCH_NOT_PLANNED", f"Batch {batch.batch_no} is no longer planned.", 409)
        if any(o.product_id != batch.product_id for o in found):
            raise DomainError("MIXED_PRODUCTS", f"Batch {batch.batch_no} makes another product.", 422)
        everything = queries.orders_of_batch(batch.id) + found
        arithmetic = queries.plan_arithmetic(everything, batch.planned_end_at)
        before = {"planned_activity_mbq": audit.jsonable(batch.planned_activity_mbq)}
        _link(batch, found, actor)
        batch.planned_activity_mbq = Decimal(str(arithmetic["total_mbq"]))
        audit.record(
            "Batch",
            batch.id,
            "PLAN_ORDERS",
            before=before,
            after={"order_ids": [o.id for o in found], **_audit_sums(arithmetic)},
            actor=actor,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {
        "batch_id": batch.id,
        "batch_no": batch.batch_no,
        "arithmetic": arithmetic,
        "added": [o.id for o in found],
    }
