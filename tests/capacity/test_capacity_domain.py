"""Unit tests of the pure capacity rules (no database)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.capacity import domain as cap
from app.capacity.domain import (
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    Booking,
    PatternWindow,
    TimeStandardPeriod,
    WindowCandidate,
)
from app.core.domain import DomainError, ValidationFailed

UTC = dt.UTC
BERLIN = "Europe/Berlin"
NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def hold(minutes: int, expires_in: int = 15) -> Booking:
    return Booking(HELD, minutes, at(expires_in))


# --------------------------------------------------------------------------- purity


def test_capacity_domain_imports_only_stdlib_and_core_domain():
    path = Path(cap.__file__)
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    app_modules = {m for m in modules if m.split(".")[0] == "app"}
    assert app_modules == {"app.core.domain"}
    assert not {m.split(".")[0] for m in modules} & {"flask", "flask_appbuilder", "sqlalchemy", "werkzeug"}


# --------------------------------------------------------------------------- availability


def test_confirmed_and_live_holds_consume_minutes():
    bookings = [Booking(CONFIRMED, 30), hold(20), Booking(CANCELLED, 50), Booking(EXPIRED, 40, at(-5))]
    assert cap.booked_minutes(bookings, NOW) == 50
    assert cap.remaining_minutes(120, bookings, NOW) == 70


def test_expired_hold_stops_counting_at_once_even_if_still_marked_held():
    bookings = [hold(20, expires_in=15)]
    assert cap.booked_minutes(bookings, at(14)) == 20
    assert cap.booked_minutes(bookings, at(15)) == 0  # expiry instant: released, not one tick later


def test_hold_without_expiry_does_not_count():
    assert not cap.is_hold_live(HELD, None, NOW)


def test_naive_now_is_refused():
    with pytest.raises(DomainError) as err:
        cap.booked_minutes([hold(5)], dt.datetime(2026, 5, 4, 10, 0))
    assert err.value.code == "NAIVE_DATETIME"


def test_booking_that_does_not_fit_says_how_many_minutes_are_left():
    with pytest.raises(DomainError) as err:
        cap.check_fits(25, None, 40)
    assert err.value.code == "CAPACITY_EXCEEDED"
    assert err.value.status == 409
    assert err.value.user_message == "Only 25 minutes are left in this window; 40 are needed."
    assert err.value.details["limited_by"] == "window"


def test_slot_must_also_have_room_when_a_slot_is_chosen():
    with pytest.raises(DomainError) as err:
        cap.check_fits(100, 10, 30)
    assert err.value.user_message == "Only 10 minutes are left in this slot; 30 are needed."
    cap.check_fits(100, 30, 30)


def test_overbooked_window_shows_zero_left_not_a_negative_number():
    with pytest.raises(DomainError) as err:
        cap.check_fits(-5, None, 1)
    assert err.value.user_message == "Only 0 minutes are left in this window; 1 is needed."


@pytest.mark.parametrize("needed", [0, -3, True, 2.5])
def test_minutes_needed_must_be_a_positive_whole_number(needed):
    with pytest.raises(ValidationFailed):
        cap.check_fits(100, None, needed)


class HoldLedger(RuleBasedStateMachine):
    """Random hold/confirm/expire/cancel/clock sequences, each booking admitted through check_fits."""

    TOTAL = 120
    SLOT_TOTAL = 60

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.bookings: list[tuple[Booking, bool]] = []  # (booking, in the slot?)

    def _booked(self, slot_only: bool = False) -> int:
        chosen = [b for b, in_slot in self.bookings if in_slot or not slot_only]
        return cap.booked_minutes(chosen, self.now)

    @rule(minutes=st.integers(1, 90), hold_min=st.integers(1, 30), in_slot=st.booleans())
    def hold(self, minutes: int, hold_min: int, in_slot: bool) -> None:
        slot_left = self.SLOT_TOTAL - self._booked(slot_only=True) if in_slot else None
        try:
            cap.check_fits(self.TOTAL - self._booked(), slot_left, minutes)
        except DomainError as err:
            assert err.code == "CAPACITY_EXCEEDED"
            return
        self.bookings.append((Booking(HELD, minutes, cap.hold_expires_at(self.now, hold_min)), in_slot))

    def _pick(self, index: int, status: str) -> int | None:
        matching = [i for i, (b, _) in enumerate(self.bookings) if b.status == status]
        return matching[index % len(matching)] if matching else None

    @precondition(lambda self: self.bookings)
    @rule(index=st.integers(0, 50))
    def confirm(self, index: int) -> None:
        i = self._pick(index, HELD)
        if i is None:
            return
        booking, in_slot = self.bookings[i]
        if cap.is_hold_live(booking.status, booking.expires_at, self.now):
            self.bookings[i] = (Booking(CONFIRMED, booking.minutes), in_slot)
        else:  # a lapsed hold is not confirmed: its minutes may already be sold again
            self.bookings[i] = (Booking(EXPIRED, booking.minutes, booking.expires_at), in_slot)

    @precondition(lambda self: self.bookings)
    @rule(index=st.integers(0, 50), status=st.sampled_from([HELD, CONFIRMED]))
    def cancel(self, index: int, status: str) -> None:
        i = self._pick(index, status)
        if i is not None:
            booking, in_slot = self.bookings[i]
            self.bookings[i] = (Booking(CANCELLED, booking.minutes, booking.expires_at), in_slot)

    @rule()
    def sweep_expired(self) -> None:
        self.bookings = [
            (Booking(EXPIRED, b.minutes, b.expires_at), s)
            if b.status == HELD and not cap.is_hold_live(b.status, b.expires_at, self.now)
            else (b, s)
            for b, s in self.bookings
        ]

    @rule(minutes=st.integers(0, 40))
    def clock_moves_on(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @invariant()
    def booked_never_exceeds_total(self) -> None:
        assert 0 <= self._booked() <= self.TOTAL
        assert self._booked(slot_only=True) <= self.SLOT_TOTAL


HoldLedger.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestHoldSequencesNeverOverbook = HoldLedger.TestCase


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([HELD, CONFIRMED, EXPIRED, CANCELLED]), st.integers(1, 60), st.integers(-30, 30)
        ),
        max_size=20,
    ),
    st.integers(0, 60),
)
def test_booked_minutes_only_fall_as_time_passes(rows, later):
    bookings = [Booking(status, minutes, at(expires)) for status, minutes, expires in rows]
    assert cap.booked_minutes(bookings, at(later)) <= cap.booked_minutes(bookings, NOW)
    assert cap.remaining_minutes(500, bookings, NOW) + cap.booked_minutes(bookings, NOW) == 500


# --------------------------------------------------------------------------- reserved minutes, time standards


def test_reserved_minutes_are_minutes_per_dose_times_dose_count():
    assert cap.reserved_minutes(6, 5) == 30
    assert cap.reserved_minutes(1, 500) == 500


@pytest.mark.parametrize(
    ("per_dose", "count", "field"),
    [
        (0, 3, "minutes_per_dose"),
        (5, 0, "dose_count"),
        (5, 501, "dose_count"),
        (5, 2.0, "dose_count"),
        (True, 3, "minutes_per_dose"),
    ],
)
def test_reserved_minutes_refuse_bad_sizes(per_dose, count, field):
    with pytest.raises(ValidationFailed) as err:
        cap.reserved_minutes(per_dose, count)
    assert field in err.value.details["fields"]


def test_time_standard_in_force_respects_inclusive_end_and_activity():
    old = TimeStandardPeriod(8, dt.date(2026, 1, 1), dt.date(2026, 3, 31), id=1)
    new = TimeStandardPeriod(6, dt.date(2026, 4, 1), None, id=2)
    inactive = TimeStandardPeriod(1, dt.date(2026, 1, 1), None, is_active=False, id=3)
    assert cap.time_standard_in_force([old, new, inactive], dt.date(2026, 3, 31)).id == 1
    assert cap.time_standard_in_force([old, new, inactive], dt.date(2026, 4, 1)).id == 2


def test_latest_start_wins_when_time_standards_overlap():
    broad = TimeStandardPeriod(8, dt.date(2026, 1, 1), None, id=1)
    newer = TimeStandardPeriod(7, dt.date(2026, 2, 1), None, id=2)
    assert cap.time_standard_in_force([newer, broad], dt.date(2026, 2, 2)).minutes_required == 7


def test_no_time_standard_in_force_refuses_booking():
    with pytest.raises(DomainError) as err:
        cap.time_standard_in_force([TimeStandardPeriod(8, dt.date(2026, 6, 1))], dt.date(2026, 5, 1), "FDG")
    assert err.value.code == "TIME_STANDARD_MISSING"
    assert err.value.status == 409
    assert "FDG" in err.value.user_message and "2026-05-01" in err.value.user_message


# --------------------------------------------------------------------------- local time across DST


def test_local_time_converts_with_the_offset_of_that_date():
    assert cap.local_to_utc(dt.date(2026, 1, 15), dt.time(8, 0), BERLIN) == dt.datetime(
        2026, 1, 15, 7, tzinfo=UTC
    )
    assert cap.local_to_utc(dt.date(2026, 7, 15), dt.time(8, 0), BERLIN) == dt.datetime(
        2026, 7, 15, 6, tzinfo=UTC
    )


def test_nonexistent_spring_time_is_refused_naming_date_time_and_zone():
    with pytest.raises(DomainError) as err:
        cap.local_to_utc(dt.date(2026, 3, 29), dt.time(2, 30), BERLIN)
    assert err.value.code == "LOCAL_TIME_INVALID"
    assert err.value.status == 422
    assert err.value.details["reason"] == "nonexistent"
    for part in ("02:30", "2026-03-29", BERLIN, "does not exist"):
        assert part in err.value.user_message


def test_ambiguous_autumn_time_is_refused():
    with pytest.raises(DomainError) as err:
        cap.local_to_utc(dt.date(2026, 10, 25), dt.time(2, 30), BERLIN)
    assert err.value.details["reason"] == "ambiguous"
    assert "happens twice" in err.value.user_message and "2026-10-25" in err.value.user_message


def test_times_next_to_the_change_are_accepted():
    assert cap.local_to_utc(dt.date(2026, 3, 29), dt.time(3, 0), BERLIN) == dt.datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )
    assert cap.local_to_utc(dt.date(2026, 10, 25), dt.time(3, 0), BERLIN) == dt.datetime(
        2026, 10, 25, 2, tzinfo=UTC
    )


def test_unknown_time_zone_is_refused():
    with pytest.raises(DomainError) as err:
        cap.local_to_utc(dt.date(2026, 1, 1), dt.time(8), "Europe/Atlantis")
    assert err.value.code == "TIME_ZONE_UNKNOWN"


# --------------------------------------------------------------------------- weekly pattern


MORNING = PatternWindow(dt.time(8, 0), dt.time(12, 0), 240, slot_length_min=60)
EVERY_DAY = {day: [MORNING] for day in range(7)}


def test_windows_generated_over_the_spring_change_keep_local_times():
    result = cap.generate_windows(EVERY_DAY, BERLIN, dt.date(2026, 3, 28), 2)
    saturday, sunday = result.windows
    assert saturday.start_at == dt.datetime(2026, 3, 28, 7, tzinfo=UTC)  # CET, UTC+1
    assert sunday.start_at == dt.datetime(2026, 3, 29, 6, tzinfo=UTC)  # CEST, UTC+2
    assert sunday.end_at - sunday.start_at == dt.timedelta(hours=4)
    assert [s.start_time for s in sunday.slots] == [dt.time(8), dt.time(9), dt.time(10), dt.time(11)]
    assert sum(s.total_minutes for s in sunday.slots) == 240
    assert result.skipped == []


def test_windows_generated_over_the_autumn_change_keep_local_times():
    result = cap.generate_windows(EVERY_DAY, BERLIN, dt.date(2026, 10, 24), 3)
    assert [w.start_at.hour for w in result.windows] == [6, 7, 7]  # CEST, then CET from Sunday


def test_window_at_a_nonexistent_time_is_skipped_and_reported_not_shifted():
    night = PatternWindow(dt.time(2, 30), dt.time(5, 0), 60)
    result = cap.generate_windows({6: [night, MORNING]}, BERLIN, dt.date(2026, 3, 29), 1)
    assert [w.start_time for w in result.windows] == [dt.time(8)]
    (skipped,) = result.skipped
    assert skipped.code == "LOCAL_TIME_INVALID" and skipped.local_date == dt.date(2026, 3, 29)
    assert "02:30" in skipped.reason


def test_window_at_an_ambiguous_time_is_skipped_and_reported():
    night = PatternWindow(dt.time(2, 30), dt.time(5, 0), 60)
    result = cap.generate_windows({6: [night]}, BERLIN, dt.date(2026, 10, 25), 1)
    assert result.windows == [] and result.skipped[0].code == "LOCAL_TIME_INVALID"


def test_window_spanning_the_clock_change_is_skipped_because_it_is_an_hour_short():
    night = PatternWindow(dt.time(1, 0), dt.time(4, 0), 60)
    result = cap.generate_windows({6: [night]}, BERLIN, dt.date(2026, 3, 29), 1)
    assert result.skipped[0].code == "WINDOW_SPANS_CLOCK_CHANGE"
    assert "120 minutes, not 180" in result.skipped[0].reason


def test_slot_boundary_in_the_gap_skips_the_whole_window():
    night = PatternWindow(dt.time(1, 30), dt.time(3, 30), 60, slot_length_min=60)
    result = cap.generate_windows({6: [night]}, BERLIN, dt.date(2026, 3, 29), 1)
    assert result.windows == [] and "02:30" in result.skipped[0].reason


def test_closed_dates_get_no_windows():
    result = cap.generate_windows(
        EVERY_DAY, BERLIN, dt.date(2026, 12, 24), 3, closed_dates={dt.date(2026, 12, 25)}
    )
    assert [w.local_date.day for w in result.windows] == [24, 26]


def test_slots_split_minutes_evenly_or_use_minutes_per_slot():
    uneven = PatternWindow(dt.time(8), dt.time(11), 100, slot_length_min=60)
    assert [m for _, _, m in cap.slot_times(uneven)] == [34, 33, 33]
    fixed = PatternWindow(dt.time(8), dt.time(10), 100, slot_length_min=30, minutes_per_slot=20)
    assert [m for _, _, m in cap.slot_times(fixed)] == [20, 20, 20, 20]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (PatternWindow(dt.time(12), dt.time(8), 60), "end"),
        (PatternWindow(dt.time(8), dt.time(9), 0), "total_minutes"),
        (PatternWindow(dt.time(8), dt.time(9), 60, slot_length_min=25), "slot_length_min"),
    ],
)
def test_invalid_pattern_windows_are_refused_before_generating(entry, field):
    with pytest.raises(ValidationFailed) as err:
        cap.generate_windows({0: [entry]}, BERLIN, dt.date(2026, 1, 5), 1)
    assert field in err.value.details["fields"]


# --------------------------------------------------------------------------- cut-off


def _open(window_date: dt.date, start: dt.time, now: dt.datetime, closed: bool = False) -> None:
    start_at = cap.local_to_utc(window_date, start, BERLIN)
    cap.booking_open(window_date, start_at, BERLIN, 1, dt.time(14, 0), closed, now)


def test_cutoff_the_day_before_at_14_local_uses_winter_offset_before_spring_change():
    sunday = dt.date(2026, 3, 29)  # the window is in CEST, the cut-off (Saturday 14:00) in CET = 13:00 UTC
    _open(sunday, dt.time(8), dt.datetime(2026, 3, 28, 12, 59, tzinfo=UTC))
    with pytest.raises(DomainError) as err:
        _open(sunday, dt.time(8), dt.datetime(2026, 3, 28, 13, 0, tzinfo=UTC))
    assert err.value.code == "WINDOW_CLOSED" and err.value.status == 409
    assert "14:00 on 2026-03-28 (Europe/Berlin)" in err.value.user_message


def test_cutoff_the_day_before_at_14_local_uses_summer_offset_before_autumn_change():
    sunday = dt.date(2026, 10, 25)  # cut-off Saturday 14:00 CEST = 12:00 UTC
    _open(sunday, dt.time(8), dt.datetime(2026, 10, 24, 11, 59, tzinfo=UTC))
    with pytest.raises(DomainError):
        _open(sunday, dt.time(8), dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC))


def test_cutoff_after_autumn_change_is_14_winter_time():
    monday = dt.date(2026, 10, 26)  # cut-off Sunday 14:00 CET = 13:00 UTC
    _open(monday, dt.time(8), dt.datetime(2026, 10, 25, 12, 59, tzinfo=UTC))
    with pytest.raises(DomainError):
        _open(monday, dt.time(8), dt.datetime(2026, 10, 25, 13, 0, tzinfo=UTC))


def test_closed_window_refuses_booking():
    with pytest.raises(DomainError) as err:
        _open(dt.date(2026, 5, 10), dt.time(8), NOW, closed=True)
    assert err.value.details["reason"] == "closed"


def test_started_window_refuses_booking_even_with_same_day_cutoff():
    day = dt.date(2026, 5, 4)
    start_at = cap.local_to_utc(day, dt.time(8), BERLIN)
    with pytest.raises(DomainError) as err:
        cap.booking_open(day, start_at, BERLIN, 0, dt.time(23, 0), False, start_at)
    assert err.value.details["reason"] == "started"


def test_cutoff_time_inside_the_gap_resolves_earlier_never_later():
    cutoff = cap.booking_cutoff_at(dt.date(2026, 3, 30), BERLIN, 1, dt.time(2, 30))
    assert cutoff <= cap.local_to_utc(dt.date(2026, 3, 29), dt.time(3, 0), BERLIN)
    fold = cap.booking_cutoff_at(dt.date(2026, 10, 26), BERLIN, 1, dt.time(2, 30))
    assert fold == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)


def test_negative_cutoff_days_are_refused():
    with pytest.raises(ValidationFailed):
        cap.booking_cutoff_at(dt.date(2026, 5, 4), BERLIN, -1, dt.time(14))


# --------------------------------------------------------------------------- holds


def test_hold_expires_after_the_hold_minutes_in_utc():
    berlin_now = NOW.astimezone(ZoneInfo(BERLIN))
    expires = cap.hold_expires_at(berlin_now, 15)
    assert expires == at(15) and expires.tzinfo == UTC


@pytest.mark.parametrize("minutes", [0, -1, 1441, True])
def test_hold_minutes_must_be_1_to_1440(minutes):
    with pytest.raises(ValidationFailed):
        cap.hold_expires_at(NOW, minutes)


# --------------------------------------------------------------------------- planner summary


def test_window_usage_reports_reserved_and_committed_percentages():
    usage = cap.window_usage(200, held_live=30, committed=70)
    assert (usage.reserved_minutes, usage.free_minutes, usage.overbooked_minutes) == (100, 100, 0)
    assert (usage.reserved_pct, usage.committed_pct) == (50.0, 35.0)


def test_window_usage_of_an_empty_window_never_divides_by_zero():
    usage = cap.window_usage(0, 0, 0)
    assert (usage.reserved_pct, usage.committed_pct, usage.free_minutes) == (0.0, 0.0, 0)


def test_window_usage_shows_overbooking_instead_of_negative_free_minutes():
    usage = cap.window_usage(100, 20, 90)
    assert (usage.free_minutes, usage.overbooked_minutes, usage.reserved_pct) == (0, 10, 110.0)


def test_nearest_fitting_windows_are_ordered_by_distance_then_earlier():
    target = NOW
    windows = [
        WindowCandidate(1, at(-120), 60),
        WindowCandidate(2, at(120), 60),
        WindowCandidate(3, at(30), 10),  # nearest, but too small
        WindowCandidate(4, at(-60 * 24), 200),
        WindowCandidate(5, at(60), 45),
    ]
    assert [w.window_id for w in cap.nearest_fitting(windows, 40, target)] == [5, 1, 2, 4]
    assert [w.window_id for w in cap.nearest_fitting(windows, 40, target, limit=2)] == [5, 1]
    assert cap.nearest_fitting(windows, 500, target) == []
