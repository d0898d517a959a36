"""Capacity admin changes (calendars, weekly pattern, closures, windows, slots, time standards).

The same shape as `app.masterdata.service` (create / update / delete / Change / snapshot / label),
so the master data pages' `ServiceCrudMixin` drives these pages too. Rules, for every change:
- a reason is required, and the change and its audit row (before/after) commit together;
- a window's (or slot's) total may not drop below the minutes already booked in it, counted under
  the window's capacity lock (WINDOW_TOTAL_BELOW_BOOKED);
- a window's and slot's UTC instants are recomputed from its local date and times in the
  calendar's zone (a time that does not exist or happens twice is refused);
- two active time standards of one product and dose form may not overlap: the database's
  exclusion constraint decides, and its refusal is shown as TIME_STANDARD_OVERLAP (409).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.capacity import domain as rules
from app.capacity import queries
from app.capacity.models import CalendarPattern, DeliverySlot, DeliveryWindow, ResourceCalendar, TimeStandard
from app.capacity.service import lock_windows
from app.core.domain import DomainError, ValidationFailed
from app.core.extensions import db
from app.core.web import site_today
from app.masterdata import service as md

Change = md.Change
LABELS = {
    "ResourceCalendar": "calendar",
    "CalendarPattern": "weekly pattern window",
    "CalendarClosure": "closed day",
    "DeliveryWindow": "delivery window",
    "DeliverySlot": "delivery slot",
    "TimeStandard": "time standard",
}


def entity_name(item: Any) -> str:
    return type(item).__name__


def label(entity: str) -> str:
    return LABELS.get(entity, entity)


def snapshot(item: Any) -> dict[str, Any]:
    return audit.snapshot(item)


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(
            "REASON_REQUIRED",
            "Capacity settings decide what hospitals can book: give a reason for the change.",
            422,
            {"fields": {"reason": ["Give a reason for the change."]}},
        )
    return text


def _instants(item: DeliveryWindow | DeliverySlot) -> None:
    window = item if isinstance(item, DeliveryWindow) else item.window
    if window is None:
        raise ValidationFailed("Choose the window of this slot.", {"window": ["Required."]})
    calendar = window.calendar or db.session.get(ResourceCalendar, window.calendar_id)
    if calendar is None or window.local_date is None or item.start_time is None or item.end_time is None:
        raise ValidationFailed("Give the calendar, date and times.", {"start_time": ["Required."]})
    if item.end_time <= item.start_time:
        raise ValidationFailed("The end must be after the start.", {"end_time": ["Must be after the start."]})
    item.start_at = rules.local_to_utc(window.local_date, item.start_time, calendar.timezone)
    item.end_at = rules.local_to_utc(window.local_date, item.end_time, calendar.timezone)


def _not_below_booked(item: DeliveryWindow | DeliverySlot) -> None:
    window_id = item.id if isinstance(item, DeliveryWindow) else item.window_id
    if window_id is None or item.id is None:
        return
    lock_windows([window_id])
    row = queries.window_row(window_id, dt.datetime.now(dt.UTC))
    if row is None:
        return
    if isinstance(item, DeliveryWindow):
        booked = row.held + row.committed
    else:
        slot = row.slot(item.id) or {"total_minutes": 0, "remaining_minutes": 0}
        booked = slot["total_minutes"] - slot["remaining_minutes"]
    if (item.total_minutes or 0) < booked:
        what = "window" if isinstance(item, DeliveryWindow) else "slot"
        raise DomainError(
            "WINDOW_TOTAL_BELOW_BOOKED",
            f"{booked} minutes of this {what} are already booked (holds and confirmed orders); "
            f"its total cannot go below {booked}.",
            409,
            {"fields": {"total_minutes": [f"At least {booked} (already booked)."]}, "booked_minutes": booked},
        )


def _check(item: Any) -> None:
    if isinstance(item, ResourceCalendar) and item.timezone:
        rules.zone(item.timezone)
    if isinstance(item, CalendarPattern):
        rules.check_pattern_window(
            rules.PatternWindow(
                item.start_time,
                item.end_time,
                item.total_minutes,
                item.slot_length_min,
                item.minutes_per_slot,
            )
        )
    if isinstance(item, DeliveryWindow | DeliverySlot):
        _instants(item)
        _not_below_booked(item)


def _flush(item: Any) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        if constraint == "ex_time_standard_overlap":
            raise DomainError(
                "TIME_STANDARD_OVERLAP",
                "Another active time standard for this product and dose form covers some of these dates. "
                "End the other one (set its 'effective to') or choose dates that do not overlap.",
                409,
                {"fields": {"effective_from": ["Overlaps another active standard."]}},
            ) from None
        raise ValidationFailed(
            f"The {label(entity_name(item))} conflicts with another record (same date and time, or a "
            "value out of range). Check the fields and try again.",
            {"record": ["Conflicts with another record."]},
        ) from None


def create(item: Any, *, reason: str | None = None) -> Any:
    try:
        text = _reason(reason)
        db.session.add(item)
        if isinstance(item, DeliverySlot) and item.window is None and item.window_id:
            item.window = db.session.get(DeliveryWindow, item.window_id)
        _check(item)
        _flush(item)
        audit.record(entity_name(item), item.id, "CREATE", after=snapshot(item), reason=text)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return item


def update(item: Any, change: md.Change, **_: Any) -> Any:
    try:
        text = _reason(change.reason)
        _check(item)
        _flush(item)
        after = snapshot(item)
        if audit.diff(change.before, after):
            audit.record(entity_name(item), item.id, "UPDATE", before=change.before, after=after, reason=text)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return item


def _check_deletable(item: Any) -> None:
    """FAB's delete asks for no reason, so deleting is kept for mistakes nobody relied on: a window
    with reservations or orders is refused (IN_USE, the references), and so is an active time standard
    in force today or later (TIME_STANDARD_IN_FORCE): bookings are priced by it; end it instead."""
    md.check_deletable(item)
    if isinstance(item, TimeStandard) and item.is_active:
        today = site_today()
        if item.effective_to is None or item.effective_to >= today:
            raise DomainError(
                "TIME_STANDARD_IN_FORCE",
                "This time standard is in force (or will be): bookings take their minutes from it. "
                "Edit it and set 'effective to' (with a reason) to end it, or untick Active.",
                409,
            )


def delete(item: Any, *, reason: str | None = None) -> None:
    """Only records nothing refers to (a window with reservations or orders stays), and no time
    standard in force (see `_check_deletable`)."""
    try:
        _check_deletable(item)
        before = snapshot(item)
        db.session.delete(item)
        db.session.flush()
        audit.record(entity_name(item), before.get("id"), "DELETE", before=before, reason=reason)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
