"""Decay arithmetic: worked examples a radiopharmacist can check by hand, plus properties."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.masterdata.domain import decay

F18_S = 6586.2  # 109.77 min
GA68_S = 4062.6  # 67.71 min
UTC = dt.UTC
RIYADH = dt.timezone(dt.timedelta(hours=3))

half_lives = st.floats(min_value=1.0, max_value=1e8, allow_nan=False, allow_infinity=False)
activities = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
elapsed = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


def test_one_half_life_leaves_half():
    assert decay.activity_after(1000, F18_S, F18_S) == pytest.approx(500.0)


def test_fdg_two_hours_after_end_of_synthesis():
    # 10 GBq of FDG at EOS, 120 min later: 10000 * 2^(-120/109.77) = 4.687 GBq
    assert decay.activity_after(10000, 120 * 60, F18_S) == pytest.approx(4687.2, abs=0.1)


def test_decimal_half_life_from_the_database_is_accepted():
    from decimal import Decimal

    assert decay.activity_after(800, 6586.2, Decimal("6586.200")) == pytest.approx(400.0)


def test_activity_at_calibration_forward_across_time_zones():
    measured_at = dt.datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    calibration_at = dt.datetime(2026, 11, 22, 10, 0, tzinfo=RIYADH)  # 07:00 UTC, one hour later
    result = decay.activity_at_calibration(370, measured_at, calibration_at, F18_S)
    assert result == pytest.approx(370 * math.exp(-math.log(2) * 3600 / F18_S))


def test_activity_at_calibration_before_measurement_back_calculates():
    measured_at = dt.datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    calibration_at = measured_at - dt.timedelta(seconds=GA68_S)
    assert decay.activity_at_calibration(100, measured_at, calibration_at, GA68_S) == pytest.approx(200)


def test_activity_needed_now_for_a_dose_at_calibration_time():
    now = dt.datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    calibration_at = now + dt.timedelta(seconds=2 * F18_S)
    assert decay.activity_needed_at(370, now, calibration_at, F18_S) == pytest.approx(1480)


def test_time_to_decay_to_a_quarter_is_two_half_lives():
    assert decay.time_to_decay_to(400, 100, F18_S) == pytest.approx(2 * F18_S)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_non_positive_half_life_is_refused(bad):
    with pytest.raises(DomainError) as err:
        decay.activity_after(100, 10, bad)
    assert err.value.code == "INVALID_HALF_LIFE"


def test_negative_activity_is_refused():
    with pytest.raises(DomainError) as err:
        decay.activity_after(-1, 10, F18_S)
    assert err.value.code == "INVALID_ACTIVITY"


def test_back_calculation_over_absurd_spans_is_refused_not_overflowed():
    with pytest.raises(DomainError) as err:
        decay.activity_after(1, -2000 * F18_S, F18_S)
    assert err.value.code == "DECAY_OUT_OF_RANGE"


def test_naive_datetimes_are_refused():
    with pytest.raises(DomainError) as err:
        decay.activity_at(100, dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 1), F18_S)
    assert err.value.code == "NAIVE_DATETIME"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (6586.2, "109.77 min (6586.2 s)"),
        (1223.1, "20.385 min (1223.1 s)"),
        (597.9, "9.965 min (597.9 s)"),
        (21624.12, "6.0067 h (21624.12 s)"),
        (574300.8, "6.647 d (574300.8 s)"),
        (75, "75 s"),
    ],
)
def test_half_life_is_described_in_its_natural_unit_and_seconds(seconds, text):
    assert decay.describe_half_life(seconds) == text


@given(a0=activities, t1=elapsed, t2=elapsed, half_life=half_lives)
def test_decaying_in_two_steps_equals_one_step(a0, t1, t2, half_life):
    stepwise = decay.activity_after(decay.activity_after(a0, t1, half_life), t2, half_life)
    assert stepwise == pytest.approx(decay.activity_after(a0, t1 + t2, half_life), rel=1e-9, abs=1e-300)


@given(a0=activities, t1=elapsed, t2=elapsed, half_life=half_lives)
def test_activity_never_increases_with_time(a0, t1, t2, half_life):
    early, late = sorted((t1, t2))
    assert decay.activity_after(a0, late, half_life) <= decay.activity_after(a0, early, half_life)


@given(a0=activities, t=elapsed, half_life=half_lives)
def test_activity_stays_between_zero_and_start(a0, t, half_life):
    assert 0 <= decay.activity_after(a0, t, half_life) <= a0


@given(a0=activities, half_life=half_lives, n=st.integers(min_value=0, max_value=20))
def test_n_half_lives_divide_by_two_to_the_n(a0, half_life, n):
    assert decay.activity_after(a0, n * half_life, half_life) == pytest.approx(a0 / 2**n, rel=1e-9)


@given(a=activities, half_lives_apart=st.floats(min_value=-50, max_value=50), half_life=half_lives)
def test_calibration_round_trip(a, half_lives_apart, half_life):
    measured_at = dt.datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    calibration_at = measured_at + dt.timedelta(seconds=half_lives_apart * min(half_life, 1e6))
    at_cal = decay.activity_at_calibration(a, measured_at, calibration_at, half_life)
    needed = decay.activity_needed_at(at_cal, measured_at, calibration_at, half_life)
    assert needed == pytest.approx(a, rel=1e-9)


@given(a0=activities, fraction=st.floats(min_value=1e-6, max_value=1.0), half_life=half_lives)
def test_time_to_decay_inverts_activity_after(a0, fraction, half_life):
    target = a0 * fraction
    t = decay.time_to_decay_to(a0, target, half_life)
    assert decay.activity_after(a0, t, half_life) == pytest.approx(target, rel=1e-9)
