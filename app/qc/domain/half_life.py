"""Radionuclidic identity from two timed dose-calibrator readings: T½ = Δt · ln2 / ln(A1/A2).

The identity verdict is on the computed half-life, in the test's unit (min for RNID), compared with
the line's window like any numeric result; both readings are kept with the result. Elapsed time is
taken between UTC instants (decay.seconds_between), so a pair of readings across a DST change is right.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from app.core.domain import DomainError
from app.masterdata.domain.decay import seconds_between, to_utc
from app.qc.domain.rules import MAX_DECIMAL_PLACES, TIME_UNITS_S, round_reported


@dataclass(frozen=True)
class Reading:
    at: dt.datetime  # timezone-aware
    mbq: Decimal


def _refuse(message: str, field: str) -> DomainError:
    return DomainError("VALIDATION_ERROR", message, 422, {"fields": {field: message}})


def half_life_seconds(first: Reading, second: Reading) -> float:
    """T½ in seconds from two readings of the same source, the second later and lower."""
    elapsed = seconds_between(first.at, second.at)
    if elapsed <= 0:
        raise _refuse("The second reading must be taken after the first.", "readings")
    if first.mbq <= 0 or second.mbq <= 0:
        raise _refuse("Both readings must be above zero.", "readings")
    if second.mbq >= first.mbq:
        raise _refuse("The second reading must be lower than the first (the source decays).", "readings")
    return elapsed * math.log(2) / math.log(float(first.mbq) / float(second.mbq))


def half_life_in_unit(first: Reading, second: Reading, unit: str | None) -> Decimal:
    """The computed half-life in the test's time unit, rounded once to the stored 6 decimals."""
    per = TIME_UNITS_S.get((unit or "").strip())
    if per is None:
        raise _refuse(
            f"A half-life needs a test measured in s, min, h or d, not '{unit or 'none'}'.", "readings"
        )
    value = Decimal(repr(half_life_seconds(first, second))) / per
    return round_reported(value, MAX_DECIMAL_PLACES)


def readings_record(first: Reading, second: Reading, half_life_s: float, tz: dt.tzinfo) -> dict[str, object]:
    """What is stored with the result (JSON): the two readings as UTC instants (and the site-local
    wall time they were typed as), and the T½ in seconds."""
    return {
        "readings": [
            {
                "at": to_utc(r.at).isoformat(),
                "local": to_utc(r.at).astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
                "mbq": f"{r.mbq:f}",
            }
            for r in (first, second)
        ],
        "half_life_s": round(half_life_s, 3),
        "formula": "T½ = Δt·ln2 / ln(A1/A2)",
    }
