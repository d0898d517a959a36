"""Capacity rules: minutes arithmetic, time standards, calendars across DST, cut-off, holds.

Pure functions over small frozen dataclasses; no I/O. All instants (`*_at`, `now`) are aware
datetimes and are compared in UTC; local dates and wall-clock times only appear together with a
named zone (`tz_name`), and a wall-clock time that does not exist or happens twice is refused
instead of being shifted, because a silently moved delivery window is a wrong promise to a hospital.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.domain import DomainError, ValidationFailed

UTC = dt.UTC

HELD = "HELD"
CONFIRMED = "CONFIRMED"
EXPIRED = "EXPIRED"
CANCELLED = "CANCELLED"
BOOKING_STATUSES = (HELD, CONFIRMED, EXPIRED, CANCELLED)

MAX_DOSES_PER_RESERVATION = 500
MAX_HOLD_MINUTES = 24 * 60


# --------------------------------------------------------------------------- availability


@dataclass(frozen=True)
class Booking:
    """One reservation as far as capacity cares: its status, minutes and (for holds) expiry."""

    status: str
    minutes: int
    expires_at: dt.datetime | None = None


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise DomainError("NAIVE_DATETIME", f"The time '{name}' must carry a time zone.", 422)
    return value


def is_hold_live(status: str, expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """A hold counts only while HELD and `now` is before its expiry.

    Availability is counted lazily (as pretix does): an expired hold stops consuming minutes at
    the instant it expires, even if the sweeper job has not yet marked it EXPIRED.
    """
    _require_aware(now, "now")
    if status != HELD or expires_at is None:
        return False
    return _require_aware(expires_at, "expires_at") > now


def booking_counts(booking: Booking, now: dt.datetime) -> bool:
    """CONFIRMED always consumes minutes; HELD only while live; EXPIRED and CANCELLED never."""
    return booking.status == CONFIRMED or is_hold_live(booking.status, booking.expires_at, now)


def booked_minutes(bookings: Iterable[Booking], now: dt.datetime) -> int:
    """Minutes consumed at `now`: confirmed minutes plus live holds."""
    return sum(b.minutes for b in bookings if booking_counts(b, now))


def remaining_minutes(total: int, bookings: Iterable[Booking], now: dt.datetime) -> int:
    """`total` minus booked minutes; negative only if the window was shrunk below its bookings."""
    return total - booked_minutes(bookings, now)


def _minutes(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def check_fits(window_remaining: int, slot_remaining: int | None, needed: int) -> None:
    """Refuse a booking that needs more minutes than the window (and slot, if any) has left.

    Both the window and the slot must have room: slots divide a window, and the window total is
    the real limit of the dispensing bottleneck. Raises CAPACITY_EXCEEDED (409).
    """
    if isinstance(needed, bool) or not isinstance(needed, int) or needed <= 0:
        raise ValidationFailed("The minutes needed must be a positive whole number.", {"minutes": needed})
    details = {
        "window_remaining_min": window_remaining,
        "slot_remaining_min": slot_remaining,
        "needed_min": needed,
    }
    for where, left in (("slot", slot_remaining), ("window", window_remaining)):
        if left is not None and needed > left:
            shown = max(left, 0)
            message = (
                f"Only {_minutes(shown)} {_are(shown)} left in this {where}; {needed} {_are(needed)} needed."
            )
            raise DomainError("CAPACITY_EXCEEDED", message, 409, details | {"limited_by": where})


# --------------------------------------------------------------------------- reserved minutes


@dataclass(frozen=True)
class TimeStandardPeriod:
    """Minutes one dose takes at the bottleneck, valid from `effective_from` to `effective_to` (inclusive)."""

    minutes_required: int
    effective_from: dt.date
    effective_to: dt.date | None = None
    is_active: bool = True
    id: int | None = None


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def reserved_minutes(minutes_per_dose: int, dose_count: int) -> int:
    """reservedMinutes = minutesRequired x dose count (whole minutes, doses 1..500)."""
    fields: dict[str, str] = {}
    if not _positive_int(minutes_per_dose):
        fields["minutes_per_dose"] = "must be a positive whole number of minutes"
    if not _positive_int(dose_count) or dose_count > MAX_DOSES_PER_RESERVATION:
        fields["dose_count"] = f"must be a whole number from 1 to {MAX_DOSES_PER_RESERVATION}"
    if fields:
        raise ValidationFailed("The reservation size is not valid.", fields)
    return minutes_per_dose * dose_count


def period_covers(period: TimeStandardPeriod, on: dt.date) -> bool:
    """Active, started on or before `on`, and not ended before it (`effective_to` is inclusive)."""
    ends_ok = period.effective_to is None or on <= period.effective_to
    return period.is_active and period.effective_from <= on and ends_ok


def time_standard_in_force(
    candidates: Iterable[TimeStandardPeriod], on: dt.date, product_label: str = "this product"
) -> TimeStandardPeriod:
    """The time standard that applies on `on`; the latest `effective_from` wins an overlap.

    No standard means no honest minutes figure, so booking is refused (TIME_STANDARD_MISSING)
    rather than guessed.
    """
    covering = [p for p in candidates if period_covers(p, on)]
    if not covering:
        raise DomainError(
            "TIME_STANDARD_MISSING",
            f"No dispensing time standard is in force for {product_label} on {on.isoformat()}; "
            "ask capacity admin to add one.",
            409,
            {"date": on.isoformat()},
        )
    return max(covering, key=lambda p: (p.effective_from, p.id or 0))


# --------------------------------------------------------------------------- local time and zones


def zone(tz_name: str) -> ZoneInfo:
    """The IANA zone of a calendar; an unknown name is a configuration error shown as such."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise DomainError("TIME_ZONE_UNKNOWN", f"'{tz_name}' is not a known time zone.", 422) from None


def _local_candidates(day: dt.date, at: dt.time, tz_name: str) -> tuple[dt.datetime, dt.datetime, bool]:
    """Both readings (fold 0 and 1) of a wall-clock time, and whether it exists at all."""
    if at.tzinfo is not None:
        raise ValidationFailed("A local time must not carry its own time zone.", {"time": at.isoformat()})
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=zone(tz_name), fold=0)
    second = naive.replace(tzinfo=zone(tz_name), fold=1)
    round_trip = first.astimezone(UTC).astimezone(first.tzinfo).replace(tzinfo=None)
    return first, second, round_trip == naive


def local_to_utc(day: dt.date, at: dt.time, tz_name: str) -> dt.datetime:
    """The UTC instant of a local wall-clock time, refusing a time that is not one instant.

    A time in the spring gap does not exist and one in the autumn fold happens twice; either
    way raises LOCAL_TIME_INVALID (422) with the date, time and zone named.
    """
    first, second, exists = _local_candidates(day, at, tz_name)
    when = f"{at:%H:%M} on {day.isoformat()}"
    if not exists:
        raise DomainError(
            "LOCAL_TIME_INVALID",
            f"{when} does not exist in {tz_name}: the clocks go forward then. Choose another time.",
            422,
            {"date": day.isoformat(), "time": at.isoformat(), "zone": tz_name, "reason": "nonexistent"},
        )
    if first.utcoffset() != second.utcoffset():
        raise DomainError(
            "LOCAL_TIME_INVALID",
            f"{when} happens twice in {tz_name}: the clocks go back then. Choose a time outside the change.",
            422,
            {"date": day.isoformat(), "time": at.isoformat(), "zone": tz_name, "reason": "ambiguous"},
        )
    return first.astimezone(UTC)


def local_to_utc_no_later(day: dt.date, at: dt.time, tz_name: str) -> dt.datetime:
    """The earliest instant a wall-clock time can mean: used for deadlines, which must not move later."""
    first, second, _ = _local_candidates(day, at, tz_name)
    return min(first.astimezone(UTC), second.astimezone(UTC))


def describe_local(instant: dt.datetime, tz_name: str) -> str:
    """'14:00 on 2026-03-28 (Europe/Berlin)': how a page or message shows an instant."""
    local = _require_aware(instant, "instant").astimezone(zone(tz_name))
    return f"{local:%H:%M} on {local.date().isoformat()} ({tz_name})"


# --------------------------------------------------------------------------- weekly pattern


@dataclass(frozen=True)
class PatternWindow:
    """One window of a weekday: wall-clock start/end, capacity minutes, optional slot split.

    `slot_length_min` cuts the window into slots of that clock length; each slot gets
    `minutes_per_slot` capacity minutes, or an even share of `total_minutes` when not given.
    """

    start: dt.time
    end: dt.time
    total_minutes: int
    slot_length_min: int | None = None
    minutes_per_slot: int | None = None


WeeklyPattern = Mapping[int, Sequence[PatternWindow]]


@dataclass(frozen=True)
class SlotSpec:
    start_time: dt.time
    end_time: dt.time
    total_minutes: int
    start_at: dt.datetime
    end_at: dt.datetime


@dataclass(frozen=True)
class WindowSpec:
    local_date: dt.date
    start_time: dt.time
    end_time: dt.time
    total_minutes: int
    start_at: dt.datetime
    end_at: dt.datetime
    slots: tuple[SlotSpec, ...] = ()


@dataclass(frozen=True)
class SkippedWindow:
    local_date: dt.date
    start_time: dt.time
    end_time: dt.time
    code: str
    reason: str


@dataclass(frozen=True)
class GeneratedWindows:
    windows: list[WindowSpec]
    skipped: list[SkippedWindow]


def _clock_minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _clock_time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def check_pattern_window(entry: PatternWindow) -> None:
    """A window lies within one day, has positive minutes, and slots tile it exactly."""
    fields: dict[str, str] = {}
    length = _clock_minutes(entry.end) - _clock_minutes(entry.start)
    if length <= 0:
        fields["end"] = "must be after the start on the same day"
    if not _positive_int(entry.total_minutes):
        fields["total_minutes"] = "must be a positive whole number"
    if entry.slot_length_min is not None and (
        not _positive_int(entry.slot_length_min) or length <= 0 or length % entry.slot_length_min
    ):
        fields["slot_length_min"] = "must divide the window into whole slots"
    if entry.minutes_per_slot is not None and not _positive_int(entry.minutes_per_slot):
        fields["minutes_per_slot"] = "must be a positive whole number"
    if fields:
        raise ValidationFailed(f"The window {entry.start:%H:%M}-{entry.end:%H:%M} is not valid.", fields)


def slot_times(entry: PatternWindow) -> list[tuple[dt.time, dt.time, int]]:
    """(start, end, capacity minutes) of each slot; an even split gives the remainder to the first slots."""
    if entry.slot_length_min is None:
        return []
    first, last = _clock_minutes(entry.start), _clock_minutes(entry.end)
    starts = list(range(first, last, entry.slot_length_min))
    share, extra = divmod(entry.total_minutes, len(starts))
    return [
        (
            _clock_time(s),
            _clock_time(s + entry.slot_length_min),
            entry.minutes_per_slot or share + (1 if i < extra else 0),
        )
        for i, s in enumerate(starts)
    ]


def _window_spec(day: dt.date, entry: PatternWindow, tz_name: str) -> WindowSpec:
    slots = tuple(
        SlotSpec(s, e, minutes, local_to_utc(day, s, tz_name), local_to_utc(day, e, tz_name))
        for s, e, minutes in slot_times(entry)
    )
    start_at, end_at = local_to_utc(day, entry.start, tz_name), local_to_utc(day, entry.end, tz_name)
    wall = _clock_minutes(entry.end) - _clock_minutes(entry.start)
    if (end_at - start_at) != dt.timedelta(minutes=wall):
        raise DomainError(
            "WINDOW_SPANS_CLOCK_CHANGE",
            f"The window {entry.start:%H:%M}-{entry.end:%H:%M} on {day.isoformat()} spans a clock change "
            f"in {tz_name}: it lasts {int((end_at - start_at).total_seconds() // 60)} minutes, not {wall}.",
            422,
        )
    return WindowSpec(day, entry.start, entry.end, entry.total_minutes, start_at, end_at, slots)


def generate_windows(
    pattern: WeeklyPattern,
    tz_name: str,
    start_date: dt.date,
    days: int,
    closed_dates: Iterable[dt.date] = (),
) -> GeneratedWindows:
    """Windows for `days` days from `start_date` by weekday (0 = Monday), skipping closed dates.

    A window whose start, end or a slot boundary does not exist or is ambiguous on that date, or
    that spans a clock change, is not shifted: it is returned in `skipped` with the reason, for
    capacity admin to create by hand.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise ValidationFailed("Generate between 1 and 366 days of windows.", {"days": days})
    zone(tz_name)
    for entries in pattern.values():
        for entry in entries:
            check_pattern_window(entry)
    closed = set(closed_dates)
    result = GeneratedWindows([], [])
    for offset in range(days):
        day = start_date + dt.timedelta(days=offset)
        if day in closed:
            continue
        for entry in pattern.get(day.weekday(), ()):
            try:
                result.windows.append(_window_spec(day, entry, tz_name))
            except DomainError as error:
                result.skipped.append(
                    SkippedWindow(day, entry.start, entry.end, error.code, error.user_message)
                )
    return result


# --------------------------------------------------------------------------- cut-off and holds


def booking_cutoff_at(
    window_local_date: dt.date, tz_name: str, cutoff_days_before: int, cutoff_local_time: dt.time
) -> dt.datetime:
    """Cut-off instant: `cutoff_days_before` local days before the window, at the local cut-off time.

    Counted in local calendar days in the calendar's zone, then converted, so "the day before at
    14:00" stays 14:00 local across a DST change. A cut-off time inside a gap or fold resolves to
    its earliest reading: a deadline must never move later.
    """
    if (
        isinstance(cutoff_days_before, bool)
        or not isinstance(cutoff_days_before, int)
        or cutoff_days_before < 0
    ):
        raise ValidationFailed(
            "The cut-off must be zero or more days before.", {"cutoff_days_before": cutoff_days_before}
        )
    day = window_local_date - dt.timedelta(days=cutoff_days_before)
    return local_to_utc_no_later(day, cutoff_local_time, tz_name)


def booking_open(
    window_local_date: dt.date,
    window_start_at_utc: dt.datetime,
    tz_name: str,
    cutoff_days_before: int,
    cutoff_local_time: dt.time,
    closed: bool,
    now_utc: dt.datetime,
) -> None:
    """Refuse booking a closed window, one past its cut-off, or one that has started (WINDOW_CLOSED, 409).

    The cut-off gives production time to plan the batch; after it, minutes are no longer sold.
    """
    now = _require_aware(now_utc, "now")
    start_at = _require_aware(window_start_at_utc, "window_start_at")
    day = window_local_date.isoformat()
    if closed:
        raise DomainError(
            "WINDOW_CLOSED", f"The window on {day} is closed for booking.", 409, {"reason": "closed"}
        )
    cutoff_at = booking_cutoff_at(window_local_date, tz_name, cutoff_days_before, cutoff_local_time)
    details = {"cutoff_at": cutoff_at.isoformat(), "zone": tz_name}
    if now >= start_at:
        message = (
            f"The window on {day} started at {describe_local(start_at, tz_name)}; it can no longer be booked."
        )
        raise DomainError("WINDOW_CLOSED", message, 409, details | {"reason": "started"})
    if now >= cutoff_at:
        message = f"Booking for the window on {day} closed at {describe_local(cutoff_at, tz_name)}."
        raise DomainError("WINDOW_CLOSED", message, 409, details | {"reason": "cutoff"})


def hold_expires_at(now_utc: dt.datetime, hold_minutes: int) -> dt.datetime:
    """When a new hold lapses: `now` plus the hold time (1 minute to 24 hours), in UTC."""
    if not _positive_int(hold_minutes) or hold_minutes > MAX_HOLD_MINUTES:
        raise ValidationFailed("The hold time must be 1 to 1440 minutes.", {"hold_minutes": hold_minutes})
    return _require_aware(now_utc, "now").astimezone(UTC) + dt.timedelta(minutes=hold_minutes)


# --------------------------------------------------------------------------- planner summary


@dataclass(frozen=True)
class WindowUsage:
    """Reserved = live holds + committed; percentages of the total, 0 when the total is 0."""

    total_minutes: int
    held_minutes: int
    committed_minutes: int
    reserved_minutes: int
    free_minutes: int
    overbooked_minutes: int
    reserved_pct: float
    committed_pct: float


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 1) if total > 0 else 0.0


def window_usage(total: int, held_live: int, committed: int) -> WindowUsage:
    """Utilisation for the planner: reserved % = (holds + committed)/total, committed % = committed/total."""
    reserved = held_live + committed
    return WindowUsage(
        total_minutes=total,
        held_minutes=held_live,
        committed_minutes=committed,
        reserved_minutes=reserved,
        free_minutes=max(total - reserved, 0),
        overbooked_minutes=max(reserved - total, 0),
        reserved_pct=_pct(reserved, total),
        committed_pct=_pct(committed, total),
    )


@dataclass(frozen=True)
class WindowCandidate:
    window_id: int
    start_at: dt.datetime
    remaining_minutes: int


def nearest_fitting(
    windows: Iterable[WindowCandidate], needed: int, target_start: dt.datetime, limit: int | None = 5
) -> list[WindowCandidate]:
    """Windows with room for `needed` minutes, nearest in time to the requested start first.

    Ties go to the earlier window (a dose calibrated for the appointment can arrive early, a late
    one may miss the patient), then to the lower id so the proposal is stable.
    """
    target = _require_aware(target_start, "target_start")
    fitting = [w for w in windows if w.remaining_minutes >= needed]
    fitting.sort(key=lambda w: (abs(w.start_at - target), w.start_at, w.window_id))
    return fitting if limit is None else fitting[:limit]
