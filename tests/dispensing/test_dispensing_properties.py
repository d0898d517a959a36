"""Property tests of the volume to draw: it always carries the activity to draw now, and a vial that
cannot give it refuses instead of going below zero."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.core.domain import DomainError
from app.dispensing import domain as d

T0 = dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC)
half_lives = st.floats(min_value=60.0, max_value=1e7, allow_nan=False, allow_infinity=False)
activities = st.floats(min_value=1.0, max_value=1e4, allow_nan=False, allow_infinity=False)
concentrations = st.floats(min_value=10.0, max_value=1e5, allow_nan=False, allow_infinity=False)
minutes = st.integers(min_value=0, max_value=600)


@given(activities, concentrations, minutes, minutes, half_lives)
def test_volume_times_concentration_now_is_the_activity_to_draw_now(
    mbq, conc, since_assay, to_cal, half_life
):
    assume(since_assay * 60 / half_life < 30 and to_cal * 60 / half_life < 30)  # within 30 half-lives
    now = T0 + dt.timedelta(minutes=since_assay)
    calibration = now + dt.timedelta(minutes=to_cal)
    volume = d.volume_to_draw_ml(mbq, calibration, conc, T0, now, half_life, remaining_volume_ml=math.inf)
    drawn = volume * d.concentration_now(conc, T0, now, half_life)
    assert math.isclose(drawn, d.activity_to_draw_now(mbq, calibration, now, half_life), rel_tol=1e-9)


@given(activities, concentrations, minutes, half_lives, st.floats(min_value=0.0, max_value=50.0))
def test_a_vial_either_gives_the_dose_or_refuses_it_never_going_negative(
    mbq, conc, to_cal, half_life, left_ml
):
    calibration = T0 + dt.timedelta(minutes=to_cal)
    try:
        volume = d.volume_to_draw_ml(mbq, calibration, conc, T0, T0, half_life, remaining_volume_ml=left_ml)
    except DomainError as err:
        assert err.code == "NOT_ENOUGH_ACTIVITY"
        assert err.details["needed_ml"] > left_ml * (1 - 1e-9)
        return
    assert volume <= left_ml * (1 + 1e-9)


def test_the_volume_refusal_names_what_is_needed_and_what_is_left():
    with pytest.raises(DomainError) as err:
        d.volume_to_draw_ml(1000, T0, 100, T0, T0, 6586.2, remaining_volume_ml=2)
    assert "1,000 MBq (27.03 mCi) now (10.00 mL)" in err.value.user_message  # both units: no reader's unit
    assert "2.00 mL" in err.value.user_message
