"""Elapsed time and shelf-life ends across the 2026 daylight-saving changes of Europe/Berlin.

Fixed-offset zones cannot show the bug: Python subtracts wall-clock times when both ends carry the
same ZoneInfo, so these tests use a real zone with DST.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.batches.domain import expiry
from app.core.domain import DomainError
from app.masterdata.domain import decay

BERLIN = ZoneInfo("Europe/Berlin")
F18_S = 6586.2  # 109.77 min


def test_spring_change_one_real_hour_between_0130_and_0330():
    start = dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    end = dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert (end - start).total_seconds() == 7200  # the wall-clock trap
    assert decay.seconds_between(start, end) == 3600


def test_autumn_change_three_real_hours_between_0100_and_0300():
    start = dt.datetime(2026, 10, 25, 1, 0, tzinfo=BERLIN)
    end = dt.datetime(2026, 10, 25, 3, 0, tzinfo=BERLIN)
    assert (end - start).total_seconds() == 7200
    assert decay.seconds_between(start, end) == 3 * 3600


def test_f18_activity_across_spring_change_is_one_hour_of_decay():
    start = dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    end = dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    got = decay.activity_at(1000, start, end, F18_S)
    assert got == pytest.approx(1000 * 2 ** (-3600 / F18_S))
    assert got == pytest.approx(684.7, abs=0.1)  # not 468.8 (two hours)


def test_f18_activity_across_autumn_change_is_three_hours_of_decay():
    start = dt.datetime(2026, 10, 25, 1, 0, tzinfo=BERLIN)
    end = dt.datetime(2026, 10, 25, 3, 0, tzinfo=BERLIN)
    assert decay.activity_at(1000, start, end, F18_S) == pytest.approx(1000 * 2 ** (-3 * 3600 / F18_S))


def test_naive_time_refused():
    with pytest.raises(DomainError) as err:
        decay.seconds_between(dt.datetime(2026, 3, 29, 1, 30), dt.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN))
    assert err.value.code == "NAIVE_DATETIME"


def test_shelf_life_end_across_spring_change_is_ten_real_hours():
    eos = dt.datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)  # 21:00 UTC
    end = decay.instant_after(eos, 600)
    assert end == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert end.astimezone(BERLIN).hour == 9  # wall clock shows 9:00 (CEST), not 8:00
    assert (eos + dt.timedelta(minutes=600)).astimezone(dt.UTC).hour == 6  # the trap: one hour early


def test_shelf_life_end_across_autumn_change_is_ten_real_hours():
    eos = dt.datetime(2026, 10, 24, 22, 0, tzinfo=BERLIN)  # 20:00 UTC
    end = expiry.expires_at(eos, 600)
    assert end == dt.datetime(2026, 10, 25, 6, 0, tzinfo=dt.UTC)
    assert end.astimezone(BERLIN).hour == 7


def test_expiry_message_names_local_time_and_zone():
    eos = dt.datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)
    end = expiry.expires_at(eos, 600)
    with pytest.raises(DomainError) as err:
        expiry.check_not_expired("FDG-1", "RELEASED", end, end, "Europe/Berlin")
    assert err.value.code == "EXPIRED" and err.value.status == 409
    assert "29 Mar 2026 09:00 CEST (Europe/Berlin)" in err.value.user_message


def test_expiry_is_inclusive_of_the_instant_and_spares_non_downstream_moves():
    end = dt.datetime(2026, 10, 25, 6, 0, tzinfo=dt.UTC)
    expiry.check_not_expired("B", "RELEASED", end, end - dt.timedelta(seconds=1), "UTC")
    for status in ("REJECTED", "ON_HOLD", "CLOSED", "CANCELLED", "DISPENSED"):
        expiry.check_not_expired("B", status, end, end + dt.timedelta(days=1), "UTC")
    for status in ("RELEASED", "DISPENSING_IN_PROGRESS", "PACKED", "DISPATCHED"):
        with pytest.raises(DomainError):
            expiry.check_not_expired("B", status, end, end, "UTC")


@given(
    st.datetimes(
        min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=st.just(BERLIN)
    ),
    st.integers(min_value=-48 * 3600, max_value=48 * 3600),
)
def test_elapsed_time_equals_utc_difference_whatever_the_zone(start, seconds):
    end = (start.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)).astimezone(BERLIN)
    assert decay.seconds_between(start, end) == seconds
    assert decay.instant_after(start, seconds / 60) == start.astimezone(dt.UTC) + dt.timedelta(
        seconds=seconds
    )
