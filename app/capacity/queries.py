"""Capacity read side: remaining minutes of windows and slots, counted in SQL at the moment asked.

Booked minutes of a window (and of a slot) are
  reservations CONFIRMED, plus reservations HELD whose `expires_at` is after `now`
  (an expired hold stops counting at once, whether or not the expiry job has run), plus
  orders that are validated or later and were NOT made from a reservation (`reservation_id IS NULL`),
  with their `committed_dispensing_minutes` (an order made from a reservation counts through it).
The order table is read as a raw table: orders sit above capacity and capacity must not import them.
One statement (`_BOOKED_CTE`) is the only definition of that rule; every query here builds on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm.attributes import set_committed_value

from app.capacity import domain as rules
from app.capacity.models import DeliverySlot, DeliveryWindow, Reservation, ResourceCalendar, TimeStandard
from app.core.actor import Actor
from app.core.domain import NotFound
from app.core.extensions import db
from app.masterdata.models import Customer, CustomerUser, Product

UNIT_DOSE = "UNIT_DOSE"
CUSTOMER_ROLE = "Customer"
# Order statuses in which an order's minutes are committed at the dispensing cell.
COMMITTING_ORDER_STATUSES = (
    "VALIDATED",
    "SCHEDULED",
    "IN_PRODUCTION",
    "RELEASED",
    "DISPENSED",
    "SHIPPED",
    "DELIVERED",
)
_ORDER_STATUSES_SQL = ", ".join(f"'{s}'" for s in COMMITTING_ORDER_STATUSES)

# Every booking of the windows in `win`, with its kind: a live hold or committed minutes.
_BOOKED_CTE = f"""
booked AS (
    SELECT r.window_id, r.slot_id, r.reserved_minutes AS minutes,
           CASE WHEN r.status = 'HELD' THEN 'held' ELSE 'committed' END AS kind
      FROM reservation r JOIN win ON win.id = r.window_id
     WHERE r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.expires_at > :now)
    UNION ALL
    SELECT o.window_id, o.slot_id, o.committed_dispensing_minutes, 'committed'
      FROM customer_order o JOIN win ON win.id = o.window_id
     WHERE o.reservation_id IS NULL AND o.committed_dispensing_minutes IS NOT NULL
       AND o.status IN ({_ORDER_STATUSES_SQL})
),
by_window AS (
    SELECT window_id,
           coalesce(sum(minutes) FILTER (WHERE kind = 'held'), 0) AS held,
           coalesce(sum(minutes) FILTER (WHERE kind = 'committed'), 0) AS committed
      FROM booked GROUP BY window_id
),
by_slot AS (
    SELECT slot_id, sum(minutes) AS minutes FROM booked WHERE slot_id IS NOT NULL GROUP BY slot_id
)
"""


def _windows_sql(win_where: str) -> str:
    return f"""
WITH win AS (
    SELECT w.* FROM delivery_window w
      JOIN resource_calendar c ON c.id = w.calendar_id
     WHERE {win_where}
),
{_BOOKED_CTE}
SELECT win.id, win.calendar_id, win.local_date, win.start_time, win.end_time, win.start_at, win.end_at,
       win.total_minutes, win.is_closed,
       c.timezone, c.cutoff_days_before, c.cutoff_local_time, c.is_active AS calendar_active,
       EXISTS (SELECT 1 FROM calendar_closure cc
                WHERE cc.calendar_id = win.calendar_id AND cc.local_date = win.local_date) AS closure,
       coalesce(bw.held, 0) AS held, coalesce(bw.committed, 0) AS committed,
       s.id AS slot_id, s.start_time AS slot_start, s.end_time AS slot_end,
       s.total_minutes AS slot_total, coalesce(bs.minutes, 0) AS slot_booked
  FROM win
  JOIN resource_calendar c ON c.id = win.calendar_id
  LEFT JOIN by_window bw ON bw.window_id = win.id
  LEFT JOIN delivery_slot s ON s.window_id = win.id
  LEFT JOIN by_slot bs ON bs.slot_id = s.id
 ORDER BY win.start_at, win.id, s.start_at, s.id
"""


_ONE_WINDOW_SQL = text(_windows_sql("w.id = :window_id"))
_RANGE_SQL = text(
    _windows_sql(
        "w.local_date BETWEEN :date_from AND :date_to AND c.is_active "
        "AND c.resource_type = 'DISPENSING_BOTTLENECK'"
    )
)


@dataclass
class WindowRow:
    id: int
    calendar_id: int
    local_date: dt.date
    start_time: dt.time
    end_time: dt.time
    start_at: dt.datetime
    end_at: dt.datetime
    total_minutes: int
    closed: bool
    timezone: str
    cutoff_days_before: int
    cutoff_local_time: dt.time
    held: int
    committed: int
    slots: list[dict[str, Any]]

    @property
    def remaining_minutes(self) -> int:
        return self.total_minutes - self.held - self.committed

    def slot(self, slot_id: int) -> dict[str, Any] | None:
        return next((s for s in self.slots if s["id"] == slot_id), None)


def _collect(rows: Iterable[Any]) -> list[WindowRow]:
    out: list[WindowRow] = []
    for r in rows:
        if not out or out[-1].id != r.id:
            out.append(
                WindowRow(
                    id=r.id,
                    calendar_id=r.calendar_id,
                    local_date=r.local_date,
                    start_time=r.start_time,
                    end_time=r.end_time,
                    start_at=r.start_at,
                    end_at=r.end_at,
                    total_minutes=r.total_minutes,
                    closed=bool(r.is_closed or r.closure or not r.calendar_active),
                    timezone=r.timezone,
                    cutoff_days_before=r.cutoff_days_before,
                    cutoff_local_time=r.cutoff_local_time,
                    held=int(r.held),
                    committed=int(r.committed),
                    slots=[],
                )
            )
        if r.slot_id is not None:
            out[-1].slots.append(
                {
                    "id": r.slot_id,
                    "start": r.slot_start,
                    "end": r.slot_end,
                    "total_minutes": r.slot_total,
                    "remaining_minutes": r.slot_total - int(r.slot_booked),
                }
            )
    return out


def window_row(window_id: int, now: dt.datetime) -> WindowRow | None:
    """One window with its held / committed minutes and slots, counted at `now`."""
    rows = db.session.execute(_ONE_WINDOW_SQL, {"window_id": window_id, "now": now})
    found = _collect(rows)
    return found[0] if found else None


def window_rows(date_from: dt.date, date_to: dt.date, now: dt.datetime) -> list[WindowRow]:
    """Windows of the active dispensing calendars between two local dates (inclusive), one query."""
    rows = db.session.execute(_RANGE_SQL, {"date_from": date_from, "date_to": date_to, "now": now})
    return _collect(rows)


def time_standards(product_id: int, dose_form: str = UNIT_DOSE) -> list[rules.TimeStandardPeriod]:
    rows = db.session.execute(
        select(TimeStandard).where(TimeStandard.product_id == product_id, TimeStandard.dose_form == dose_form)
    ).scalars()
    return [
        rules.TimeStandardPeriod(t.minutes_required, t.effective_from, t.effective_to, t.is_active, t.id)
        for t in rows
    ]


def _clock(t: dt.time) -> str:
    return t.strftime("%H:%M")


def window_json(w: WindowRow, minutes_per_dose: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": w.id,
        "date": w.local_date.isoformat(),
        "start": _clock(w.start_time),
        "end": _clock(w.end_time),
        "start_at": w.start_at,
        "end_at": w.end_at,
        "timezone": w.timezone,
        "total_minutes": w.total_minutes,
        "remaining_minutes": w.remaining_minutes,
        "closed": w.closed,
        "slots": [
            {
                "id": s["id"],
                "start": _clock(s["start"]),
                "end": _clock(s["end"]),
                "total_minutes": s["total_minutes"],
                "remaining_minutes": s["remaining_minutes"],
            }
            for s in w.slots
        ],
    }
    if minutes_per_dose:
        item["minutes_per_dose"] = minutes_per_dose
        item["doses_that_fit"] = max(w.remaining_minutes, 0) // minutes_per_dose
    return item


def windows_between(
    date_from: dt.date, date_to: dt.date, product_code: str | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Windows with remaining minutes per window and slot; with a product, its minutes per dose.

    A product without a time standard on a date gets no `minutes_per_dose` there (booking it would
    be refused with TIME_STANDARD_MISSING).
    """
    now = now or dt.datetime.now(dt.UTC)
    periods: list[rules.TimeStandardPeriod] = []
    if product_code is not None:
        product = db.session.execute(select(Product).where(Product.code == product_code)).scalar()
        if product is None:
            raise NotFound("product")
        periods = time_standards(product.id)
    out = []
    for w in window_rows(date_from, date_to, now):
        per_dose = None
        if periods:
            covering = [p for p in periods if rules.period_covers(p, w.local_date)]
            per_dose = max(covering, key=lambda p: p.effective_from).minutes_required if covering else None
        out.append(window_json(w, per_dose))
    return out


def day_usage(day: dt.date, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per window of `day`: total, held (live), committed, free, reserved % and committed % (planner)."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for w in window_rows(day, day, now):
        usage = rules.window_usage(w.total_minutes, w.held, w.committed)
        out.append(
            {
                "window_id": w.id,
                "date": w.local_date.isoformat(),
                "start": _clock(w.start_time),
                "end": _clock(w.end_time),
                "timezone": w.timezone,
                "closed": w.closed,
                "total_minutes": usage.total_minutes,
                "held_minutes": usage.held_minutes,
                "committed_minutes": usage.committed_minutes,
                "reserved_minutes": usage.reserved_minutes,
                "free_minutes": usage.free_minutes,
                "overbooked_minutes": usage.overbooked_minutes,
                "reserved_pct": usage.reserved_pct,
                "committed_pct": usage.committed_pct,
            }
        )
    return out


# --------------------------------------------------------------------------- reservations


def customer_of(actor: Actor) -> tuple[bool, int | None]:
    """(restricted, customer_id): a login holding only the Customer role sees its own hospital only."""
    restricted = bool(actor.roles) and all(r == CUSTOMER_ROLE for r in actor.roles)
    customer_id = actor.customer_id
    if restricted and customer_id is None and actor.user_id is not None:
        customer_id = db.session.execute(
            select(CustomerUser.customer_id).where(CustomerUser.user_id == actor.user_id)
        ).scalar()
    return restricted, customer_id


def load_reservation(reservation_id: int) -> Reservation | None:
    """A reservation with what `reservation_json` shows (window, calendar, slot, customer, product)
    in one statement, instead of one lazy load each: the related rows land in the session, where the
    many-to-one attributes are set to them. No loader options stay on the instance (a later
    `refresh(..., with_for_update=True)` could not lock their outer joins)."""
    row = db.session.execute(
        select(Reservation, DeliveryWindow, ResourceCalendar, Customer, Product, DeliverySlot)
        .join(DeliveryWindow, DeliveryWindow.id == Reservation.window_id)
        .join(ResourceCalendar, ResourceCalendar.id == DeliveryWindow.calendar_id)
        .join(Customer, Customer.id == Reservation.customer_id)
        .join(Product, Product.id == Reservation.product_id)
        .outerjoin(DeliverySlot, DeliverySlot.id == Reservation.slot_id)
        .where(Reservation.id == reservation_id)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    reservation, window, calendar, customer, product, slot = row
    for owner, name, value in (
        (reservation, "window", window),
        (window, "calendar", calendar),
        (reservation, "customer", customer),
        (reservation, "product", product),
        (reservation, "slot", slot),
    ):
        set_committed_value(owner, name, value)
    return reservation


def reservation_for(actor: Actor, reservation_id: int) -> Reservation:
    """The reservation if `actor` may see it; a hospital login gets 404 for other hospitals' ones.
    Loaded with what `reservation_json` shows in one statement (`load_reservation`)."""
    if not 0 < reservation_id < 2**31:
        raise NotFound("reservation")
    reservation = load_reservation(reservation_id)
    restricted, customer_id = customer_of(actor)
    if reservation is None or (restricted and reservation.customer_id != customer_id):
        raise NotFound("reservation")
    return reservation


def reservation_json(r: Reservation, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    w = r.window
    live = rules.is_hold_live(r.status, r.expires_at, now)
    status = rules.EXPIRED if r.status == rules.HELD and not live else r.status
    return {
        "id": r.id,
        "reference": r.reference,
        "status": status,
        "customer_code": r.customer.code,
        "customer_name": r.customer.name,
        "product_code": r.product.code,
        "window_id": r.window_id,
        "slot_id": r.slot_id,
        "date": w.local_date.isoformat(),
        "start": _clock(r.slot.start_time if r.slot else w.start_time),
        "end": _clock(r.slot.end_time if r.slot else w.end_time),
        "timezone": w.calendar.timezone,
        "dose_count": r.dose_count,
        "minutes_per_dose": r.minutes_per_dose,
        "reserved_minutes": r.reserved_minutes,
        "expires_at": r.expires_at,
        "seconds_left": max(int((r.expires_at - now).total_seconds()), 0) if live else 0,
        "created_at": r.created_at,
        "confirmed_at": r.confirmed_at,
        "expired_at": r.expired_at,
        "cancelled_at": r.cancelled_at,
        "cancel_reason": r.cancel_reason,
    }
