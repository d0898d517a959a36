"""Reading orders: the filtered list, one order with its timeline, the validation queue.

Who sees what: internal roles see every order and the staff names on the timeline; a hospital user
(Customer role only) sees only its own hospital's orders (404 for any other), only the
customer-visible events, and no staff names or internal notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.capacity.models import DeliveryWindow, Reservation
from app.core.actor import Actor
from app.core.domain import NotFound, ValidationFailed
from app.core.extensions import db
from app.masterdata.models import Customer, Product
from app.orders import domain
from app.orders.models import Order, OrderEvent
from app.orders.service import checklist_for, customer_id_of

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class OrderViewer:
    actor: Actor
    restricted: bool
    customer_id: int | None


def viewer_for(actor: Actor) -> OrderViewer:
    restricted = bool(actor.roles) and all(r == domain.CUSTOMER for r in actor.roles)
    return OrderViewer(actor, restricted, customer_id_of(actor) if restricted else None)


def _visible(viewer: OrderViewer):
    if not viewer.restricted:
        return None
    return Order.customer_id == viewer.customer_id if viewer.customer_id is not None else false()


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    customer_codes: tuple[str, ...] = ()
    product_codes: tuple[str, ...] = ()
    date_from: dt.date | None = None  # delivery window's local date, inclusive
    date_to: dt.date | None = None
    q: str | None = None  # order number or hospital order reference
    page: int = 1
    page_size: int = 50


def _date(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{name} is not a date (YYYY-MM-DD).", {name: "not a date"}) from None


def _int(raw: str | None, name: str, default: int, high: int) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= high:
        raise ValidationFailed(f"{name} must be a whole number from 1 to {high}.", {name: "out of range"})
    return int(raw)


def parse_filter(args: Any) -> OrderFilter:
    """Filters from query parameters (repeatable `status`, `customer`, `product`; `date_from`,
    `date_to`, `q`, `page`, `page_size`); bad values are refused with 422, never ignored."""
    statuses = tuple(s.strip().upper() for s in args.getlist("status") if s.strip())
    unknown = [s for s in statuses if s not in domain.STATUSES]
    if unknown:
        raise ValidationFailed(f"Unknown order status {unknown[0][:40]!r}.", {"status": "unknown"})
    q = (args.get("q") or "").strip()
    if len(q) > 60 or "\x00" in q:
        raise ValidationFailed("Search text may be at most 60 characters.", {"q": "too long"})
    lists = {k: tuple(v.strip()[:32] for v in args.getlist(k) if v.strip()) for k in ("customer", "product")}
    return OrderFilter(
        statuses=statuses,
        customer_codes=lists["customer"],
        product_codes=lists["product"],
        date_from=_date(args.get("date_from"), "date_from"),
        date_to=_date(args.get("date_to"), "date_to"),
        q=q or None,
        page=_int(args.get("page"), "page", 1, 100000),
        page_size=_int(args.get("page_size"), "page_size", 50, MAX_PAGE_SIZE),
    )


def _conditions(f: OrderFilter, viewer: OrderViewer) -> list[Any]:
    c: list[Any] = []
    if f.statuses:
        c.append(Order.status.in_(f.statuses))
    if f.customer_codes:
        c.append(Customer.code.in_(f.customer_codes))
    if f.product_codes:
        c.append(Product.code.in_(f.product_codes))
    if f.date_from:
        c.append(DeliveryWindow.local_date >= f.date_from)
    if f.date_to:
        c.append(DeliveryWindow.local_date <= f.date_to)
    if f.q:
        like = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        c.append(
            or_(
                func.lower(Order.order_no).like(like, escape="\\"),
                func.lower(Order.hospital_order_reference).like(like, escape="\\"),
            )
        )
    visible = _visible(viewer)
    if visible is not None:
        c.append(visible)
    return c


def _base():
    return (
        select(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Product, Product.id == Order.product_id)
        .join(DeliveryWindow, DeliveryWindow.id == Order.window_id)
        .options(
            joinedload(Order.customer),
            joinedload(Order.product),
            joinedload(Order.window).joinedload(DeliveryWindow.calendar),
            joinedload(Order.slot),
            joinedload(Order.reservation),
        )
    )


def order_item(o: Order, viewer: OrderViewer | None = None) -> dict[str, Any]:
    """One order as the list, the API and the pages show it (window times local, zone named)."""
    w = o.window
    start = o.slot.start_time if o.slot else w.start_time
    end = o.slot.end_time if o.slot else w.end_time
    return {
        "id": o.id,
        "order_no": o.order_no,
        "status": o.status,
        "status_label": domain.status_label(o.status),
        "customer": {"id": o.customer.id, "code": o.customer.code, "name": o.customer.name},
        "product": {"id": o.product.id, "code": o.product.code, "name": o.product.name_en},
        "window": {
            "id": w.id,
            "date": w.local_date.isoformat(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "timezone": w.calendar.timezone,
            "start_at": w.start_at,
        },
        "slot_id": o.slot_id,
        "hospital_order_reference": o.hospital_order_reference,
        "reservation": None
        if o.reservation is None
        else {"id": o.reservation.id, "reference": o.reservation.reference, "status": o.reservation.status},
        "dose_count": o.dose_count,
        "minutes_per_dose": o.minutes_per_dose,
        "requested_minutes": o.minutes_per_dose * o.dose_count,
        "committed_dispensing_minutes": o.committed_dispensing_minutes,
        "created_at": o.created_at,
        "submitted_at": o.submitted_at,
        "validated_at": o.validated_at,
        "closed_reason": o.closed_reason,
        "version": o.version,
    }


def list_orders(f: OrderFilter, actor: Actor) -> dict[str, Any]:
    """One page of orders matching the filters, delivery window first, newest window last."""
    viewer = viewer_for(actor)
    conditions = _conditions(f, viewer)
    rows = (
        db.session.execute(
            _base()
            .where(*conditions)
            .order_by(DeliveryWindow.start_at.desc(), Order.id.desc())
            .limit(f.page_size)
            .offset((f.page - 1) * f.page_size)
        )
        .scalars()
        .all()
    )
    total = db.session.execute(
        select(func.count())
        .select_from(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Product, Product.id == Order.product_id)
        .join(DeliveryWindow, DeliveryWindow.id == Order.window_id)
        .where(*conditions)
    ).scalar_one()
    return {
        "items": [order_item(o, viewer) for o in rows],
        "total": total,
        "page": f.page,
        "page_size": f.page_size,
    }


def get_visible(order_id: int, actor: Actor) -> Order:
    """The order if this person may see it; 404 otherwise (a hospital never learns it exists)."""
    if not 0 < order_id < 2**31:
        raise NotFound("order")
    viewer = viewer_for(actor)
    visible = _visible(viewer)
    order = (
        db.session.execute(_base().where(Order.id == order_id, *([visible] if visible is not None else [])))
        .scalars()
        .one_or_none()
    )
    if order is None:
        raise NotFound("order")
    return order


def timeline(order: Order, viewer: OrderViewer) -> list[dict[str, Any]]:
    query = select(OrderEvent).where(OrderEvent.order_id == order.id)
    if viewer.restricted:
        query = query.where(OrderEvent.customer_visible.is_(True))
    events = db.session.execute(query.order_by(OrderEvent.occurred_at, OrderEvent.id)).scalars()
    out = []
    for e in events:
        item: dict[str, Any] = {
            "id": e.id,
            "event_type": e.event_type,
            "title": e.title,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "to_status_label": domain.status_label(e.to_status) if e.to_status else None,
            "occurred_at": e.occurred_at,
        }
        if viewer.restricted:
            # A hospital sees that its order was rejected or cancelled and why, never who did it.
            item["note"] = e.note if e.event_type in ("REJECTED", "CANCELLED") else None
            item["actor"] = "Customer service" if e.actor_user_id != viewer.actor.user_id else "You"
            item["batch_no"] = (e.data or {}).get("batch_no")
        else:
            item.update(note=e.note, actor=e.actor_name, data=e.data)
        out.append(item)
    return out


def _batch_of(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for e in reversed(events):
        data = e.get("data") or {}
        if e["event_type"] == "SCHEDULED":
            batch_no = data.get("batch_no") or e.get("batch_no")
            return {"id": data.get("batch_id"), "batch_no": batch_no}
    return None


# Who owns the next step of each status, in the hospital's words.
NEXT_STEP: dict[str, tuple[str, str]] = {
    domain.SUBMITTED: ("Customer service checks the licence, permitted products and account.", "Planner"),
    domain.VALIDATED: ("The planner puts the order into a production batch.", "Planner"),
    domain.SCHEDULED: ("Production makes the batch on the planned morning.", "Production"),
    domain.IN_PRODUCTION: ("QC tests the batch and a Qualified Person releases it.", "QC / QP"),
    domain.RELEASED: ("Dispensing fills the doses (not yet recorded in this system).", "Dispensing"),
    domain.DISPENSED: ("Logistics packs and ships the doses (not yet recorded in this system).", "Logistics"),
    domain.SHIPPED: ("The courier delivers; delivery is confirmed on receipt.", "Logistics"),
}


def order_detail(order_id: int, actor: Actor) -> dict[str, Any]:
    """The order with lines, timeline, journey stepper, next step and the caller's allowed acts."""
    viewer = viewer_for(actor)
    order = get_visible(order_id, actor)
    events = timeline(order, viewer)
    detail = order_item(order, viewer)
    next_step = NEXT_STEP.get(order.status)
    detail.update(
        lines=[
            {
                "line_no": line.line_no,
                "requested_activity_mbq": float(line.requested_activity_mbq),
                "calibration_at": line.calibration_at,
                "line_reference": line.line_reference,
            }
            for line in order.lines
        ],
        timeline=events,
        batch=_batch_of(events),
        journey=[
            {"key": s.key, "label": s.label, "state": s.state}
            for s in domain.customer_journey(order.status, order.reservation_id is not None)
        ],
        next_step=None if next_step is None else {"text": next_step[0], "owner": next_step[1]},
        allowed_actions=[
            {"trigger": t.trigger, "label": t.label, "needs_reason": t.needs_reason}
            for t in domain.available_transitions(order.status, actor.roles)
            if t.trigger in ("validate", "reject", "cancel")
        ],
    )
    if order.status == domain.SUBMITTED and not viewer.restricted:
        detail["checklist"] = [_check(i) for i in checklist_for(order)]
    return detail


def _check(item: domain.ChecklistItem) -> dict[str, Any]:
    return {"key": item.key, "label": item.label, "ok": item.ok, "message": item.message, "code": item.code}


def validation_queue(actor: Actor) -> list[dict[str, Any]]:
    """SUBMITTED orders, oldest first, each with its checklist evaluated now."""
    orders = (
        db.session.execute(
            _base()
            .options(joinedload(Order.customer).selectinload(Customer.permitted_products))
            .where(Order.status == domain.SUBMITTED)
            .order_by(Order.submitted_at, Order.id)
        )
        .scalars()
        .unique()
        .all()
    )
    out = []
    for o in orders:
        item = order_item(o)
        checks = [_check(i) for i in checklist_for(o)]
        item["checklist"] = checks
        item["all_ok"] = all(c["ok"] for c in checks)
        out.append(item)
    return out


def validated_unplanned() -> list[Order]:
    """Validated orders not yet in a batch (the planner's pool), earliest window first."""
    return list(
        db.session.execute(
            _base()
            .options(selectinload(Order.lines))
            .where(Order.status == domain.VALIDATED)
            .order_by(DeliveryWindow.start_at, Order.id)
        )
        .scalars()
        .unique()
        .all()
    )


def reservation_prefill(reservation_id: int, actor: Actor) -> dict[str, Any] | None:
    """What the New order page shows for a reservation (None if it is not the caller's)."""
    from app.capacity.queries import reservation_for, reservation_json

    try:
        reservation: Reservation = reservation_for(actor, reservation_id)
    except NotFound:
        return None
    return reservation_json(reservation)
