"""Time for dispensing rules: UTC instants for comparisons, local time only for the words shown.

Elapsed time is `masterdata.domain.decay.seconds_between` (taken between UTC instants, right across
DST); this module only names the zone and refuses naive times with the dispensing wording.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.core.domain import DomainError


def require_aware(at: dt.datetime, what: str = "time") -> dt.datetime:
    """`at` itself, refused when it carries no time zone (we never guess a zone)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError("NAIVE_DATETIME", f"The {what} must carry a time zone.", 422)
    return at


def to_utc(at: dt.datetime, what: str = "time") -> dt.datetime:
    return require_aware(at, what).astimezone(dt.UTC)


def zone(tz_name: str) -> ZoneInfo:
    """The named IANA zone; an unknown name is a configuration error the user can act on."""
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("INVALID_TIME_ZONE", f"'{tz_name}' is not a known time zone.", 422) from None


def local_text(at: dt.datetime, tz_name: str) -> str:
    """'2026-03-29 14:00 CEST (Europe/Berlin)': local wall-clock time with the zone named."""
    local = to_utc(at).astimezone(zone(tz_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({tz_name})"
