"""Dispensing arithmetic: what to draw now, from which volume, what the vial still holds, how long a
dose lasts, and whether a dose calibrator reading is close enough to the expected activity.

Activities in MBq, volumes in mL, half-lives in seconds, times timezone-aware (elapsed time is taken
between UTC instants, see `clock`). Decay itself is the masterdata decay module's.

Messages quote activities in the `unit` the caller passes (a page: the person's MBq or mCi); without
one, in both units, MBq first ('370 MBq (10.00 mCi)'), as the API and documents do. Details stay MBq.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from app.core.domain import DomainError
from app.dispensing.domain.clock import to_utc
from app.masterdata.domain import decay
from app.masterdata.domain.units import format_activity, format_activity_both

Number = float | int | Decimal

# Float noise allowance when a draw takes exactly what is left.
_REL_EPS = 1e-9


def _positive(value: Number, what: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise DomainError("INVALID_ACTIVITY", f"The {what} must be a positive number.", 422)
    return number


def activity_text(mbq: Number, unit: str | None = None) -> str:
    """An activity in a message: in `unit` ('10.00 mCi', '370 MBq', '12.35 GBq'), or in both units
    when no unit is given ('370 MBq (10.00 mCi)')."""
    if not math.isfinite(float(mbq)):  # decayed back beyond any float: say so, don't fail on it
        return f"{float(mbq)} MBq"
    return format_activity(mbq, unit) if unit else format_activity_both(mbq)


def _exceeds(wanted: float, available: float) -> bool:
    return wanted > available * (1 + _REL_EPS) + 1e-12


# --- What to draw -------------------------------------------------------------------------------
def activity_to_draw_now(
    requested_mbq_at_calibration: Number, calibration_at: dt.datetime, now: dt.datetime, half_life_s: Number
) -> float:
    """Activity (MBq) to draw at `now` so that the ordered activity remains at calibration time.

    A_now = A_cal · 2^((t_cal − t_now) / T½): more than ordered before calibration, less after.
    """
    requested = _positive(requested_mbq_at_calibration, "ordered activity")
    return decay.activity_after(requested, decay.seconds_between(calibration_at, now), half_life_s)


def concentration_now(
    concentration_mbq_per_ml: Number, measured_at: dt.datetime, now: dt.datetime, half_life_s: Number
) -> float:
    """The batch's activity concentration (MBq/mL) measured at `measured_at`, decay-corrected to `now`."""
    measured = _positive(concentration_mbq_per_ml, "activity concentration")
    return decay.activity_after(measured, decay.seconds_between(measured_at, now), half_life_s)


def volume_to_draw_ml(
    requested_mbq_at_calibration: Number,
    calibration_at: dt.datetime,
    concentration_mbq_per_ml: Number,
    measured_at: dt.datetime,
    now: dt.datetime,
    half_life_s: Number,
    remaining_volume_ml: Number,
    remaining_activity_mbq: Number | None = None,
    *,
    unit: str | None = None,
) -> float:
    """Volume (mL) to draw now: activity to draw now ÷ concentration decayed to now.

    Refused with NOT_ENOUGH_ACTIVITY (409) when the draw needs more volume than the vial holds, or
    more activity than `remaining_activity_mbq` (the vial's balance at `now`, from `vial_remaining`);
    the message quotes the activities in `unit` (see `activity_text`).
    """
    activity = activity_to_draw_now(requested_mbq_at_calibration, calibration_at, now, half_life_s)
    concentration = concentration_now(concentration_mbq_per_ml, measured_at, now, half_life_s)
    volume = activity / concentration
    left_ml = float(remaining_volume_ml)
    left_mbq = concentration * left_ml
    if remaining_activity_mbq is not None:
        left_mbq = min(left_mbq, float(remaining_activity_mbq))
    if _exceeds(volume, left_ml) or _exceeds(activity, left_mbq):
        raise DomainError(
            "NOT_ENOUGH_ACTIVITY",
            f"This dose needs {activity_text(activity, unit)} now ({volume:.2f} mL), but the vial holds "
            f"only {activity_text(max(left_mbq, 0), unit)} ({max(left_ml, 0):.2f} mL).",
            409,
            {"needed_mbq": activity, "needed_ml": volume, "left_mbq": left_mbq, "left_ml": left_ml},
        )
    return volume


# --- What is left in the vial -------------------------------------------------------------------
@dataclass(frozen=True)
class VialRemaining:
    remaining_mbq: float  # at `now`, never below 0
    exceeded: bool  # the draws took more than the vial held
    shortfall_mbq: float  # by how much (0 when not exceeded)


def vial_remaining(
    initial_activity_mbq: Number,
    measured_at: dt.datetime,
    drawn: Sequence[tuple[Number, dt.datetime]],
    now: dt.datetime,
    half_life_s: Number,
) -> VialRemaining:
    """The vial's activity at `now`: the assay decayed to now minus each draw decayed to now.

    Each draw is (activity_mbq measured at drawn_at, drawn_at). A draw must lie between the assay and
    `now` (DRAW_TIME_OUT_OF_RANGE, 422). Include a planned draw at `now` to ask whether it fits:
    `exceeded` is then True and `remaining_mbq` stays 0 rather than going negative.
    """
    start, end = to_utc(measured_at, "assay time"), to_utc(now, "current time")
    held = decay.activity_after(
        _positive(initial_activity_mbq, "vial activity"), decay.seconds_between(start, end), half_life_s
    )
    balance = held
    for activity_mbq, drawn_at in drawn:
        at = to_utc(drawn_at, "draw time")
        if not start <= at <= end:
            raise DomainError(
                "DRAW_TIME_OUT_OF_RANGE", "A draw is recorded before the vial's assay or in the future.", 422
            )
        balance -= decay.activity_after(activity_mbq, decay.seconds_between(at, end), half_life_s)
    exceeded = balance < -_REL_EPS * held  # not float noise after emptying the vial exactly
    return VialRemaining(max(balance, 0.0), exceeded, max(-balance, 0.0) if exceeded else 0.0)


# --- How long a dose lasts ----------------------------------------------------------------------
@dataclass(frozen=True)
class UsableUntil:
    at: dt.datetime  # UTC
    limited_by: Literal["EXPIRY", "ACTIVITY"]
    short_at_calibration: bool  # the dose holds less than ordered already at its calibration time


def usable_until(
    batch_expires_at: dt.datetime,
    measured_activity_mbq: Number,
    measured_at: dt.datetime,
    requested_mbq_at_calibration: Number,
    calibration_at: dt.datetime,
    half_life_s: Number,
) -> UsableUntil:
    """The last instant the dose can be used: the earlier of the batch expiry and the activity limit.

    Interpretation: the hospital ordered `requested` MBq; at the moment of use the dose must still
    hold at least that. The dose measured `measured` MBq at `measured_at`, so it holds the ordered
    activity until  t = measured_at + T½ · log2(measured / requested)  (after that it has decayed below
    what was ordered). For a dose dispensed exactly to order that instant is the calibration time;
    a dose filled above order lasts longer. The batch expiry (shelf life: radiolysis, sterility) caps it.

    `short_at_calibration` flags a dose whose activity limit falls before its calibration time (it was
    accepted within the calibrator tolerance below the ordered activity): the label must not claim
    the ordered activity at calibration.
    """
    expiry = to_utc(batch_expires_at, "expiry time")
    measured = _positive(measured_activity_mbq, "measured activity")
    requested = _positive(requested_mbq_at_calibration, "ordered activity")
    lasts_s = decay.time_to_decay_to(measured, requested, half_life_s)
    try:
        activity_limit = to_utc(measured_at, "measurement time") + dt.timedelta(seconds=lasts_s)
    except OverflowError:  # lasts beyond the calendar: only the expiry can limit it
        return UsableUntil(expiry, "EXPIRY", False)
    short = activity_limit < to_utc(calibration_at, "calibration time")
    if expiry <= activity_limit:
        return UsableUntil(expiry, "EXPIRY", short)
    return UsableUntil(activity_limit, "ACTIVITY", short)


# --- Dose calibrator reading --------------------------------------------------------------------
READING_TOLERANCE = 0.10  # ±10 % between expected and measured activity (house rule, per product later)


def reading_deviation(expected: Number, measured: Number) -> float:
    """(measured − expected) / expected: +0.05 means the calibrator read 5 % above expectation."""
    expected_mbq = _positive(expected, "expected activity")
    measured_mbq = float(measured)
    if not math.isfinite(measured_mbq) or measured_mbq < 0:
        raise DomainError("INVALID_ACTIVITY", "The measured activity must be zero or a positive number.", 422)
    return (measured_mbq - expected_mbq) / expected_mbq


def check_reading(
    expected: Number,
    measured: Number,
    tolerance: float = READING_TOLERANCE,
    note: str | None = None,
    *,
    unit: str | None = None,
) -> float:
    """The deviation; outside ±`tolerance` (the limit itself is inside) a note must explain it.

    Without a note: READING_OUT_OF_TOLERANCE (422) naming the deviation in percent and the expected
    activity in `unit` (see `activity_text`). With a note the reading is accepted and the deviation
    is returned for the record.
    """
    deviation = reading_deviation(expected, measured)
    inside = abs(deviation) <= tolerance or math.isclose(abs(deviation), tolerance, rel_tol=1e-9)
    if not inside and not (note or "").strip():
        direction = "above" if deviation > 0 else "below"
        raise DomainError(
            "READING_OUT_OF_TOLERANCE",
            f"The calibrator reading is {abs(deviation) * 100:.1f}% {direction} the expected "
            f"{activity_text(expected, unit)} (tolerance ±{tolerance * 100:g}%). Add a note explaining "
            "the difference to accept it.",
            422,
            {"deviation": deviation, "tolerance": tolerance, "expected_mbq": float(expected)},
        )
    return deviation
