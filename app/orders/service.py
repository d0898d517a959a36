"""Order acts: create (from a hold or on its own), validate, reject, cancel, schedule into a batch.

Rules enforced here (the rules themselves are in `app.orders.domain`):
- a status changes only through the domain's transition table, for an actor the table allows;
- every act writes one OrderEvent (the order's own timeline) and one audit row in the same
  transaction as the change, commits once, and rolls back on any refusal; notifications are
  rows in that transaction and their e-mails go out after commit;
- minutes are never sold twice: an order from a HELD reservation confirms it in the same
  transaction; an order on its own, and a validation that adds minutes, recount availability
  under the capacity lock (`capacity.service.check_capacity_for`).
`schedule_orders` does not commit: the planner's batch plan calls it inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from app.audit import service as audit
from app.capacity.domain import booking_open, time_standard_in_force
from app.capacity.models import DeliverySlot, DeliveryWindow, Reservation
from app.core.actor import Actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Customer, CustomerUser, Product
from app.notifications import service as notifications
from app.orders import domain
from app.orders.models import Order, OrderEvent, OrderLine

UTC = dt.UTC
DOSE_FORM = "UNIT_DOSE"  # an order line is one unit dose at the dispensing cell
MAX_LINES = 200
_SNAPSHOT = ("status", "dose_count", "minutes_per_dose", "committed_dispensing_minutes", "closed_reason")


def _capacity():
    from app.capacity import service as capacity

    return capacity


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(UTC)).astimezone(UTC)


def _snapshot(order: Order) -> dict[str, Any]:
    return {k: audit.jsonable(getattr(order, k)) for k in _SNAPSHOT}


def _is_customer(actor: Actor) -> bool:
    return actor.has_role(domain.CUSTOMER) and all(r == domain.CUSTOMER for r in actor.roles)


def customer_id_of(actor: Actor) -> int | None:
    """The hospital a Customer-role login belongs to (None for internal users)."""
    if actor.customer_id is not None:
        return actor.customer_id
    if actor.user_id is None:
        return None
    return db.session.execute(
        select(CustomerUser.customer_id).where(CustomerUser.user_id == actor.user_id)
    ).scalar()


def _event(
    order: Order,
    event_type: str,
    title: str,
    actor: Actor,
    *,
    from_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    customer_visible: bool = True,
    at: dt.datetime | None = None,
) -> None:
    event = OrderEvent(
        order_id=order.id,
        event_type=event_type,
        from_status=from_status,
        to_status=order.status,
        title=title,
        note=note,
        actor_user_id=actor.user_id,
        actor_name=actor.printed_name,
        customer_visible=customer_visible,
        data=data or {},
    )
    if at is not None:
        event.occurred_at = at
    db.session.add(event)


def _move(order: Order, trigger: str, actor: Actor, reason: str | None = None) -> tuple[str, str | None]:
    """Apply one transition of the domain table to `order` (no commit); returns (source, reason)."""
    transition = domain.check_transition(order.status, trigger)
    if not actor.is_system or domain.SYSTEM not in transition.actors:
        domain.check_actor(transition, actor.roles)
    text_reason = domain.check_reason(transition, reason)
    if text_reason and len(text_reason) > 2000:
        raise ValidationFailed("The reason may be at most 2000 characters.", {"reason": "too long"})
    source = order.status
    order.status = transition.dest
    order.version += 1
    return source, text_reason


def _hospital_users(customer_id: int) -> list[int]:
    return list(
        db.session.execute(
            select(CustomerUser.user_id).where(CustomerUser.customer_id == customer_id)
        ).scalars()
    )


# --------------------------------------------------------------------------- create


def _reference_pattern() -> str:
    return str(current_app.config.get("ORDER_REFERENCE_PATTERN") or domain.DEFAULT_REFERENCE_PATTERN)


def _checked_lines(lines: object) -> tuple[list[domain.OrderLine], list[str | None]]:
    if not isinstance(lines, list) or not all(isinstance(line, Mapping) for line in lines):
        raise ValidationFailed("lines must be a list of dose lines.", {"lines": "not a list"})
    checked = domain.validate_lines(lines, max_lines=MAX_LINES)
    refs: list[str | None] = []
    for index, line in enumerate(lines):
        raw = line.get("line_reference")
        if raw in (None, ""):
            refs.append(None)
            continue
        try:
            refs.append(domain.validate_hospital_order_reference(str(raw), _reference_pattern()))
        except DomainError as err:
            err.details = {**err.details, "field": f"lines[{index}].line_reference"}
            err.user_message = err.user_message.replace("hospital order reference", "line reference")
            raise
    return checked, refs


def _next_order_no(now: dt.datetime) -> str:
    """ORD-<site-local day>-NNNN; a transaction-scoped advisory lock serialises the count per day."""
    from app.core.web import site_tz

    day = now.astimezone(site_tz()).date()
    prefix = f"ORD-{day:%Y%m%d}-"
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": prefix})
    last = db.session.execute(
        select(func.max(Order.order_no)).where(Order.order_no.like(prefix + "%"))
    ).scalar()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def minutes_per_dose(product: Product, on: dt.date) -> int:
    """The dispensing time standard of `product` in force on `on` (TIME_STANDARD_MISSING if none)."""
    from app.capacity.queries import time_standards

    return time_standard_in_force(time_standards(product.id, DOSE_FORM), on, product.code).minutes_required


def _ordering_customer(actor: Actor, customer_code: str | None) -> Customer:
    if _is_customer(actor):
        customer_id = customer_id_of(actor)
        customer = db.session.get(Customer, customer_id) if customer_id else None
        if customer is None:
            raise DomainError("NO_HOSPITAL", "Your login is not linked to a hospital.", 403)
        return customer
    if not customer_code:
        raise ValidationFailed("Choose the hospital the order is for.", {"customer_code": "required"})
    customer = db.session.execute(
        select(Customer).where(Customer.code == customer_code, Customer.active.is_(True))
    ).scalar_one_or_none()
    if customer is None:
        raise NotFound("customer")
    return customer


def _from_reservation(reservation_id: object, actor: Actor, now: dt.datetime) -> Reservation:
    if isinstance(reservation_id, bool) or not isinstance(reservation_id, int):
        raise ValidationFailed("reservation_id must be a whole number.", {"reservation_id": "not a number"})
    reservation = db.session.execute(
        select(Reservation).where(Reservation.id == reservation_id).with_for_update()
    ).scalar_one_or_none()
    if reservation is None or (_is_customer(actor) and reservation.customer_id != customer_id_of(actor)):
        raise NotFound("reservation")
    if db.session.execute(select(Order.id).where(Order.reservation_id == reservation.id)).first():
        raise DomainError("RESERVATION_USED", "This reservation already has an order.", 409)
    # Confirms under the window's lock; an expired hold is refused with RESERVATION_EXPIRED whose
    # details say whether its minutes are still free (the page then offers to hold them again).
    _capacity().confirm_reservation(reservation, now)
    return reservation


def _standalone_window(
    window_id: object, slot_id: object, product: Product, now: dt.datetime
) -> tuple[DeliveryWindow, DeliverySlot | None]:
    for name, value in (("window_id", window_id), ("slot_id", slot_id)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationFailed(f"{name} must be a whole number.", {name: "not a number"})
    if window_id is None:
        raise ValidationFailed("Choose a delivery window.", {"window_id": "required"})
    window = db.session.get(DeliveryWindow, window_id)
    if window is None:
        raise NotFound("delivery window")
    slot = None
    if slot_id is not None:
        slot = db.session.get(DeliverySlot, slot_id)
        if slot is None or slot.window_id != window.id:
            raise NotFound("delivery slot")
    calendar = window.calendar
    booking_open(
        window.local_date,
        window.start_at,
        calendar.timezone,
        calendar.cutoff_days_before,
        calendar.cutoff_local_time,
        window.is_closed or not calendar.is_active,
        now,
    )
    return window, slot


def _product(product_code: object) -> Product:
    if not isinstance(product_code, str) or not product_code.strip():
        raise ValidationFailed("Choose a product.", {"product_code": "required"})
    product = db.session.execute(
        select(Product).where(Product.code == product_code.strip(), Product.active.is_(True))
    ).scalar_one_or_none()
    if product is None:
        raise NotFound("product")
    return product


def create_order(
    actor: Actor,
    *,
    hospital_order_reference: object,
    lines: object,
    reservation_id: object = None,
    customer_code: str | None = None,
    window_id: object = None,
    product_code: object = None,
    slot_id: object = None,
    now: dt.datetime | None = None,
) -> Order:
    """Submit an order: one line per dose, a pseudonymous hospital reference, minutes for every dose.

    Rule: from a HELD reservation the reservation is confirmed in this transaction (an expired one
    is refused with RESERVATION_EXPIRED, saying whether its minutes are still free); on its own,
    the window must be open for booking and have the minutes (time standard x doses), recounted
    under the capacity lock. Only roles the table allows to submit may create orders; a hospital
    only for itself.
    """
    now = _now(now)
    try:
        domain.check_actor(domain.check_transition(domain.DRAFT, "submit"), actor.roles)
        reference = domain.validate_hospital_order_reference(
            hospital_order_reference if isinstance(hospital_order_reference, str) else "",
            _reference_pattern(),
        )
        checked, refs = _checked_lines(lines)
        dose_count = len(checked)
        reservation: Reservation | None = None
        if reservation_id is not None:
            reservation = _from_reservation(reservation_id, actor, now)
            customer = db.session.get(Customer, reservation.customer_id)
            product = db.session.get(Product, reservation.product_id)
            window, slot_pk = db.session.get(DeliveryWindow, reservation.window_id), reservation.slot_id
            per_dose = reservation.minutes_per_dose
            extra = (dose_count - reservation.dose_count) * per_dose
            if extra > 0:  # more doses than held: the difference must still be free
                _capacity().check_capacity_for(reservation.window_id, extra, reservation.slot_id, now)
        else:
            customer = _ordering_customer(actor, customer_code)
            product = _product(product_code)
            window, slot = _standalone_window(window_id, slot_id, product, now)
            slot_pk = slot.id if slot else None
            per_dose = minutes_per_dose(product, window.local_date)
            _capacity().check_capacity_for(window.id, per_dose * dose_count, slot_pk, now)
        assert customer is not None and product is not None and window is not None
        order = Order(
            order_no=_next_order_no(now),
            customer_id=customer.id,
            product_id=product.id,
            window_id=window.id,
            slot_id=slot_pk,
            reservation_id=reservation.id if reservation else None,
            hospital_order_reference=reference,
            status=domain.SUBMITTED,
            dose_count=dose_count,
            minutes_per_dose=per_dose,
            created_by_id=actor.user_id,
            created_at=now,
            submitted_at=now,
            version=1,
        )
        db.session.add(order)
        db.session.flush()
        for line, ref in zip(checked, refs, strict=True):
            db.session.add(
                OrderLine(
                    order_id=order.id,
                    line_no=line.line_no,
                    requested_activity_mbq=round(line.requested_activity_mbq, 1),
                    calibration_at=line.calibration_at,
                    line_reference=ref,
                )
            )
        source = "reservation " + reservation.reference if reservation else "free minutes"
        _event(
            order,
            "SUBMITTED",
            "Order submitted",
            actor,
            from_status=domain.DRAFT,
            data={
                "dose_count": dose_count,
                "minutes": per_dose * dose_count,
                "from": source,
                "reservation_id": reservation.id if reservation else None,
            },
        )
        audit.record(
            "Order", order.id, "CREATE", after=_snapshot(order) | {"order_no": order.order_no}, actor=actor
        )
        notifications.notify(
            "ORDER_SUBMITTED",
            f"Order {order.order_no} waits for validation",
            f"{customer.name}: {dose_count} dose(s) of {product.code} for {window.local_date.isoformat()}.",
            roles=(domain.PLANNER,),
            entity_type="Order",
            entity_id=order.id,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order


# --------------------------------------------------------------------------- validate, reject, cancel


def lock_order(order_id: int) -> Order:
    order = db.session.execute(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if order is None:
        raise NotFound("order")
    return order


def checklist_for(order: Order) -> list[domain.ChecklistItem]:
    """The validation checklist of one order, judged on the window's delivery date."""
    customer, product, window = order.customer, order.product, order.window
    return domain.validation_checklist(
        customer.licence_expiry,
        window.local_date,
        product.code,
        {p.code for p in customer.permitted_products},
        bool(customer.credit_hold),
    )


def _minutes_counted_before(order: Order) -> int:
    """Minutes the order already holds in its window: a confirmed reservation's, or nothing."""
    reservation = order.reservation
    if reservation is not None and reservation.status == "CONFIRMED":
        return int(reservation.reserved_minutes)
    return 0


def validate_order(order_id: int, actor: Actor, now: dt.datetime | None = None) -> Order:
    """Validate a submitted order: licence valid on the delivery date, product permitted, no credit hold.

    Rule: committed_dispensing_minutes = the reserved minutes, or time standard x doses when the
    dose count differs from the reservation; minutes beyond what the order already holds are
    recounted under the capacity lock (CAPACITY_EXCEEDED) before they are committed.
    """
    now = _now(now)
    try:
        order = lock_order(order_id)
        transition = domain.check_transition(order.status, "validate")
        domain.check_actor(transition, actor.roles)
        domain.check_validation(checklist_for(order))
        before = _snapshot(order)
        reservation = order.reservation
        if reservation is not None and reservation.dose_count == order.dose_count:
            minutes = int(reservation.reserved_minutes)
        else:
            minutes = order.minutes_per_dose * order.dose_count
        extra = minutes - _minutes_counted_before(order)
        if extra > 0:
            _capacity().check_capacity_for(order.window_id, extra, order.slot_id, now)
        if reservation is not None and reservation.dose_count != order.dose_count:
            # Capacity counts an order made from a reservation through the reservation: it must
            # carry the minutes actually committed (the frozen time standard x the doses ordered).
            reservation.dose_count = order.dose_count
            reservation.reserved_minutes = minutes
        source, _ = _move(order, "validate", actor)
        order.committed_dispensing_minutes = minutes
        order.validated_at = now
        _event(
            order,
            "VALIDATED",
            "Order validated",
            actor,
            from_status=source,
            data={"committed_minutes": minutes, "checklist": ["licence", "product", "credit"]},
        )
        audit.record("Order", order.id, "VALIDATE", before=before, after=_snapshot(order), actor=actor)
        notifications.notify(
            "ORDER_VALIDATED",
            f"Order {order.order_no} validated",
            f"Your order {order.hospital_order_reference} is accepted and will be planned into a batch.",
            user_ids=_hospital_users(order.customer_id),
            entity_type="Order",
            entity_id=order.id,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order


def _release_minutes(order: Order, actor: Actor, reason: str, now: dt.datetime) -> None:
    """A closed order gives its minutes back: its reservation is cancelled, its commitment cleared."""
    reservation = order.reservation
    if reservation is not None and reservation.status in ("HELD", "CONFIRMED"):
        # capacity.cancel_reservation refuses a confirmed reservation (it belongs to an order) and
        # commits on its own; the order's closing cancels it here, in the order's transaction.
        _capacity().lock_windows([reservation.window_id])
        before = audit.snapshot(reservation)
        reservation.status = "CANCELLED"
        reservation.cancelled_at = now
        reservation.cancel_reason = f"Order {order.order_no} closed: {reason}"[:1000]
        audit.record(
            "Reservation",
            reservation.id,
            "CANCEL",
            before=before,
            after=audit.snapshot(reservation),
            reason=reservation.cancel_reason,
            actor=actor,
        )
    order.committed_dispensing_minutes = None


def _close(order_id: int, trigger: str, reason: str | None, actor: Actor, now: dt.datetime | None) -> Order:
    now = _now(now)
    try:
        order = lock_order(order_id)
        if _is_customer(actor) and order.customer_id != customer_id_of(actor):
            raise NotFound("order")
        before = _snapshot(order)
        source, text_reason = _move(order, trigger, actor, reason)
        assert text_reason is not None
        order.closed_reason = text_reason
        _release_minutes(order, actor, text_reason, now)
        title = "Order rejected" if trigger == "reject" else "Order cancelled"
        _event(order, order.status, title, actor, from_status=source, note=text_reason)
        audit.record(
            "Order",
            order.id,
            trigger.upper(),
            before=before,
            after=_snapshot(order),
            reason=text_reason,
            actor=actor,
        )
        notifications.notify(
            f"ORDER_{order.status}",
            f"Order {order.order_no}: {title.lower()}",
            f"{title} ({order.hospital_order_reference}): {text_reason}",
            roles=() if trigger == "reject" else (domain.PLANNER,),
            user_ids=_hospital_users(order.customer_id),
            entity_type="Order",
            entity_id=order.id,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return order


def reject_order(order_id: int, reason: str | None, actor: Actor, now: dt.datetime | None = None) -> Order:
    """Reject a submitted order with a written reason; its reserved minutes return at once."""
    return _close(order_id, "reject", reason, actor, now)


def cancel_order(order_id: int, reason: str | None, actor: Actor, now: dt.datetime | None = None) -> Order:
    """Cancel an order with a written reason (a hospital only its own, and only before validation);
    its minutes return at once (the reservation is cancelled too)."""
    return _close(order_id, "cancel", reason, actor, now)


# --------------------------------------------------------------------------- scheduling (planning)


def schedule_orders(order_ids: Sequence[int], batch: Any, actor: Actor) -> list[Order]:
    """Move validated orders to SCHEDULED for `batch` (its id and batch_no), inside the caller's
    transaction (no commit): the planner links them to the batch in the same transaction."""
    if not order_ids:
        raise ValidationFailed("Choose at least one validated order.", {"order_ids": "required"})
    orders = list(
        db.session.execute(
            select(Order).where(Order.id.in_(order_ids)).order_by(Order.id).with_for_update()
        ).scalars()
    )
    if len(orders) != len(set(order_ids)):
        raise NotFound("order")
    for order in orders:
        before = _snapshot(order)
        source, _ = _move(order, "schedule", actor)
        _event(
            order,
            "SCHEDULED",
            f"Planned into batch {batch.batch_no}",
            actor,
            from_status=source,
            data={"batch_id": batch.id, "batch_no": batch.batch_no},
        )
        audit.record(
            "Order",
            order.id,
            "SCHEDULE",
            before=before,
            after=_snapshot(order) | {"batch_id": batch.id},
            actor=actor,
        )
    return orders
