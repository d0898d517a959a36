"""Radioactive decay arithmetic: A(t) = A0 * exp(-ln2 * t / T½).

Pure functions over floats (half-lives come from `Nuclide.half_life_s`, a Decimal; they are
converted here so callers never mix types). Times are seconds or timezone-aware datetimes; an
activity keeps its unit (MBq in, MBq out). Used by dispensing (activity at calibration time), the
planner (how much to make so enough is left at delivery) and labels.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from app.core.domain import DomainError

Number = float | int | Decimal

LN2 = math.log(2.0)
SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


def _half_life(half_life_s: Number) -> float:
    value = float(half_life_s)
    if not math.isfinite(value) or value <= 0:
        raise DomainError("INVALID_HALF_LIFE", "The half-life must be a positive number of seconds.", 422)
    return value


def _activity(activity: Number, name: str = "activity") -> float:
    value = float(activity)
    if not math.isfinite(value) or value < 0:
        raise DomainError("INVALID_ACTIVITY", f"The {name} must be zero or a positive number.", 422)
    return value


def decay_constant(half_life_s: Number) -> float:
    """λ = ln2 / T½, per second."""
    return LN2 / _half_life(half_life_s)


def decay_factor(elapsed_s: Number, half_life_s: Number) -> float:
    """Fraction remaining after `elapsed_s` seconds; above 1 for a negative time (back-calculation)."""
    try:
        return math.exp(-LN2 * float(elapsed_s) / _half_life(half_life_s))
    except OverflowError:
        # Only a back-calculation over ~1000 half-lives gets here: a wrong time, not a real dose.
        raise DomainError(
            "DECAY_OUT_OF_RANGE", "The times are too far apart for this nuclide. Check the dates.", 422
        ) from None


def activity_after(a0: Number, elapsed_s: Number, half_life_s: Number) -> float:
    """A(t) = A0 * exp(-ln2 * t / T½) in the unit of `a0`; a negative `elapsed_s` goes back in time."""
    return _activity(a0) * decay_factor(elapsed_s, half_life_s)


def to_utc(at: dt.datetime) -> dt.datetime:
    """`at` as a UTC instant; a time without a zone is refused (we never guess a zone)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError("NAIVE_DATETIME", "Times used in decay calculations must carry a time zone.", 422)
    return at.astimezone(dt.UTC)


def seconds_between(start: dt.datetime, end: dt.datetime) -> float:
    """Signed seconds from `start` to `end`, measured between UTC instants.

    Python subtracts *wall-clock* times when both ends carry the same ZoneInfo, so across a DST
    change `end - start` is off by an hour (more than half an F-18 half-life). Converting both
    ends to UTC first makes the difference the physical elapsed time.
    """
    return (to_utc(end) - to_utc(start)).total_seconds()


def instant_after(start: dt.datetime, minutes: Number) -> dt.datetime:
    """The UTC instant `minutes` after `start` (a shelf-life end): added on the UTC timeline.

    `start + timedelta` on a ZoneInfo-aware time adds wall-clock time, so a 10 h shelf life that
    crosses a DST change would end an hour early or late.
    """
    return to_utc(start) + dt.timedelta(minutes=float(minutes))


def activity_at(a0: Number, measured_at: dt.datetime, at: dt.datetime, half_life_s: Number) -> float:
    """Activity at `at` of a source that measured `a0` at `measured_at` (forward or backward)."""
    return activity_after(a0, seconds_between(measured_at, at), half_life_s)


def activity_at_calibration(
    measured: Number, measured_at: dt.datetime, calibration_at: dt.datetime, half_life_s: Number
) -> float:
    """The activity a dose will have at its calibration time, from a measurement at `measured_at`.

    The label shows activity at calibration (ref. time), not at dispensing; a dispensing after
    calibration time back-calculates (the result is then larger than the measurement).
    """
    return activity_at(measured, measured_at, calibration_at, half_life_s)


def activity_needed_at(
    target_at_calibration: Number, at: dt.datetime, calibration_at: dt.datetime, half_life_s: Number
) -> float:
    """Activity to hold at `at` so that `target_at_calibration` remains at `calibration_at`."""
    return activity_after(target_at_calibration, -seconds_between(at, calibration_at), half_life_s)


def time_to_decay_to(a0: Number, a_target: Number, half_life_s: Number) -> float:
    """Seconds until activity falls from `a0` to `a_target` (negative if `a_target` > `a0`)."""
    start, end = _activity(a0), _activity(a_target, "target activity")
    if start == 0 or end == 0:
        raise DomainError("INVALID_ACTIVITY", "Both activities must be above zero.", 422)
    return _half_life(half_life_s) * math.log2(start / end)


def half_life_parts(half_life_s: Number) -> tuple[float, str]:
    """The half-life in its natural unit: (value, unit) with unit one of s, min, h, d."""
    seconds = _half_life(half_life_s)
    if seconds < 120:
        return seconds, "s"
    if seconds < 5 * SECONDS_PER_HOUR:
        return seconds / SECONDS_PER_MINUTE, "min"
    if seconds < 3 * SECONDS_PER_DAY:
        return seconds / SECONDS_PER_HOUR, "h"
    return seconds / SECONDS_PER_DAY, "d"


def describe_half_life(half_life_s: Number) -> str:
    """Human form used on pages: '109.77 min (6586.2 s)', '6.0067 h (21624.12 s)'."""
    value, unit = half_life_parts(half_life_s)
    seconds = float(half_life_s)
    natural = _trim(f"{value:.4f}")
    if unit == "s":
        return f"{natural} s"
    return f"{natural} {unit} ({_trim(f'{seconds:.3f}')} s)"


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text
