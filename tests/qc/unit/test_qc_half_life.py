"""Radionuclidic identity from two timed readings: T½ = Δt·ln2 / ln(A1/A2)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.qc.domain.half_life import Reading, half_life_in_unit, half_life_seconds

T0 = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def test_f18_two_readings_30_min_apart():
    a2 = D(1000) * D(repr(2 ** (-30 / 109.77)))
    got = half_life_in_unit(
        Reading(T0, D(1000)), Reading(T0 + dt.timedelta(minutes=30), a2.quantize(D("0.001"))), "min"
    )
    assert abs(got - D("109.77")) < D("0.01")


def test_readings_across_the_spring_change_use_real_elapsed_time():
    berlin = ZoneInfo("Europe/Berlin")
    first = Reading(dt.datetime(2026, 3, 29, 1, 45, tzinfo=berlin), D(1000))
    # 03:15 CEST is 30 real minutes after 01:45 CET (wall clock says 90).
    second = Reading(dt.datetime(2026, 3, 29, 3, 15, tzinfo=berlin), D(repr(1000 * 2 ** (-30 / 109.77))))
    assert half_life_seconds(first, second) == pytest.approx(109.77 * 60, rel=1e-9)


@given(
    st.floats(min_value=60, max_value=1e6),
    st.integers(min_value=60, max_value=6 * 3600),
    st.floats(min_value=10, max_value=1e5),
)
def test_computed_half_life_reproduces_the_true_one(t_half, dt_s, a1):
    a2 = a1 * 2 ** (-dt_s / t_half)
    if a2 >= a1 or a2 <= 0:
        return
    got = half_life_seconds(Reading(T0, D(repr(a1))), Reading(T0 + dt.timedelta(seconds=dt_s), D(repr(a2))))
    assert math.isclose(got, t_half, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("a1", "a2", "minutes"),
    [("1000", "1000", 10), ("1000", "1200", 10), ("1000", "0", 10), ("1000", "900", 0), ("1000", "900", -5)],
)
def test_readings_that_cannot_give_a_half_life_are_refused(a1, a2, minutes):
    with pytest.raises(DomainError) as err:
        half_life_seconds(Reading(T0, D(a1)), Reading(T0 + dt.timedelta(minutes=minutes), D(a2)))
    assert err.value.status == 422


def test_test_unit_must_be_a_time():
    with pytest.raises(DomainError):
        half_life_in_unit(Reading(T0, D(1000)), Reading(T0 + dt.timedelta(minutes=10), D(900)), "%")
