"""Order statuses that follow dispensing and logistics (DISPENSED, SHIPPED, DELIVERED).

The order part's service has no function for these moves (they are driven by the parts above it),
so this module walks the order through `app.orders.domain`'s own table as the System actor, writing
one OrderEvent and one audit row per step, inside the caller's transaction (never commits).
An order that has not yet been moved to IN_PRODUCTION / RELEASED by its batch is walked through
those steps first, so its timeline shows every milestone in order.
"""

from __future__ import annotations

from sqlalchemy import select

from app.audit import service as audit
from app.core.actor import SYSTEM
from app.core.extensions import db
from app.dispensing.domain.states import FINAL_DOSE_STATES
from app.orders import domain as order_domain
from app.orders.models import Order, OrderEvent

# The production path of an order, as (trigger, status reached).
_PATH = (
    ("start_production", order_domain.IN_PRODUCTION),
    ("release", order_domain.RELEASED),
    ("dispense", order_domain.DISPENSED),
    ("ship", order_domain.SHIPPED),
    ("deliver", order_domain.DELIVERED),
)
_RANK = {status: i for i, (_, status) in enumerate(_PATH)}
_TITLES = {
    order_domain.IN_PRODUCTION: "Batch in production",
    order_domain.RELEASED: "Batch released by the QP",
    order_domain.DISPENSED: "Doses dispensed",
    order_domain.SHIPPED: "Doses on their way",
    order_domain.DELIVERED: "Delivered",
}
# How far each dose status takes its order.
DOSE_TO_ORDER = {
    "DISPENSED": order_domain.DISPENSED,
    "PACKED": order_domain.DISPENSED,
    "SHIPPED": order_domain.SHIPPED,
    "DELIVERED": order_domain.DELIVERED,
}


def advance_order(order: Order, target: str, data: dict | None = None) -> None:
    """Move `order` forward along the production path up to `target`; never backwards, never out
    of a final or cancelled state (such an order is left as it is)."""
    if order.status in order_domain.FINAL_STATUSES or target not in _RANK:
        return
    if order.status not in _RANK and order.status != order_domain.SCHEDULED:
        return  # not yet planned into a batch: nothing follows from dispensing
    current = _RANK.get(order.status, -1)
    for trigger, status in _PATH[current + 1 : _RANK[target] + 1]:
        transition = order_domain.check_transition(order.status, trigger)
        before = {"status": order.status}
        source = order.status
        order.status = transition.dest
        order.version += 1
        db.session.add(
            OrderEvent(
                order_id=order.id,
                event_type=status,
                from_status=source,
                to_status=order.status,
                title=_TITLES[status],
                actor_name=SYSTEM.printed_name,
                data=data or {},
            )
        )
        audit.record(
            "Order", order.id, "STATUS_CHANGE", before=before, after={"status": order.status}, actor=SYSTEM
        )


def follow_doses(order_ids: set[int]) -> None:
    """Each order moves to the least advanced status of its live (not cancelled) dose units."""
    from app.dispensing.models import DoseUnit

    if not order_ids:
        return
    db.session.flush()
    orders = db.session.execute(
        select(Order).where(Order.id.in_(order_ids)).order_by(Order.id).with_for_update()
    ).scalars()
    for order in orders:
        rows = db.session.execute(
            select(DoseUnit.order_line_id, DoseUnit.status).where(DoseUnit.order_id == order.id)
        ).all()
        statuses = [status for _, status in rows if status != "CANCELLED"]
        covered = {line_id for line_id, _ in rows}
        if not statuses or len(covered) < len(order.lines) or any(s not in DOSE_TO_ORDER for s in statuses):
            continue  # a line still undrawn (planned or without a dose) holds the order back
        least = min((DOSE_TO_ORDER[s] for s in statuses), key=_RANK.__getitem__)
        if _RANK.get(order.status, -1) < _RANK[least]:
            advance_order(order, least)


__all__ = ["DOSE_TO_ORDER", "FINAL_DOSE_STATES", "advance_order", "follow_doses"]
