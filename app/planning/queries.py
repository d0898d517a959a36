"""The planner's read side: the day per delivery window, the pool of validated orders not yet in a
batch, and the activity arithmetic of a batch plan (shown on the page before it is made)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.batches.models import Batch, BatchOrder
from app.capacity.queries import day_usage
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.orders import domain as order_rules
from app.orders import queries as order_queries
from app.orders.models import Order

DEFAULT_OVERHEAD = 1.15


def overhead_factor(product_code: str) -> float:
    """PLANNING_OVERHEAD_FACTOR: {product code: factor}; products not named get 1.15 (QC samples,
    dead volume in lines and vials, transport losses)."""
    factors = current_app.config.get("PLANNING_OVERHEAD_FACTOR") or {}
    return float(factors.get(product_code, factors.get("*", DEFAULT_OVERHEAD)))


def planner_day(day: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per window of `day`: total, reserved (live holds), committed, free minutes and utilisation %,
    plus the day's totals. Counted by capacity's one availability rule at `now`."""
    windows = day_usage(day, now)
    total = sum(w["total_minutes"] for w in windows)
    held = sum(w["held_minutes"] for w in windows)
    committed = sum(w["committed_minutes"] for w in windows)
    return {
        "date": day.isoformat(),
        "windows": windows,
        "totals": {
            "total_minutes": total,
            "held_minutes": held,
            "committed_minutes": committed,
            "reserved_minutes": held + committed,
            "free_minutes": max(total - held - committed, 0),
            # Reserved = live holds + committed (capacity.domain.window_usage), as in each row.
            "reserved_pct": round(100 * (held + committed) / total, 1) if total else None,
            "committed_pct": round(100 * committed / total, 1) if total else None,
        },
    }


def unplanned_orders() -> list[dict[str, Any]]:
    """Validated orders not yet in a batch, earliest window first, with their doses."""
    out = []
    for o in order_queries.validated_unplanned():
        item = order_queries.order_item(o)
        item["lines"] = [
            {
                "line_no": line.line_no,
                "mbq": float(line.requested_activity_mbq),
                "calibration_at": line.calibration_at,
            }
            for line in o.lines
        ]
        out.append(item)
    return out


def planned_batches(product_id: int | None = None) -> list[Batch]:
    query = select(Batch).where(Batch.status == "PLANNED").order_by(Batch.planned_start_at)
    if product_id is not None:
        query = query.where(Batch.product_id == product_id)
    return list(db.session.execute(query).scalars())


def orders_of_batch(batch_id: int) -> list[Order]:
    return list(
        db.session.execute(
            select(Order)
            .join(BatchOrder, BatchOrder.order_id == Order.id)
            .where(BatchOrder.batch_id == batch_id)
        ).scalars()
    )


def plan_arithmetic(orders: Sequence[Order], eos_at: dt.datetime) -> dict[str, Any]:
    """The planned activity at end of synthesis: every dose decayed back from its calibration time
    to EOS with the product nuclide's half-life, summed, times the product's overhead factor."""
    if not orders:
        raise ValidationFailed("Choose at least one validated order.", {"order_ids": "required"})
    products = {o.product_id for o in orders}
    if len(products) != 1:
        raise DomainError(
            "MIXED_PRODUCTS", "A batch makes one product: choose orders of the same product.", 422
        )
    product = orders[0].product
    half_life = float(product.nuclide.half_life_s)
    factor = overhead_factor(product.code)
    doses = [(o, line) for o in sorted(orders, key=lambda o: o.id) for line in o.lines]
    plan = order_rules.planned_activity_at_eos(
        [(float(line.requested_activity_mbq), line.calibration_at) for _, line in doses],
        eos_at,
        half_life,
        factor,
    )
    rows = [
        {
            "order_no": o.order_no,
            "line_no": line.line_no,
            "activity_mbq": d.activity_mbq,
            "calibration_at": d.calibration_at,
            "hours_after_eos": round(d.elapsed_s / 3600, 2),
            "decay_factor": round(d.decay_factor, 4),
            "activity_at_eos_mbq": round(d.activity_at_eos_mbq, 1),
        }
        for (o, line), d in zip(doses, plan.doses, strict=True)
    ]
    return {
        "product_code": product.code,
        "nuclide": product.nuclide.symbol,
        "half_life_min": round(half_life / 60, 2),
        "eos_at": eos_at,
        "doses": rows,
        "subtotal_mbq": round(plan.subtotal_mbq, 1),
        "overhead_factor": plan.overhead_factor,
        "total_mbq": round(plan.total_mbq, 1),
    }
