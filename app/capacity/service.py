"""Capacity acts: generate windows, hold / confirm / cancel / expire reservations.

Rule of every booking path: take the window's transaction-scoped advisory lock (`lock_windows`,
ascending ids, one key namespace), THEN count the remaining minutes in SQL, THEN insert. Two
bookings of one window are therefore serialised across threads, processes and servers, and the
count each one sees includes every booking committed before it; no window is ever overbooked.
Availability never depends on a job: an expired hold stops counting at its `expires_at` (see
queries.py); the expiry job and the sweep only make the status say so and tell people.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Select, select, text

from app.audit import service as audit
from app.capacity import domain as rules
from app.capacity import queries
from app.capacity.models import (
    CalendarClosure,
    DeliverySlot,
    DeliveryWindow,
    Reservation,
    ResourceCalendar,
)
from app.core.actor import SYSTEM, Actor, current_actor
from app.core.domain import DomainError, NotFound, ValidationFailed
from app.core.extensions import db
from app.core.jobs import enqueue_after_commit
from app.masterdata.models import Customer, CustomerUser, Product

if TYPE_CHECKING:
    from app.notifications.service import Audience

# Key 1 of the two-key advisory lock: the namespace of capacity windows (key 2 is the window id).
WINDOW_LOCK_NAMESPACE = 0x0CA9
ALTERNATIVES = 5
MAX_REASON = 1000


def _now(now: dt.datetime | None) -> dt.datetime:
    return rules._require_aware(now, "now") if now is not None else dt.datetime.now(dt.UTC)


def _positive_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(f"{name} must be a positive whole number.", {name: ["Not a valid id."]})
    if value >= 2**31:
        raise NotFound(name.removesuffix("_id").replace("_", " "))
    return value


# --------------------------------------------------------------------------- locking and counting


def _locks_disabled() -> bool:
    app = current_app
    return bool(app.testing and app.config.get("CAPACITY_LOCKS_DISABLED"))


def lock_windows(window_ids: list[int]) -> None:
    """Take the capacity lock of each window for the rest of the transaction, ascending by id.

    A fixed order means two acts that lock the same windows never deadlock. Test-only:
    CAPACITY_LOCKS_DISABLED (honoured only in testing) skips the lock, to prove a test sees a race.
    """
    if _locks_disabled():
        return
    for window_id in sorted(set(window_ids)):
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :id)"), {"ns": WINDOW_LOCK_NAMESPACE, "id": window_id}
        )


def window_remaining(window_id: int, now: dt.datetime, slot_id: int | None = None) -> tuple[int, int | None]:
    """(window remaining minutes, slot remaining minutes or None), counted in SQL at `now`."""
    row = queries.window_row(window_id, now)
    if row is None:
        raise NotFound("delivery window")
    if slot_id is None:
        return row.remaining_minutes, None
    slot = row.slot(slot_id)
    if slot is None:
        raise NotFound("delivery slot")
    return row.remaining_minutes, slot["remaining_minutes"]


def _race_hook() -> None:
    """Test-only pause between count and insert, to widen the race the unlocked test must see."""
    pause = current_app.config.get("CAPACITY_TEST_RACE_SLEEP") if current_app.testing else None
    if pause:
        time.sleep(float(pause))


def _alternatives(
    window: DeliveryWindow | queries.WindowRow, needed: int, now: dt.datetime
) -> list[dict[str, Any]]:
    """Nearest open windows (two weeks either side) that still have `needed` minutes."""
    rows = queries.window_rows(
        window.local_date - dt.timedelta(days=14), window.local_date + dt.timedelta(days=14), now
    )
    candidates = []
    for w in rows:
        if w.id == window.id or w.closed:
            continue
        try:
            rules.booking_open(
                w.local_date, w.start_at, w.timezone, w.cutoff_days_before, w.cutoff_local_time, False, now
            )
        except DomainError:
            continue
        candidates.append(rules.WindowCandidate(w.id, w.start_at, w.remaining_minutes))
    by_id = {w.id: w for w in rows}
    return [
        {
            "id": c.window_id,
            "date": by_id[c.window_id].local_date.isoformat(),
            "start": by_id[c.window_id].start_time.strftime("%H:%M"),
            "end": by_id[c.window_id].end_time.strftime("%H:%M"),
            "remaining_minutes": c.remaining_minutes,
        }
        for c in rules.nearest_fitting(candidates, needed, window.start_at, ALTERNATIVES)
    ]


def _check_fits(
    window: DeliveryWindow, slot_id: int | None, needed: int, now: dt.datetime, offer: bool = True
) -> None:
    """check_fits on the counted minutes; CAPACITY_EXCEEDED carries `remaining_minutes` and, with
    `offer`, the nearest windows that fit (`alternatives`)."""
    row = queries.window_row(window.id, now)
    if row is None:
        raise NotFound("delivery window")
    slot = None
    if slot_id is not None:
        slot = row.slot(slot_id)
        if slot is None:
            raise NotFound("delivery slot")
    try:
        _fits(row, slot, needed)
    except DomainError as err:
        if offer and err.code == "CAPACITY_EXCEEDED":
            _offer_alternatives(err, row, needed, now)
        raise


def _offer_alternatives(
    err: DomainError, window: DeliveryWindow | queries.WindowRow, needed: int, now: dt.datetime
) -> None:
    err.details["alternatives"] = _alternatives(window, needed, now)
    if err.details["alternatives"]:
        err.user_message += " Other windows with room are offered below."


def check_capacity_for(
    window_id: int, minutes: int, slot_id: int | None = None, now: dt.datetime | None = None
) -> None:
    """Rule: minutes added to a window (an order's extra doses) must fit, counted under the window's
    lock. Runs inside the caller's transaction (never commits); the lock is held until it ends."""
    now = _now(now)
    window = db.session.get(DeliveryWindow, _positive_id(window_id, "window_id"))
    if window is None:
        raise NotFound("delivery window")
    lock_windows([window.id])
    _check_fits(window, slot_id, minutes, now)


# --------------------------------------------------------------------------- windows


def generate_windows(calendar_id: int, start_date: dt.date, days: int, actor: Actor | None = None) -> dict:
    """Create the windows (and slots) the weekly pattern gives for `days` days from `start_date`.

    Rules: idempotent (a window that exists for the calendar, date and start is left alone, even if
    capacity admin changed it); closed dates get no windows; a window whose times do not exist or
    are ambiguous that day (DST) is skipped with its reason, never shifted. Audited; commits once.
    """
    actor = actor or current_actor()
    calendar = db.session.get(ResourceCalendar, _positive_id(calendar_id, "calendar_id"))
    if calendar is None:
        raise NotFound("calendar")
    pattern: dict[int, list[rules.PatternWindow]] = {}
    for p in calendar.patterns:
        pattern.setdefault(p.weekday, []).append(
            rules.PatternWindow(
                p.start_time, p.end_time, p.total_minutes, p.slot_length_min, p.minutes_per_slot
            )
        )
    end_date = start_date + dt.timedelta(days=max(days, 1) - 1)
    closed = set(
        db.session.execute(
            select(CalendarClosure.local_date).where(
                CalendarClosure.calendar_id == calendar.id,
                CalendarClosure.local_date.between(start_date, end_date),
            )
        ).scalars()
    )
    generated = rules.generate_windows(pattern, calendar.timezone, start_date, days, closed)
    existing = set(
        db.session.execute(
            select(DeliveryWindow.local_date, DeliveryWindow.start_time).where(
                DeliveryWindow.calendar_id == calendar.id,
                DeliveryWindow.local_date.between(start_date, end_date),
            )
        ).all()
    )
    created, slots = [], 0
    try:
        for spec in generated.windows:
            if (spec.local_date, spec.start_time) in existing:
                continue
            window = DeliveryWindow(
                calendar_id=calendar.id,
                local_date=spec.local_date,
                start_time=spec.start_time,
                end_time=spec.end_time,
                start_at=spec.start_at,
                end_at=spec.end_at,
                total_minutes=spec.total_minutes,
            )
            window.slots = [
                DeliverySlot(
                    start_time=s.start_time,
                    end_time=s.end_time,
                    start_at=s.start_at,
                    end_at=s.end_at,
                    total_minutes=s.total_minutes,
                )
                for s in spec.slots
            ]
            slots += len(spec.slots)
            db.session.add(window)
            created.append(window)
        db.session.flush()
        result = {
            "calendar_id": calendar.id,
            "date_from": start_date.isoformat(),
            "date_to": end_date.isoformat(),
            "created": len(created),
            "slots_created": slots,
            "already_there": len(generated.windows) - len(created),
            "closed_dates": sorted(d.isoformat() for d in closed),
            "skipped": [
                {
                    "date": s.local_date.isoformat(),
                    "start": s.start_time.strftime("%H:%M"),
                    "end": s.end_time.strftime("%H:%M"),
                    "code": s.code,
                    "reason": s.reason,
                }
                for s in generated.skipped
            ],
        }
        audit.record(
            "ResourceCalendar",
            calendar.id,
            "GENERATE_WINDOWS",
            after=result | {"window_ids": [w.id for w in created]},
            actor=actor,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


# --------------------------------------------------------------------------- reservations


def _hospital_users(customer_id: int) -> Select:
    """The ids of a hospital's user accounts, as a sub-select (resolved with the planners, one query)."""
    return select(CustomerUser.user_id).where(CustomerUser.customer_id == customer_id)


def _audience(customer_id: int) -> Audience:
    """Who hears of a reservation: the planners and the hospital's users, resolved in one statement.

    Resolved before the window's lock is taken, so the lock is not held for it."""
    from app.notifications.service import audience

    return audience(("Planner",), _hospital_users(customer_id))


def _when_text(day: dt.date, start: dt.time, end: dt.time, tz: str) -> str:
    return f"{day:%d %b %Y} {start:%H:%M}–{end:%H:%M} ({tz})"


def _when(r: Reservation) -> str:
    w = r.window
    start, end = (r.slot.start_time, r.slot.end_time) if r.slot else (w.start_time, w.end_time)
    return _when_text(w.local_date, start, end, w.calendar.timezone)


def _notify(r: Reservation, kind: str, title: str, body: str, audience: Audience | None = None) -> None:
    from app.notifications.service import notify

    notify(
        kind,
        title,
        body,
        audience=audience if audience is not None else _audience(r.customer_id),
        entity_type="Reservation",
        entity_id=r.id,
    )


def _summary(r: Reservation, when: str | None = None) -> str:
    return (
        f"{r.reference}: {r.dose_count} × {r.product.code} ({r.reserved_minutes} min) for "
        f"{r.customer.name}, window {when or _when(r)}."
    )


def _customer_for_booking(actor: Actor, customer_id: int | None) -> Customer:
    restricted, own = queries.customer_of(actor)
    if restricted:
        if own is None or (customer_id is not None and customer_id != own):
            raise NotFound("customer")
        customer_id = own
    if customer_id is None:
        raise ValidationFailed("Choose the hospital to book for.", {"customer_code": ["Required."]})
    customer = db.session.get(Customer, _positive_id(customer_id, "customer_id"))
    if customer is None or not getattr(customer, "active", True):
        raise NotFound("customer")
    return customer


def _new_reference(now: dt.datetime) -> tuple[int, str]:
    new_id = db.session.execute(
        text("SELECT nextval(pg_get_serial_sequence('reservation', 'id'))")
    ).scalar_one()
    return new_id, f"R-{now:%Y%m%d}-{new_id:04d}"


def _check_dose_count(dose_count: Any) -> None:
    if (
        isinstance(dose_count, bool)
        or not isinstance(dose_count, int)
        or not 1 <= dose_count <= rules.MAX_DOSES_PER_RESERVATION
    ):
        raise ValidationFailed(
            f"The number of doses must be a whole number from 1 to {rules.MAX_DOSES_PER_RESERVATION}.",
            {"dose_count": ["Not a whole number in range."]},
        )


def _slot_of(row: queries.WindowRow, slot_id: int | None) -> dict[str, Any] | None:
    if slot_id is not None:
        slot = row.slot(_positive_id(slot_id, "slot_id"))
        if slot is None:
            raise NotFound("delivery slot")
        return slot
    if row.slots:
        raise ValidationFailed("Choose a slot in this window.", {"slot_id": ["Required for this window."]})
    return None


def hold_reservation(
    customer_id: int | None,
    product_id: int,
    window_id: int,
    dose_count: int,
    slot_id: int | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Reservation:
    """Hold minutes of a window for a hospital for RESERVATION_HOLD_MINUTES.

    Rules: the window is open for booking (not closed, before its cut-off, not started); a time
    standard is in force for the product on the window's local date (TIME_STANDARD_MISSING);
    reserved minutes = minutes per dose × doses, frozen; under the window's lock the window (and
    slot) still has those minutes (CAPACITY_EXCEEDED with what is left and the nearest windows that
    fit). A hospital login books only for its own hospital. Audited; notified and the expiry job
    scheduled after the single commit.

    Round trips (bookings/s): what needs no lock (customer, product, time standards, the people to
    tell) is read before the window's lock; under it, ONE statement gives the window, its calendar,
    closure, slots and the minutes booked; the audit row is written last, because the audit chain's
    lock serialises every audited act until the commit.
    """
    actor = actor or current_actor()
    now = _now(now)
    try:
        customer = _customer_for_booking(actor, customer_id)
        product = db.session.get(Product, _positive_id(product_id, "product_id"))
        if product is None:
            raise NotFound("product")
        window_id = _positive_id(window_id, "window_id")
        standards = queries.time_standards(product.id)
        people = _audience(customer.id)
        lock_windows([window_id])
        row = queries.window_row(window_id, now)
        if row is None:
            raise NotFound("delivery window")
        slot = _slot_of(row, slot_id)
        _check_dose_count(dose_count)
        rules.booking_open(
            row.local_date,
            row.start_at,
            row.timezone,
            row.cutoff_days_before,
            row.cutoff_local_time,
            row.closed,
            now,
        )
        standard = rules.time_standard_in_force(standards, row.local_date, product.code)
        minutes = rules.reserved_minutes(standard.minutes_required, dose_count)
        hold_min = int(current_app.config.get("RESERVATION_HOLD_MINUTES", 15))
        expires_at = rules.hold_expires_at(now, hold_min)
        try:
            _fits(row, slot, minutes)
        except DomainError as refused:
            # Release the window's lock first: looking for alternatives must not hold up bookings.
            db.session.rollback()
            _offer_alternatives(refused, row, minutes, now)
            raise
        _race_hook()
        new_id, reference = _new_reference(now)
        reservation = Reservation(
            id=new_id,
            reference=reference,
            customer_id=customer.id,
            product_id=product.id,
            window_id=row.id,
            slot_id=slot["id"] if slot else None,
            dose_count=dose_count,
            minutes_per_dose=standard.minutes_required,
            reserved_minutes=minutes,
            status=rules.HELD,
            expires_at=expires_at,
            created_by_id=actor.user_id,
            created_by_name=actor.printed_name,
            created_at=now,
        )
        # Known objects, so that the summary and the answer do not load them again.
        reservation.customer, reservation.product = customer, product
        db.session.add(reservation)
        start, end = (slot["start"], slot["end"]) if slot else (row.start_time, row.end_time)
        _notify(
            reservation,
            "RESERVATION_HELD",
            f"Capacity held: {reference}",
            _summary(reservation, _when_text(row.local_date, start, end, row.timezone))
            + f" Held until {rules.describe_local(expires_at, row.timezone)}.",
            people,
        )
        audit.record(
            "Reservation",
            reservation.id,
            "HOLD",
            after=audit.snapshot(reservation) | {"time_standard_id": standard.id},
            actor=actor,
        )
        from app.capacity.jobs import expire_reservation_job

        enqueue_after_commit(
            expire_reservation_job,
            reservation.id,
            _at=expires_at,
            job_id=f"reservation-expiry-{reservation.id}",
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return reservation


def _fits(row: queries.WindowRow, slot: dict[str, Any] | None, needed: int) -> None:
    """check_fits on a counted window row; CAPACITY_EXCEEDED carries `remaining_minutes`."""
    try:
        rules.check_fits(row.remaining_minutes, slot["remaining_minutes"] if slot else None, needed)
    except DomainError as err:
        if err.code != "CAPACITY_EXCEEDED":
            raise
        left = slot["remaining_minutes"] if slot and err.details.get("limited_by") == "slot" else None
        left = row.remaining_minutes if left is None else left
        err.details.update(remaining_minutes=max(left or 0, 0), alternatives=[])
        raise


def confirm_reservation(reservation: Reservation, now: dt.datetime) -> None:
    """Turn a live hold into a confirmed booking, inside the caller's (the order's) transaction.

    Rules: under the window's lock; a hold past its `expires_at` (swept or not) is refused with
    RESERVATION_EXPIRED, saying when it expired and whether the minutes are still free to hold
    again; a cancelled or already confirmed one is refused. Audited; never commits.
    """
    now = _now(now)
    lock_windows([reservation.window_id])
    db.session.refresh(reservation, with_for_update=True)
    tz = reservation.window.calendar.timezone
    if reservation.status == rules.CANCELLED:
        raise DomainError("RESERVATION_CANCELLED", f"Reservation {reservation.reference} was cancelled.", 409)
    if reservation.status == rules.CONFIRMED:
        raise DomainError(
            "RESERVATION_ALREADY_CONFIRMED",
            f"Reservation {reservation.reference} is already confirmed by an order.",
            409,
        )
    if reservation.status == rules.EXPIRED or not rules.is_hold_live(
        reservation.status, reservation.expires_at, now
    ):
        remaining, slot_remaining = window_remaining(reservation.window_id, now, reservation.slot_id)
        left = min(remaining, slot_remaining) if slot_remaining is not None else remaining
        free = left >= reservation.reserved_minutes
        message = f"Reservation {reservation.reference} expired at {rules.describe_local(reservation.expires_at, tz)}."
        message += (
            " The minutes are still free: hold them again."
            if free
            else f" Only {max(left, 0)} minutes are left in that window now."
        )
        raise DomainError(
            "RESERVATION_EXPIRED",
            message,
            409,
            {
                "reservation_id": reservation.id,
                "expired_at": reservation.expires_at.isoformat(),
                "minutes_still_free": free,
                "remaining_minutes": max(left, 0),
                "window_id": reservation.window_id,
                "slot_id": reservation.slot_id,
            },
        )
    before = audit.snapshot(reservation)
    reservation.status = rules.CONFIRMED
    reservation.confirmed_at = now
    db.session.flush()
    audit.record("Reservation", reservation.id, "CONFIRM", before=before, after=audit.snapshot(reservation))
    _notify(
        reservation,
        "RESERVATION_CONFIRMED",
        f"Reservation confirmed: {reservation.reference}",
        _summary(reservation),
    )


def cancel_reservation(
    reservation_id: int, reason: str, actor: Actor | None = None, now: dt.datetime | None = None
) -> Reservation:
    """Cancel a hold; its minutes return at once. Rules: a hospital cancels only its own
    reservations (404 for others); planners and admins any; a reason is required; a confirmed
    reservation belongs to an order (cancel the order); an expired one has nothing left to cancel."""
    actor = actor or current_actor()
    now = _now(now)
    text_reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not text_reason:
        raise ValidationFailed("Give a reason for cancelling.", {"reason": ["Required."]})
    if len(text_reason) > MAX_REASON or "\x00" in text_reason:
        raise ValidationFailed(
            "The reason is too long or not valid text.", {"reason": ["At most 1000 characters."]}
        )
    try:
        reservation = queries.reservation_for(actor, _positive_id(reservation_id, "reservation_id"))
        db.session.refresh(reservation, with_for_update=True)
        if reservation.status == rules.CONFIRMED:
            raise DomainError(
                "RESERVATION_CONFIRMED",
                f"Reservation {reservation.reference} is part of an order: cancel the order instead.",
                409,
            )
        if reservation.status != rules.HELD or not rules.is_hold_live(
            reservation.status, reservation.expires_at, now
        ):
            raise DomainError(
                "RESERVATION_NOT_HELD",
                f"Reservation {reservation.reference} is no longer held; there is nothing to cancel.",
                409,
            )
        before = audit.snapshot(reservation)
        reservation.status = rules.CANCELLED
        reservation.cancelled_at = now
        reservation.cancel_reason = text_reason
        db.session.flush()
        _notify(
            reservation,
            "RESERVATION_CANCELLED",
            f"Reservation cancelled: {reservation.reference}",
            _summary(reservation),
        )
        # Last: the audit chain's lock is held from here to the commit.
        audit.record(
            "Reservation",
            reservation.id,
            "CANCEL",
            before=before,
            after=audit.snapshot(reservation),
            reason=text_reason,
            actor=actor,
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return reservation


def _expire(reservation: Reservation, now: dt.datetime) -> bool:
    if reservation.status != rules.HELD or reservation.expires_at > now:
        return False
    before = audit.snapshot(reservation)
    reservation.status = rules.EXPIRED
    reservation.expired_at = now
    db.session.flush()
    audit.record(
        "Reservation",
        reservation.id,
        "EXPIRE",
        before=before,
        after=audit.snapshot(reservation),
        actor=SYSTEM,
    )
    _notify(
        reservation,
        "RESERVATION_EXPIRED",
        f"Hold expired: {reservation.reference}",
        _summary(reservation) + " The hold lapsed without an order; the minutes are free again.",
    )
    return True


def expire_reservation(reservation_id: int, now: dt.datetime | None = None) -> bool:
    """Mark one lapsed hold EXPIRED (job entry point). Idempotent: anything not a lapsed hold is left."""
    now = _now(now)
    try:
        reservation = db.session.execute(
            select(Reservation).where(Reservation.id == reservation_id).with_for_update()
        ).scalar()
        changed = reservation is not None and _expire(reservation, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return changed


def expire_overdue(now: dt.datetime | None = None) -> int:
    """The sweep: mark every lapsed hold EXPIRED (catches holds whose job was lost). Returns the count."""
    now = _now(now)
    try:
        rows = db.session.execute(
            select(Reservation)
            .where(Reservation.status == rules.HELD, Reservation.expires_at <= now)
            .order_by(Reservation.id)
            .with_for_update(skip_locked=True)
            .limit(1000)
        ).scalars()
        count = sum(1 for r in list(rows) if _expire(r, now))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return count
