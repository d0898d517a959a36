"""Orders demo: ten reservations with different outcomes and orders in several states, through the
real capacity, order and planning services, on the dispensing calendar's coming days.

- KFSH (the `hospital` user) holds minutes that are still HELD (order them from the New order page),
  one hold that EXPIRED, one CANCELLED, and orders that are SUBMITTED, VALIDATED (two: the planner's
  pool), REJECTED, CANCELLED, and one VALIDATED order planned into a PLANNED batch;
- the planner books for KAMC (submitted, checklist green) and DSFH (submitted, on credit hold: the
  Validation Queue shows the red check).
Idempotent: nothing is done once the order KFSH-SEED-0004 exists. Skipped (count 0) without the
capacity calendar or the demo users.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.capacity.models import DeliveryWindow, ResourceCalendar
from app.core.actor import Actor, actor_from_user
from app.core.extensions import db
from app.masterdata.models import Customer, Product
from app.orders.models import Order

FIRST = "KFSH-SEED-0004"


def _actor(username: str) -> Actor | None:
    user = current_app.appbuilder.sm.find_user(username=username)
    return actor_from_user(user) if user is not None else None


def _windows(now: dt.datetime) -> list[DeliveryWindow]:
    """Open FDG windows from the day after tomorrow on (past every cut-off), earliest first."""
    from app.capacity import domain as rules
    from app.core.domain import DomainError

    calendar = db.session.execute(select(ResourceCalendar).where(ResourceCalendar.code == "DISP-1")).scalar()
    if calendar is None:
        return []
    rows = db.session.execute(
        select(DeliveryWindow)
        .where(
            DeliveryWindow.calendar_id == calendar.id, DeliveryWindow.start_at > now + dt.timedelta(days=2)
        )
        .order_by(DeliveryWindow.start_at)
    ).scalars()
    out = []
    for w in rows:
        try:
            cal = w.calendar
            rules.booking_open(
                w.local_date,
                w.start_at,
                cal.timezone,
                cal.cutoff_days_before,
                cal.cutoff_local_time,
                w.is_closed,
                now,
            )
        except DomainError:
            continue
        out.append(w)
    return out


def seed() -> dict[str, int]:
    from app.capacity import service as capacity
    from app.orders import service as orders
    from app.planning import service as planning

    counts = {"order_reservations": 0, "orders": 0, "order_batch_plans": 0}
    if db.session.execute(select(Order.id).where(Order.hospital_order_reference == FIRST)).first():
        return counts
    hospital, planner, admin = _actor("hospital"), _actor("planner"), _actor("admin")
    now = dt.datetime.now(dt.UTC)
    windows = [w for w in _windows(now) if not w.slots]
    if hospital is None or planner is None or admin is None or len(windows) < 3:
        return counts
    fdg = db.session.execute(select(Product).where(Product.code == "FDG")).scalar_one()
    customers = {c.code: c for c in db.session.execute(select(Customer)).scalars()}
    first, second, third = windows[0], windows[1], windows[2]

    def hold(code: str, window: DeliveryWindow, doses: int, who: Actor, at: dt.datetime = now):
        counts["order_reservations"] += 1
        return capacity.hold_reservation(customers[code].id, fdg.id, window.id, doses, actor=who, now=at)

    def lines(window: DeliveryWindow, doses: int) -> list[dict[str, object]]:
        at = window.start_at + dt.timedelta(minutes=45)
        return [
            {"requested_activity_mbq": 370 + 40 * i, "calibration_at": at.isoformat()} for i in range(doses)
        ]

    def order(code: str, window: DeliveryWindow, doses: int, ref: str, who: Actor) -> Order:
        held = hold(code, window, doses, hospital if code == "KFSH" else planner)
        counts["orders"] += 1
        return orders.create_order(
            who, reservation_id=held.id, hospital_order_reference=ref, lines=lines(window, doses), now=now
        )

    # 1-3: a live hold to order from, a hold left to expire, a hold the hospital cancelled.
    hold("KFSH", first, 2, hospital)
    hold("KFSH", second, 3, hospital, now - dt.timedelta(minutes=40))
    capacity.expire_overdue(now)
    cancelled = hold("KFSH", second, 1, hospital)
    capacity.cancel_reservation(cancelled.id, "Patient rescheduled to next week.", hospital, now)
    # 4-8: KFSH orders in several states.
    order("KFSH", first, 2, FIRST, hospital)
    validated = [
        orders.validate_order(order("KFSH", first, 3, ref, hospital).id, planner, now)
        for ref in ("KFSH-SEED-0005", "KFSH-SEED-0006")
    ]
    rejected = order("KFSH", second, 1, "KFSH-SEED-0007", hospital)
    orders.reject_order(
        rejected.id, "Duplicate of KFSH-SEED-0005; please order once per patient.", planner, now
    )
    gone = order("KFSH", third, 2, "KFSH-SEED-0008", hospital)
    orders.cancel_order(gone.id, "Scanner maintenance moved to that morning.", hospital, now)
    # 9-10: the planner books for two other hospitals; DSFH is on credit hold.
    order("KAMC", second, 2, "KAMC-SEED-0009", admin)
    order("DSFH", third, 1, "DSFH-SEED-0010", admin)
    # One validated order planned into a batch (the other stays in the planner's pool).
    eos = validated[0].window.start_at - dt.timedelta(hours=2)
    planning.create_batch_plan([validated[0].id], planner, planned_eos_at=eos)
    counts["order_batch_plans"] += 1
    return counts
